"""The engine's counter_seat points: on each change of a seat, and every seats.point_s while it holds.

The engine in-process with its real SQLite store and an injected clock; the
point sink is a recorder (the writer's only method), the MQTT side a no-op.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.alert_store import AlertStore
from gateway.engine import Engine
from gateway.floor_model import FloorModel
from gateway.observations import Presence
from gateway.outbound import OutboundTopics
from gateway.settings import PresenceSensor
from gateway.state_writer import StateWriter
from tests.api_support import demo_settings

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Hanoi
NS0 = int(T0.timestamp()) * 1_000_000_000


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None:
        self.lines.extend(lines)


def test_a_seat_is_stored_on_change_and_every_point_s(tmp_path: Path) -> None:
    base = demo_settings()
    seat = PresenceSensor.model_validate(
        {
            "id": "seat-05",
            "kind": "presence",
            "decoder": "presence",
            "topic": "seats/5",
            "zone": "f2-counters",
            "counter": 5,
            "occupied_count": 1,
            "interval_s": 600,
        }
    )
    settings = base.model_copy(update={"sensors": [seat]})
    now = [T0]
    sink = Sink()
    engine = Engine(
        site_id="demo-hcc",
        model=FloorModel(settings, start=T0),
        rules=settings.alerts,
        store=AlertStore(tmp_path / "alerts.sqlite3"),
        writer=StateWriter(OutboundTopics("floorwatch", "demo-hcc"), lambda *_: None),
        sink=sink,
        clock=lambda: now[0],
        tick_s=3600,  # the test drives step() itself
        seat_point_s=60,
    )

    async def scenario() -> list[tuple[int, str]]:
        task = asyncio.create_task(engine.run())
        await asyncio.wait_for(engine.wait_ready(), 10)  # its first step: a point at 0
        try:
            engine.observe(Presence("f2-counters", "seat-05", True, T0, 5))
            for second in (1, 5, 11, 30, 70, 71, 131):
                now[0] = T0 + timedelta(seconds=second)
                await engine.step()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        out = []
        for line in sink.lines:
            if line.startswith("counter_seat,"):
                fields, ns = line.split(" ")[1:]
                out.append(((int(ns) - NS0) // 1_000_000_000, fields))
        return out

    points = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert points == [
        (0, 'state="unknown"'),  # nothing heard yet
        (1, 'state="unknown",occupied=true'),  # the reading changed; not yet held 10 s
        (11, 'state="open",open=1i,occupied=true'),  # opened
        (71, 'state="open",open=1i,occupied=true'),  # 60 s later, unchanged
        (131, 'state="open",open=1i,occupied=true'),
    ]
    seats = [line for line in sink.lines if line.startswith("counter_seat,")]
    assert {line.split(" ")[0] for line in seats} == {
        "counter_seat,counter=5,service=civil,site=demo-hcc"
    }
