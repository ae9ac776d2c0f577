"""Readiness: each check, its verdict and its reason (api.readiness), and the gateway's facts
(gateway.readiness) over a real InfluxWriter and spool with an injected clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.readiness import CameraFact, ReadinessFacts, StorageFacts, assess
from gateway.influx_writer import InfluxWriter, StorageError
from gateway.readiness import GatewayReadiness
from gateway.settings import InfluxConfig
from gateway.spool import Spool

WRITES = StorageFacts(failing=False, spool_fill_ratio=0.0, spool_warn_ratio=0.5)


def facts(**changes: object) -> ReadinessFacts:
    base: dict[str, object] = {
        "mqtt_connected": True,
        "storage": WRITES,
        "last_point_age_s": 4.0,
        "uptime_s": 3600.0,
    }
    return ReadinessFacts(**{**base, **changes})  # type: ignore[arg-type]


def verdict(f: ReadinessFacts, cameras: list[CameraFact] | None = None) -> dict[str, bool]:
    return {c.name: c.ok for c in assess(f, cameras or [], max_point_age_s=300).checks}


def test_all_well_is_ready_with_a_reason_per_check() -> None:
    r = assess(facts(), [CameraFact("cam-1", True)], max_point_age_s=300)
    assert r.ready
    assert [(c.name, c.reason) for c in r.checks] == [
        ("mqtt", "connected to the broker"),
        ("storage", "InfluxDB takes writes; spool 0.0 % full, warning at 50.0 %"),
        ("cameras", "1 of 1 online"),
        ("last_point", "last point stored 4 s ago"),
    ]


def test_no_broker_is_not_ready() -> None:
    r = assess(facts(mqtt_connected=False), [], max_point_age_s=300)
    assert not r.ready
    assert r.checks[0].reason == "not connected to the broker: no sensor data comes in"


@pytest.mark.parametrize(
    ("failing", "fill", "ok", "reason"),
    [
        (False, 0.0, True, "InfluxDB takes writes; spool 0.0 % full"),
        (False, 0.7, True, "InfluxDB takes writes; spool 70.0 % full"),  # draining
        (True, 0.1, True, "InfluxDB refuses writes: points are spooled; spool 10.0 % full"),
        (True, 0.5, False, "InfluxDB refuses writes and the spool is filling; spool 50.0 % full"),
        (True, 0.9, False, "InfluxDB refuses writes and the spool is filling; spool 90.0 % full"),
    ],
)
def test_storage_down_is_ready_only_while_the_spool_is_below_its_warning(
    failing: bool, fill: float, ok: bool, reason: str
) -> None:
    storage = StorageFacts(failing=failing, spool_fill_ratio=fill, spool_warn_ratio=0.5)
    check = assess(facts(storage=storage), [], max_point_age_s=300).checks[1]
    assert check.ok is ok
    assert check.reason.startswith(reason) and check.reason.endswith("warning at 50.0 %")


@pytest.mark.parametrize(
    ("online", "ok", "reason"),
    [
        ([], True, "no camera configured"),
        ([True, True], True, "2 of 2 online"),
        ([True, False], True, "1 of 2 online; offline: cam-1"),
        ([False, False], False, "0 of 2 online; offline: cam-0, cam-1"),
    ],
)
def test_cameras_fail_only_when_none_is_online(online: list[bool], ok: bool, reason: str) -> None:
    cameras = [CameraFact(f"cam-{i}", up) for i, up in enumerate(online)]
    check = assess(facts(), cameras, max_point_age_s=300).checks[2]
    assert (check.ok, check.reason) == (ok, reason)


@pytest.mark.parametrize(
    ("age", "uptime", "ok", "reason"),
    [
        (None, 20.0, True, "starting: no point stored yet (20 s)"),
        (None, 301.0, False, "no point stored since the start 301 s ago"),
        (300.0, 9999.0, True, "last point stored 300 s ago"),
        (301.0, 9999.0, False, "last point stored 301 s ago (limit 300 s)"),
    ],
)
def test_last_point_age(age: float | None, uptime: float, ok: bool, reason: str) -> None:
    check = assess(facts(last_point_age_s=age, uptime_s=uptime), [], max_point_age_s=300).checks[3]
    assert (check.ok, check.reason) == (ok, reason)


def test_one_failed_check_is_enough() -> None:
    assert verdict(facts()) == {"mqtt": True, "storage": True, "cameras": True, "last_point": True}
    assert not assess(facts(last_point_age_s=1e6), [], max_point_age_s=300).ready


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Database:
    """A WriteClient that keeps the lines, or refuses them while ``down``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.down = False

    def prepare(self) -> None:
        return None

    def write(self, body: str) -> None:
        if self.down:
            raise StorageError("connection refused")
        self.lines.extend(body.splitlines())

    def close(self) -> None:
        return None


def test_gateway_facts_age_the_last_stored_point_by_the_injected_clock(tmp_path: Path) -> None:
    async def main() -> None:
        db = Database()
        config = InfluxConfig(flush_interval_s=0.01, retry_min_s=0.01, retry_max_s=0.02)
        writer = InfluxWriter(config, Spool(tmp_path / "spool", max_bytes=10_000), client=db)
        clock = Clock()
        connected = [True]
        facts = GatewayReadiness(
            mqtt_connected=lambda: connected[0], writer=writer, spool_warn_ratio=0.01, clock=clock
        )
        task = asyncio.create_task(writer.run())
        try:
            clock.now += 30
            first = facts.readiness_facts()
            assert first.last_point_age_s is None and first.uptime_s == 30
            durable = asyncio.Event()
            await writer.submit(["m v=1 1"], durable.set)
            await asyncio.wait_for(durable.wait(), 10)
            assert db.lines == ["m v=1 1"]
            stored = facts.readiness_facts()
            assert stored.last_point_age_s == 0 and not stored.storage.failing
            clock.now += 42
            assert facts.readiness_facts().last_point_age_s == 42  # nothing new: it ages

            db.down = True
            spooled = asyncio.Event()
            await writer.submit(["m v=2 2"], spooled.set)
            await asyncio.wait_for(spooled.wait(), 10)  # in the spool: durable, not stored
            down = facts.readiness_facts()
            assert down.storage.failing and down.storage.spool_fill_ratio > 0.0
            assert down.last_point_age_s == 42
            connected[0] = False
            assert not facts.readiness_facts().mqtt_connected
        finally:
            await writer.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
