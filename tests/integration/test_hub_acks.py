"""The hub's acknowledgements: in order, after durability, the door counters' state saved first.

A sink holds the ``on_durable`` callbacks until the test releases them (as the
InfluxDB writer does once a batch is written or spooled); the door counters'
state goes to a real file. No peer is needed.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import TypeAdapter

from gateway.counter_store import CounterStore
from gateway.dead_letters import DeadLetters
from gateway.hub import Hub
from gateway.settings import SensorConfig, ValidationLimits
from sensors.mqtt_source import Inbound, InboundBuffer

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
DOOR = TypeAdapter(SensorConfig).validate_python(
    {
        "id": "dc-main",
        "kind": "door_counter",
        "decoder": "door_counter",
        "mode": "cumulative",
        "topic": "counters/d-main",
        "door": "d-main",
    }
)


class HeldSink:
    """Durable only when the test says so."""

    def __init__(self) -> None:
        self.held: list[Callable[[], None]] = []
        self.submitted = asyncio.Event()

    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None:
        if on_durable is not None:
            self.held.append(on_durable)
            self.submitted.set()


class WatchedCounters(CounterStore):
    """The real store, telling the test when a save has been tried."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.tried = threading.Event()

    def save(self, snapshot: object) -> None:
        try:
            super().save(snapshot)
        finally:
            self.tried.set()


def _reading(i: int) -> Inbound:
    at = T0 + timedelta(seconds=i)
    payload = json.dumps({"in": 100 + i, "out": 90 + i, "seq": i, "ts": at.isoformat()})
    return Inbound("counters/d-main", payload.encode(), at, mid=i, qos=1, generation=1)


async def _scenario(
    counters: WatchedCounters, *, unwritable: bool = False
) -> list[tuple[list[int], object]]:
    """Three batches; their callbacks released together; what each ack saw saved."""
    buffer = InboundBuffer(100)
    buffer.bind(asyncio.get_running_loop())
    sink = HeldSink()
    acks: list[tuple[list[int], object]] = []

    acked = asyncio.Event()

    def ack(items: list[Inbound]) -> None:
        saved = json.loads(counters.path.read_text()) if counters.path.is_file() else None
        acks.append(([item.mid for item in items], saved))
        acked.set()

    dead = DeadLetters(counters.path.parent / "dead-letters.jsonl", max_entries=100)
    dead.open()
    hub = Hub(
        site_id="hcc",
        timezone="Asia/Ho_Chi_Minh",
        sensors=[DOOR],
        zones={},
        limits=ValidationLimits(duplicate_window_s=0),
        stale_factor=3.0,
        buffer=buffer,
        sink=sink,
        ack=ack,
        dead_letters=dead,
        counters=counters,
        clock=lambda: T0,
        health_interval_s=3600,
    )
    task = asyncio.create_task(hub.run())
    try:
        async with asyncio.timeout(10):
            for k, batch in enumerate(([1, 2], [3], [4, 5, 6])):
                buffer.put_many([_reading(i) for i in batch])
                while len(sink.held) < k + 1:  # one batch at a time
                    sink.submitted.clear()
                    await sink.submitted.wait()
            assert acks == []  # nothing is acknowledged before it is durable
            if unwritable:  # a directory where the file goes: replacing it fails
                counters.path.mkdir()
            for done in sink.held:  # durable together, as one write of the InfluxDB writer
                done()
            await asyncio.to_thread(counters.tried.wait, 10)
            while not acked.is_set() and hub.stats.internal_errors == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)  # the hub's answer to the save: ack, or count
        return acks
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_run_of_durable_batches_is_acked_once_after_its_latest_counter_state(
    tmp_path: Path,
) -> None:
    counters = WatchedCounters(tmp_path / "door-counters.json")
    acks = asyncio.run(_scenario(counters))
    [(mids, saved)] = acks  # one acknowledgement for the three batches, in order
    assert mids == [1, 2, 3, 4, 5, 6]
    assert saved is not None and "106" in json.dumps(saved)  # with the last batch's totals


def test_counters_that_cannot_be_saved_leave_the_messages_unacknowledged(
    tmp_path: Path,
) -> None:
    counters = WatchedCounters(tmp_path / "door-counters.json")
    assert asyncio.run(_scenario(counters, unwritable=True)) == []
