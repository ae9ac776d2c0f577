"""Fleet uplink throughput: FleetUplink against a bare nats-py JetStream publisher, same run.

    .venv/bin/python -m bench.fleet_uplink [--messages 5000]

On one nats-server with JetStream (a free loopback port, a temp folder):

  (a) ceiling: a bare nats-py client publishing the same zone messages with
      ``js.publish`` one at a time (each waits for its ack), as the uplink does;
  (b) floorwatch: the same messages offered to a FleetUplink and published
      (queue, Nats-Msg-Id, ack per message), into a second stream.

Prints both rates (msg/s), the ratio (b)/(a), and a busy center's nominal
rate for scale: 11 zones changing once every 2 s is 5.5 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats

from gateway.fleet.messages import FleetMessage, FleetSubjects, zone_message
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent, ZoneClimateState, ZoneState
from gateway.peers.nats import NatsServer
from gateway.settings import CrowdLevel, FleetConfig

T0 = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
NOMINAL_MSG_S = 11 / 2.0


def messages(subjects: FleetSubjects, n: int) -> list[FleetMessage]:
    out = []
    for i in range(n):
        state = ZoneState(
            f"zone-{i % 11}",
            "f1",
            "zone",
            i % 100,
            100,
            (i % 100) / 100,
            0.2,
            "B",
            CrowdLevel.CALM,
            "camera",
            0.9,
            (),
            False,
            ZoneClimateState(),
            None,
            None,
            T0 + timedelta(milliseconds=i),
        )
        out.append(zone_message(subjects, state))
    return out


async def nothing() -> AsyncIterator[LiveEvent]:
    await asyncio.Event().wait()
    return
    yield


async def ceiling(url: str, batch: list[FleetMessage]) -> float:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="CEILING", subjects=["bare.>"], duplicate_window=600)
        start = time.perf_counter()
        for m in batch:
            await js.publish("bare." + m.subject, m.payload, headers=m.headers)
        return len(batch) / (time.perf_counter() - start)
    finally:
        await nc.close()


async def until(done: Callable[[], bool]) -> None:
    while True:
        if done():
            return
        await asyncio.sleep(0.001)


async def uplink_rate(url: str, subjects: FleetSubjects, batch: list[FleetMessage]) -> float:
    cfg = FleetConfig(enabled=True, url=url, province=subjects.province, queue_size=len(batch) + 1)
    warm_up = FleetMessage(batch[0].subject, "warm-up", batch[0].payload)
    uplink = FleetUplink(cfg, subjects, nothing)
    task = asyncio.create_task(uplink.run())
    try:
        # connected, the stream created and one message through: then time the batch
        uplink.offer(warm_up)
        await until(lambda: uplink.stats.published == 1)
        start = time.perf_counter()
        for m in batch:
            uplink.offer(m)
        await until(lambda: uplink.stats.published + uplink.stats.duplicates > len(batch))
        return len(batch) / (time.perf_counter() - start)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args(argv)
    subjects = FleetSubjects("floorwatch", "bench", "site")
    batch = messages(subjects, args.messages)
    with tempfile.TemporaryDirectory() as folder, NatsServer(Path(folder)) as server:
        bare = asyncio.run(ceiling(server.url, batch))
        ours = asyncio.run(uplink_rate(server.url, subjects, batch))
    print(f"messages: {args.messages}, payload {len(batch[0].payload)} bytes")
    print(f"(a) bare nats-py js.publish, one ack at a time: {bare:,.0f} msg/s")
    print(f"(b) FleetUplink:                               {ours:,.0f} msg/s")
    print(f"ratio (b)/(a): {ours / bare:.2f}")
    print(f"headroom over a busy center ({NOMINAL_MSG_S} msg/s): {ours / NOMINAL_MSG_S:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
