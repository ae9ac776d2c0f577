"""The InfluxDB writer against real servers: influxd 1.x (v1) and VictoriaMetrics (v2).

No mock of InfluxDB anywhere: outages are real stopped servers (connection
refused), bad batches are real HTTP 400 answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import CapturingLogger

from gateway.influx_writer import RESUME_FILL, InfluxWriter, StorageError, V1Client
from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import free_port
from gateway.peers.victoriametrics import VictoriaMetricsServer
from gateway.points import ZoneGeometry, timestamp_ns, to_lines
from gateway.settings import InfluxConfig, SpoolConfig
from gateway.spool import Spool

pytestmark = pytest.mark.integration

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
ZONES = {"waiting": ZoneGeometry(area_m2=120.0, capacity=100)}


def occupancy_lines(site: str, n: int, *, start: int = 0, source: str = "cam-1") -> list[str]:
    """n points of one series, 1 ms apart (VictoriaMetrics keeps ms), count = i % 150."""
    lines: list[str] = []
    for i in range(start, start + n):
        obs = PeopleCount("waiting", source, i % 150, BASE + timedelta(milliseconds=i), 0.9)
        lines.extend(to_lines(site, obs, ZONES))
    return lines


class Recorder:
    """on_durable callbacks, in the order they ran."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def callback(self, i: int) -> Callable[[], None]:
        return lambda: self.calls.append(i)


def capturing_log() -> tuple[Any, CapturingLogger]:
    cap = CapturingLogger()
    log = structlog.wrap_logger(
        cap, wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), processors=[]
    )
    return log, cap


def events(cap: CapturingLogger) -> list[str]:
    return [str(call.kwargs.get("event")) for call in cap.calls]


