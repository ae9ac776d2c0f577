"""`floorwatch fleet run` as processes: a real nats-server, a real InfluxDB 1.x.

Two worker processes share the durable consumer; one is SIGKILLed mid-stream
and the other carries on: every message ends up stored once and the
consumer's lag drains to zero. A bad central file exits 2.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.messages import FleetSubjects, zone_message
from gateway.live import ZoneClimateState, ZoneState
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.settings import CrowdLevel

FLOORWATCH = Path(sys.executable).parent / "floorwatch"
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
STREAM = "FLOORWATCH"
WAIT_S = 90.0  # a bound on waits, never an expectation of speed


def central_file(path: Path, nats_url: str, influx_url: str, db: str) -> Path:
    path.write_text(
        f"""
nats:
  url: {nats_url}
  stream: {STREAM}
  batch: 10
  fetch_wait_s: 0.2
  ack_wait_s: 1
influxdb:
  protocol: v1
  url: {influx_url}
  database: {db}
  flush_interval_s: 0.05
"""
    )
    return path


def zone(i: int, site: str) -> ZoneState:
    return ZoneState(
        "waiting",
        "f1",
        "Khu chờ",
        i,
        1000,
        i / 1000,
        i / 1200,
        None,
        CrowdLevel.CALM,
        "camera",
        0.9,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        T0 + timedelta(seconds=i),
    )


@contextmanager
def worker(config: Path, state_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (state_dir.parent / f"{state_dir.name}.log").open("wb")
    proc = subprocess.Popen(
        [str(FLOORWATCH), "fleet", "run", "-c", str(config), "--state-dir", str(state_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def wait_for(what: str, check: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"still waiting for {what} after {WAIT_S:.0f} s")


def stored(influx: InfluxDB1Server, db: str) -> int:
    try:
        rows = influx.rows("SELECT count(count) FROM zone_occupancy", db)
    except Exception:  # noqa: BLE001 - the database does not exist before the first write
        return 0
    return int(rows[0][1]) if rows else 0


async def publish(url: str, first: int, n: int) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["floorwatch.>"], duplicate_window=600)
        for i in range(first, first + n):
            subjects = FleetSubjects("floorwatch", "ha-noi", f"site-{i % 5}")
            m = zone_message(subjects, zone(i, subjects.site))
            await js.publish(m.subject, m.payload, headers=m.headers)
    finally:
        await nc.close()


async def lag(url: str) -> tuple[int, int]:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(STREAM, "fleet-central")
        return info.num_pending, info.num_ack_pending
    finally:
        await nc.close()


def test_a_worker_sigkilled_mid_stream_the_other_takes_over_and_the_lag_drains(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db, n = influxdb1_database, 400
    config = central_file(tmp_path / "central.yaml", nats_server.url, influxdb1.url, db)
    with worker(config, tmp_path / "one") as one, worker(config, tmp_path / "two") as two:
        asyncio.run(publish(nats_server.url, 0, n // 2))
        wait_for("the first points", lambda: stored(influxdb1, db) > 0)
        one.send_signal(signal.SIGKILL)
        assert one.wait() == -signal.SIGKILL
        asyncio.run(publish(nats_server.url, n // 2, n // 2))  # only the survivor is left
        wait_for(f"{n} points", lambda: stored(influxdb1, db) == n)
        wait_for("no lag", lambda: asyncio.run(lag(nats_server.url)) == (0, 0))
        assert stored(influxdb1, db) == n  # each message once, none lost
        two.send_signal(signal.SIGTERM)
        assert two.wait(timeout=WAIT_S) == 0
    sites = influxdb1.rows("SELECT count(count) FROM zone_occupancy GROUP BY site", db)
    assert sorted(int(r[1]) for r in sites) == [n // 5] * 5


def test_a_bad_central_file_exits_2_and_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "central.yaml"
    path.write_text("nats:\n  url: nats://user:pw@host:4222\n  consumer: 'a b'\n")
    result = CliRunner().invoke(app, ["fleet", "run", "-c", str(path)])
    assert result.exit_code == 2
    assert "nats.url" in result.output and "nats.consumer" in result.output
    assert "pw" not in result.output.replace(str(path), "")
