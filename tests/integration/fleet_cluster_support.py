"""Helpers of the fleet failure tests: sites publishing through the uplink, workers as processes.

A site is a real ``NatsLeaf`` and a real ``FleetUplink`` fed zone states of a
scene clock (one state every ``STEP`` of scene time, never the wall clock);
the central side is ``floorwatch fleet run`` processes reading the central
stream of a real cluster into a real InfluxDB 1.x.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext

from gateway.fleet.messages import FleetSubjects, zone_message
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent, ZoneClimateState, ZoneState
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.settings import CrowdLevel, FleetConfig

FLOORWATCH = Path(sys.executable).parent / "floorwatch"
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
STEP = timedelta(seconds=2)  # a zone state every 2 s of scene time
STREAM = "FLOORWATCH"  # the sites' streams and the central stream share it (docs/fleet.md)
# A bound on waits, never an expectation of speed. After a leaf link failed,
# nats-server 2.9 retries the central stream's source with a backoff of 10 s per
# failure up to 2 minutes (server/stream.go retryMaximum), so a catch-up may
# start up to 2 min after the link is back: the bound leaves that much and more.
WAIT_S = 240.0


def zone(i: int) -> ZoneState:
    """The ``i``-th state of the waiting zone, at T0 + i * STEP of scene time."""
    return ZoneState(
        "waiting",
        "f1",
        "Khu chờ",
        i % 200,
        1000,
        (i % 200) / 1000,
        0.1,
        None,
        CrowdLevel.CALM,
        "camera",
        0.9,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        T0 + i * STEP,
    )


async def _nothing() -> AsyncIterator[LiveEvent]:
    await asyncio.Event().wait()
    return
    yield  # pragma: no cover - makes this an async generator


@dataclass
class Site:
    """One center: its subjects, the uplink to its leaf, and how many states it produced."""

    subjects: FleetSubjects
    uplink: FleetUplink
    produced: int = 0

    def produce(self, n: int) -> None:
        for _ in range(n):
            self.uplink.offer(zone_message(self.subjects, zone(self.produced)))
            self.produced += 1

    async def stored_locally(self) -> None:
        """Until the leaf's JetStream acknowledged everything produced (new or duplicate)."""
        stats = self.uplink.stats
        await wait_until(
            f"{self.subjects.site} acked {self.produced}",
            lambda: stats.published + stats.duplicates >= self.produced,
        )


@contextlib.asynccontextmanager
async def sites(leaves: list[tuple[FleetSubjects, str]], **auth: Any) -> AsyncIterator[list[Site]]:
    """An uplink per (subjects, leaf URL), running until the block ends."""
    out = []
    for subjects, url in leaves:
        cfg = FleetConfig(
            enabled=True,
            url=url,
            province=subjects.province,
            publish_timeout_s=2,
            retry_min_s=0.05,
            retry_max_s=0.5,
            heartbeat_s=0,  # the stream holds the zone states these tests produce, only
            **auth,
        )
        out.append(Site(subjects, FleetUplink(cfg, subjects, _nothing)))
    tasks = [asyncio.create_task(s.uplink.run()) for s in out]
    try:
        yield out
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t


async def wait_until(what: str, done: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {WAIT_S:.0f} s")
        await asyncio.sleep(0.05)


def wait_for(what: str, check: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {WAIT_S:.0f} s")
        time.sleep(0.1)


def central_file(
    path: Path,
    nats_url: str,
    influx_url: str,
    db: str,
    bucket: str,
    *,
    partitions: int = 1,
    leases: str = "fleet_partitions",
    source_watch: bool = True,
) -> Path:
    """The workers' file: the central stream FLOORWATCH (the sites' stream's name), R3 bucket;
    with ``partitions`` above 1, that many partition streams under 3-second leases."""
    spread = (
        f"  partitions: {partitions}\n  lease_s: 3\n  partition_bucket: {leases}\n"
        if partitions > 1
        else ""
    )
    watch = "" if source_watch else "source_watch:\n  enabled: false\n"
    path.write_text(
        f"""
nats:
  url: {nats_url}
  stream: {STREAM}
{spread}  kv_bucket: {bucket}
  kv_replicas: 3
  batch: 20
  fetch_wait_s: 0.2
  ack_wait_s: 2
{watch}influxdb:
  protocol: v1
  url: {influx_url}
  database: {db}
  flush_interval_s: 0.05
"""
    )
    return path


@contextmanager
def worker(config: Path, state_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``floorwatch fleet run`` as a process of its own; killed at the end if still running."""
    log = (state_dir.parent / f"{state_dir.name}.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own command
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


def stored(influx: InfluxDB1Server, db: str) -> dict[str, int]:
    """Points of zone_occupancy per site in the central store."""
    try:
        result = influx.query("SELECT count(count) FROM zone_occupancy GROUP BY site", db)
    except Exception:  # noqa: BLE001 - the database does not exist before the first write
        return {}
    return {
        str(series["tags"]["site"]): int(series["values"][0][1])
        for series in result.get("series", [])
    }


async def stream_messages(js: JetStreamContext, stream: str) -> list[tuple[str, str, str]]:
    """(site, zone state's time, message id) of every message of the stream, in stream order."""
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        m = await js.get_msg(stream, seq)
        body = json.loads(m.data or b"{}")
        out.append((body["site"], body["zone"]["updated_at"], (m.headers or {})["Nats-Msg-Id"]))
    return out


async def lag(urls: list[str], stream: str, consumer: str = "fleet-central") -> tuple[int, int]:
    nc = await nats.connect(urls)
    try:
        info = await nc.jetstream().consumer_info(stream, consumer)
        return info.num_pending, info.num_ack_pending
    finally:
        await nc.close()


def assert_each_once_in_order(
    messages: list[tuple[str, str, str]], produced: dict[str, int]
) -> None:
    """Every produced state of every site once, in the order it was produced."""
    ids = [m for _, _, m in messages]
    assert len(ids) == len(set(ids)), "a message is in the central stream twice"
    for site, n in produced.items():
        times = [t for s, t, _ in messages if s == site]
        assert times == [(T0 + i * STEP).isoformat() for i in range(n)], site