async def eventually(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Bounded polling on the event loop (the writer keeps running meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


async def eventually_in_thread(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Like ``eventually`` for checks that do blocking HTTP (kept off the loop)."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(writer: InfluxWriter) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(writer.run())
    try:
        yield task
    finally:
        await writer.close()
        await asyncio.wait_for(task, 30)


def v1_config(url: str, db: str, **overrides: Any) -> InfluxConfig:
    base: dict[str, Any] = {
        "url": url,
        "protocol": "v1",
        "database": db,
        "batch_size": 500,
        "flush_interval_s": 0.05,
        "retry_min_s": 0.05,
        "retry_max_s": 0.5,
        "timeout_s": 5,
    }
    return InfluxConfig.model_validate(base | overrides)


def count_and_sum(server: InfluxDB1Server, db: str, where: str = "") -> tuple[int, int]:
    query = f'SELECT count("count"), sum("count") FROM zone_occupancy {where}'  # noqa: S608
    rows = server.rows(query, db)
    return (int(rows[0][1]), int(rows[0][2])) if rows else (0, 0)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 240))


# --------------------------------------------------------------------------- v1


def test_v1_writes_every_kind_and_reads_back(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    site = "Trung tâm HCC, Bắc Ninh"
    climate = Climate("Sảnh chờ=1", "cl 1", BASE, temperature_c=26.4, co2_ppm=812.0)
    health = DeviceHealth(
        "cam-1", DeviceKind.CAMERA, False, BASE, detail='lost "RTSP", C:\\path', fps=0.0
    )
    recorder = Recorder()

    async def main() -> None:
        writer = InfluxWriter(
            v1_config(influxdb1.url, db), Spool(tmp_path / "spool", max_bytes=10**7)
        )
        async with running(writer):
            lines = occupancy_lines(site, 2000)
            for i in range(0, 2000, 137):  # submissions that straddle batch boundaries
                await writer.submit(lines[i : i + 137], recorder.callback(i))
            await writer.submit(to_lines(site, climate, ZONES) + to_lines(site, health, ZONES))
            await eventually(lambda: len(recorder.calls) == 15, 30, "all callbacks")
            await eventually(lambda: writer.stats().pending_lines == 0, 30, "nothing pending")
        stats = writer.stats()
        assert recorder.calls == list(range(0, 2000, 137)), "in submission order"
        assert stats.points_written == 2002
        assert stats.batches_spooled == 0
        assert stats.write_errors == 0
        assert stats.last_write_latency_ms is not None

    run(main)
    assert count_and_sum(influxdb1, db) == (2000, sum(i % 150 for i in range(2000)))
    rows = influxdb1.rows(
        "SELECT temperature, co2, humidity FROM climate WHERE zone = 'Sảnh chờ=1'", db
    )
    assert rows == [[timestamp_ns(BASE), 26.4, 812.0, None]]
    tags = influxdb1.query("SHOW TAG VALUES FROM climate WITH KEY IN (site, sensor)", db)
    assert sorted(tuple(v) for v in tags["series"][0]["values"]) == [
        ("sensor", "cl 1"),
        ("site", site),
    ]
    rows = influxdb1.rows("SELECT online, detail, fps FROM device_health", db)
    assert rows == [[timestamp_ns(BASE), False, 'lost "RTSP", C:\\path', 0.0]]


def test_v1_creates_the_database_again_when_it_is_dropped(
    influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    client = V1Client(v1_config(influxdb1.url, influxdb1_database))
    try:
        client.prepare()
        client.write("\n".join(occupancy_lines("s", 10)))
        influxdb1.drop_database(influxdb1_database)
        client.write("\n".join(occupancy_lines("s", 10, start=10)))  # 404 -> CREATE -> write
    finally:
        client.close()
    assert count_and_sum(influxdb1, influxdb1_database)[0] == 10


def test_v1_without_create_database_reports_a_clear_error(influxdb1: InfluxDB1Server) -> None:
    db = f"missing_{uuid.uuid4().hex[:8]}"
    client = V1Client(v1_config(influxdb1.url, db, create_database=False))
    try:
        with pytest.raises(StorageError, match="database not found") as err:
            client.write("m v=1i 1")
        assert err.value.status == 404
    finally:
        client.close()


def test_unreachable_server_is_a_storage_error() -> None:
    client = V1Client(v1_config(f"http://127.0.0.1:{free_port()}", "x"))
    try:
        with pytest.raises(StorageError, match="cannot reach"):
            client.write("m v=1i 1")
    finally:
        client.close()


# --------------------------------------------------------------------------- v2


def test_v2_into_victoriametrics_reads_back_and_rewrites_count_once(
    victoriametrics: VictoriaMetricsServer, victoriametrics_site: str, tmp_path: Path
) -> None:
    site = victoriametrics_site
    config = InfluxConfig(
        url=victoriametrics.url,
        protocol="v2",
        bucket="floorwatch",
        org="test",
        batch_size=400,
        flush_interval_s=0.05,
    )
    recorder = Recorder()
    lines = occupancy_lines(site, 1500)

    async def main() -> None:
        writer = InfluxWriter(config, Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(writer):
            await writer.submit(lines, recorder.callback(1))
            await writer.submit(lines[:600], recorder.callback(2))  # a replay: same points again
            await eventually(lambda: recorder.calls == [1, 2], 30, "both callbacks")
        assert writer.stats().points_written == 2100
        assert writer.stats().write_errors == 0

    run(main)
    expected = sorted(
        (int((BASE + timedelta(milliseconds=i)).timestamp() * 1000), float(i % 150))
        for i in range(1500)
    )

    def stored() -> list[tuple[int, float]]:
        return sorted(victoriametrics.export_series("zone_occupancy_count", {"site": site}))

    deadline = time.monotonic() + 30
    while stored() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored() == expected
    density = victoriametrics.export_series("zone_occupancy_density", {"site": site})
    assert sorted(v for _, v in density)[-1] == pytest.approx(149 / 120)


def test_v2_unreachable_server_spools_and_replays(
    victoriametrics: VictoriaMetricsServer, victoriametrics_site: str, tmp_path: Path
) -> None:
    """v2 failures (urllib3 connection errors) go to the spool like v1's."""
    port = free_port()
    dead = InfluxConfig(url=f"http://127.0.0.1:{port}", protocol="v2", flush_interval_s=0.05)
    spool = Spool(tmp_path / "spool", max_bytes=10**7)
    recorder = Recorder()

    async def main() -> None:
        writer = InfluxWriter(dead, spool)
        async with running(writer):
            await writer.submit(occupancy_lines(victoriametrics_site, 300), recorder.callback(1))
            await eventually(lambda: recorder.calls == [1], 30, "the batch in the spool")
        stats = writer.stats()
        assert stats.batches_spooled == 1
        assert stats.last_error is not None and "cannot reach" in stats.last_error
        alive = dead.model_copy(update={"url": victoriametrics.url})
        writer2 = InfluxWriter(alive, Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(writer2):
            await eventually(lambda: writer2.stats().spool_batches == 0, 30, "the replay")
        assert writer2.stats().points_written == 300

    run(main)
    samples = victoriametrics.export_series("zone_occupancy_count", {"site": victoriametrics_site})
    assert len(samples) == 300


# --------------------------------------------------------------------------- failures


@pytest.fixture
def private_influx(
    influxdb1_private: Callable[[], InfluxDB1Server],
) -> Iterator[InfluxDB1Server]:
    yield influxdb1_private()


def test_outage_spools_10000_lines_then_replays_them_all(
    private_influx: InfluxDB1Server, tmp_path: Path
) -> None:
    server = private_influx
    n = 10_000
    recorder = Recorder()
    log, cap = capturing_log()
    config = v1_config(server.url, "outage", batch_size=250)
    spool = Spool(tmp_path / "spool", max_bytes=10**8)

    async def main() -> None:
        writer = InfluxWriter(config, spool, log=log)
        async with running(writer):
            await writer.submit(occupancy_lines("s", 1), recorder.callback(-1))
            await eventually(lambda: recorder.calls == [-1], 30, "the first write")
            await asyncio.to_thread(server.stop)
            lines = occupancy_lines("s", n, start=1)
            for i in range(0, n, 400):
                await writer.submit(lines[i : i + 400], recorder.callback(i))
            await eventually(lambda: len(recorder.calls) == 1 + n // 400, 60, "all in the spool")
            assert recorder.calls == [-1, *range(0, n, 400)]
            stats = writer.stats()
            assert stats.spool_batches >= n // 250
            assert stats.batches_spooled == stats.spool_batches
            assert stats.write_errors >= 1
            assert stats.spool_oldest_age_s >= 0.0
            await asyncio.to_thread(server.start)
            await eventually(lambda: writer.stats().spool_batches == 0, 90, "the spool to drain")
            assert writer.stats().points_written == n + 1
        assert "storage.write_failed" in events(cap)
        assert "storage.recovered" in events(cap)
        assert "storage.spool_drained" in events(cap)

    run(main)
    assert count_and_sum(server, "outage") == (n + 1, sum(i % 150 for i in range(n + 1)))
    first = server.rows(
        'SELECT "count", density FROM zone_occupancy ORDER BY time DESC LIMIT 1', "outage"
    )
    assert first == [[timestamp_ns(BASE + timedelta(milliseconds=n)), n % 150, (n % 150) / 120]]


def test_bad_batch_is_quarantined_and_the_next_batches_land(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    log, cap = capturing_log()
    recorder = Recorder()
    spool = Spool(tmp_path / "spool", max_bytes=10**7)
    bad = [*occupancy_lines("s", 99, source="bad"), "this is not line protocol"]

    async def main() -> None:
        writer = InfluxWriter(v1_config(influxdb1.url, db, batch_size=100), spool, log=log)
        async with running(writer):
            await writer.submit(occupancy_lines("s", 100, source="a"), recorder.callback(1))
            await writer.submit(bad, recorder.callback(2))
            await writer.submit(occupancy_lines("s", 100, source="c"), recorder.callback(3))
            await eventually(lambda: recorder.calls == [1, 2, 3], 30, "three callbacks")

    run(main)
    assert count_and_sum(influxdb1, db, "WHERE source = 'a'")[0] == 100
    assert count_and_sum(influxdb1, db, "WHERE source = 'c'")[0] == 100
    [rejected] = spool.rejected()
    assert rejected.read_text().splitlines() == bad
    reason = rejected.with_name(rejected.name + ".reason").read_text()
    assert "unable to parse 'this is not line protocol'" in reason
    [call] = [c for c in cap.calls if c.kwargs["event"] == "storage.batch_rejected"]
    assert call.kwargs["lines"] == 100
    assert "400" in call.kwargs["reason"]


def test_bad_batch_in_the_spool_is_quarantined_on_replay(
    private_influx: InfluxDB1Server, tmp_path: Path
) -> None:
    server = private_influx
    spool = Spool(tmp_path / "spool", max_bytes=10**7)
    spool.append(occupancy_lines("s", 50, source="a"))
    spool.append(["still not line protocol"])
    spool.append(occupancy_lines("s", 50, source="c"))
    log, cap = capturing_log()

    async def main() -> None:
        writer = InfluxWriter(v1_config(server.url, "replay"), spool, log=log)
        async with running(writer):
            await eventually(lambda: writer.stats().spool_batches == 0, 30, "the replay")
        assert writer.stats().points_written == 100

    run(main)
    assert count_and_sum(server, "replay")[0] == 100
    assert len(spool.rejected()) == 1
    assert "storage.batch_rejected" in events(cap)


def test_full_spool_stops_acknowledging_and_applies_backpressure(
    private_influx: InfluxDB1Server, tmp_path: Path
) -> None:
    server = private_influx
    batch = 100
    total = 12
    batches = [occupancy_lines("s", batch, start=k * batch) for k in range(total)]
    sizes = [len(("\n".join(b) + "\n").encode()) for b in batches]
    config = v1_config(
        server.url,
        "full",
        batch_size=batch,
        max_pending_lines=2 * batch,
        spool=SpoolConfig(warn_ratio=0.5),
    )
    spool = Spool(tmp_path / "spool", max_bytes=sum(sizes[:5]))  # exactly five batches
    recorder = Recorder()
    log, cap = capturing_log()

    async def main() -> None:
        writer = InfluxWriter(config, spool, log=log)
        async with running(writer):
            await asyncio.to_thread(server.stop)

            async def produce() -> None:
                for k, lines in enumerate(batches):
                    await writer.submit(lines, recorder.callback(k))

            producer = asyncio.create_task(produce())
            await eventually(lambda: writer.stats().spool_batches == 5, 30, "a full spool")
            await eventually(lambda: "storage.spool_full" in events(cap), 30, "spool_full")
            # the spool holds 5 batches; one more is held in memory, one queued, and the
            # producer waits: nothing beyond the spooled batches is acknowledged
            await eventually(lambda: writer.stats().pending_lines >= 2 * batch, 30, "backpressure")
            assert recorder.calls == [0, 1, 2, 3, 4]
            assert not producer.done()
            assert writer.stats().spool_fill_ratio > 0.99
            assert events(cap).count("storage.spool_filling") == 1
            await asyncio.to_thread(server.start)
            await asyncio.wait_for(producer, 60)
            await eventually(lambda: len(recorder.calls) == total, 60, "every acknowledgement")
            await eventually(lambda: writer.stats().spool_batches == 0, 60, "the spool to drain")
        assert recorder.calls == list(range(total))

    run(main)
    assert count_and_sum(server, "full") == (
        total * batch,
        sum(i % 150 for i in range(total * batch)),
    )


def test_a_full_spool_says_so_once_per_episode_while_it_drains(
    private_influx: InfluxDB1Server, tmp_path: Path
) -> None:
    # The replay frees one batch at a time while new batches wait: without
    # hysteresis every freed batch was one spool_accepting and one spool_full.
    server = private_influx
    batch, capacity, total = 50, 20, 80
    batches = [occupancy_lines("s", batch, start=k * batch) for k in range(total)]
    size = len(("\n".join(batches[0]) + "\n").encode())
    config = v1_config(server.url, "episode", batch_size=batch, max_pending_lines=2 * batch)
    spool = Spool(tmp_path / "spool", max_bytes=capacity * size + size // 2)
    recorder = Recorder()
    log, cap = capturing_log()

    async def main() -> None:
        writer = InfluxWriter(config, spool, log=log)
        async with running(writer):
            await asyncio.to_thread(server.stop)

            async def produce() -> None:
                for k, lines in enumerate(batches):
                    await writer.submit(lines, recorder.callback(k))

            producer = asyncio.create_task(produce())
            await eventually(lambda: writer.stats().spool_full, 30, "a full spool")
            assert recorder.calls == list(range(capacity))
            await asyncio.to_thread(server.start)
            await asyncio.wait_for(producer, 90)
            await eventually(lambda: len(recorder.calls) == total, 90, "every acknowledgement")
            await eventually(lambda: writer.stats().spool_batches == 0, 90, "the spool to drain")
            assert not writer.stats().spool_full
        assert recorder.calls == list(range(total))
        # some 60 batches went through the spool while it was full or nearly so
        assert writer.stats().batches_spooled >= total - capacity
        said = [
            c.kwargs
            for c in cap.calls
            if c.kwargs.get("event") in ("storage.spool_full", "storage.spool_accepting")
        ]
        kinds = [e["event"] for e in said]
        episodes = len(kinds) // 2
        # each episode said once and ended once, in turn
        assert episodes >= 1, events(cap)
        assert kinds == ["storage.spool_full", "storage.spool_accepting"] * episodes, kinds
        # the hysteresis: an episode ends only at or below RESUME_FILL, which leaves room for
        # 2 batches of 20 (without it the first freed batch ended it, at 19 of 20)
        refill = capacity - int(RESUME_FILL * capacity)
        assert refill >= 2, RESUME_FILL
        ends = [e["fill_ratio"] for e in said if e["event"] == "storage.spool_accepting"]
        assert all(ratio <= RESUME_FILL for ratio in ends), ends
        # so a new episode needs 2 batches appended after one ends: of the 60 batches
        # through the full spool, at most 1 + 60 // 2 episodes, not one per freed batch.
        # How many there are depends on how fast the replay drains against the producer
        # (the machine's load), so no tighter bound holds on every run.
        assert episodes <= 1 + (total - capacity) // refill, kinds

    run(main)
    assert count_and_sum(server, "episode")[0] == total * batch


def test_replay_resumes_when_the_server_listens_again_not_after_the_backoff(
    private_influx: InfluxDB1Server, tmp_path: Path
) -> None:
    # A backoff of 50-100 s after the first failed replay: only the probe can
    # bring the replay back within the wait below (the server starts in seconds).
    server = private_influx
    config = v1_config(server.url, "probe", retry_min_s=100, retry_max_s=100)
    spool = Spool(tmp_path / "spool", max_bytes=10**7)
    recorder = Recorder()
    log, cap = capturing_log()

    async def main() -> None:
        writer = InfluxWriter(config, spool, log=log)
        async with running(writer):
            await asyncio.to_thread(server.stop)
            await writer.submit(occupancy_lines("s", 300), recorder.callback(1))
            await eventually(lambda: recorder.calls == [1], 30, "the batch in the spool")
            await eventually(
                lambda: "storage.replay_retry" in events(cap), 30, "a failed replay, backing off"
            )
            assert writer.stats().spool_batches == 1
            await asyncio.to_thread(server.start)
            await eventually(lambda: writer.stats().spool_batches == 0, 40, "the replay")
            assert writer.stats().points_written == 300
        assert "storage.reachable_again" in events(cap)
        assert events(cap).count("storage.replay_retry") == 1  # no second backoff was needed

    run(main)
    assert count_and_sum(server, "probe")[0] == 300
