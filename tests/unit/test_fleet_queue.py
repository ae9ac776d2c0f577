"""FleetUplink's bounded queue: offer() never blocks, a full queue drops its oldest message."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.fleet.messages import FleetMessage, FleetSubjects
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent
from gateway.settings import FleetConfig

SUBJECTS = FleetSubjects("floorwatch", "hue", "phuong-thuan-hoa")


async def no_events() -> AsyncIterator[LiveEvent]:
    return
    yield  # pragma: no cover - makes this an async generator


def message(n: int) -> FleetMessage:
    return FleetMessage(f"{SUBJECTS.site_root}.zone", f"id-{n}", b"{}")


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    cfg = FleetConfig(enabled=True, province="hue", queue_size=3)
    uplink = FleetUplink(cfg, SUBJECTS, no_events)
    for n in range(5):
        uplink.offer(message(n))
    assert uplink.pending == 3
    assert (uplink.stats.queued, uplink.stats.dropped) == (5, 2)
    assert [m.msg_id for m in uplink.pending_messages()] == ["id-2", "id-3", "id-4"]


def test_below_the_bound_nothing_is_dropped() -> None:
    cfg = FleetConfig(enabled=True, province="hue", queue_size=3)
    uplink = FleetUplink(cfg, SUBJECTS, no_events)
    for n in range(3):
        uplink.offer(message(n))
    assert (uplink.pending, uplink.stats.dropped) == (3, 0)
