"""Profile M counting by the camera itself, end to end: the virtual camera emits line
crossings and counter totals through its PullPoint service, the gateway's events adapter
(run_onvif_events into the ObservationInbox, as the composition root wires it) turns them
into DoorTraffic of the configured door and PeopleCount of the configured zone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from cameras.onvif_source import OnvifEventSource, run_onvif_events
from gateway.inbox import ObservationInbox
from gateway.observations import DeviceHealth, DoorTraffic, Observation, PeopleCount
from tests.integration.onvif_support import camera, run, until, virtual_camera

pytestmark = pytest.mark.integration

WAIT_S = 30.0  # a bound, not a pace: every wait ends as soon as its condition holds
RULES: dict[str, Any] = {
    "crossing_rules": {
        "EntranceIn": {"door": "main", "direction": "entry"},
        "EntranceOut": {"door": "main", "direction": "exit"},
    },
    "counting_rules": {"WaitingArea": "waiting"},
}


def traffic(seen: list[Observation], door: str = "main") -> tuple[int, int]:
    passes = [o for o in seen if isinstance(o, DoorTraffic) and o.door_id == door]
    return sum(o.entries for o in passes), sum(o.exits for o in passes)


def subscribed(seen: list[Observation]) -> bool:
    return any(
        isinstance(o, DeviceHealth) and o.device_id == "cam-lobby/onvif" and o.online for o in seen
    )


async def collect_until(
    inbox: ObservationInbox, seen: list[Observation], done: Callable[[], bool]
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"not seen within {WAIT_S} s: {seen!r}")
        try:
            seen += await asyncio.wait_for(inbox.get_batch(50), min(remaining, 1.0))
        except TimeoutError:
            continue


def test_line_crossings_reach_the_gateway_inbox_as_door_traffic() -> None:
    async def main() -> None:
        inbox = ObservationInbox(200)
        inbox.bind(asyncio.get_running_loop())
        async with virtual_camera() as cam:
            stop = asyncio.Event()
            task = asyncio.create_task(run_onvif_events(camera(cam, events=RULES), inbox.put, stop))
            seen: list[Observation] = []
            await collect_until(inbox, seen, lambda: subscribed(seen))
            cam.cross_line("EntranceIn", 3)
            cam.cross_line("EntranceOut")
            cam.cross_line("ParkingLine", 5)  # a rule nobody mapped: no traffic anywhere
            cam.publish_count("WaitingArea", 7)
            await collect_until(
                inbox,
                seen,
                lambda: traffic(seen) == (3, 1) and any(isinstance(o, PeopleCount) for o in seen),
            )
            stop.set()
            await asyncio.wait_for(task, WAIT_S)
        doors = [o for o in seen if isinstance(o, DoorTraffic)]
        assert len(doors) == 4  # one observation per crossing
        assert {o.door_id for o in doors} == {"main"}
        assert {o.source_id for o in doors} == {
            "cam-lobby/onvif/EntranceIn",
            "cam-lobby/onvif/EntranceOut",
        }
        zone_counts = [(o.zone_id, o.count) for o in seen if isinstance(o, PeopleCount)]
        assert zone_counts == [("waiting", 7)]
        assert cam.subscriptions == 0

    run(main())


def test_counter_totals_count_only_crossings_made_after_the_start() -> None:
    """The camera had counted 40 and 38 people before floorwatch started: that is the
    baseline, not 78 passages now. A reset at the camera's interval loses nothing."""

    async def main() -> None:
        async with virtual_camera() as cam:
            cam.count_crossings("EntranceIn", 40)
            cam.count_crossings("EntranceOut", 38)
            got: list[Observation] = []
            source = OnvifEventSource(camera(cam, events=RULES), got.append)
            task = asyncio.create_task(source.run())
            try:
                await until(lambda: source.subscriptions == 1, WAIT_S)
                cam.count_crossings("EntranceIn", 2)
                cam.count_crossings("EntranceOut", 1)
                await until(lambda: traffic(got) == (2, 1), WAIT_S)
                cam.reset_counter("EntranceIn")  # total 0: nobody crossed
                cam.count_crossings("EntranceIn", 4)
                await until(lambda: traffic(got) == (6, 1), WAIT_S)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        assert traffic(got) == (6, 1)

    run(main())


def test_crossings_counted_while_the_camera_rebooted_are_not_lost() -> None:
    """A counter's total survives the subscription: after a reboot, the first total
    the camera sends (Initialized, to the new subscription) brings what was missed."""

    async def main() -> None:
        async with virtual_camera(max_subscriptions=1) as cam:
            got: list[Observation] = []
            source = OnvifEventSource(camera(cam, events=RULES), got.append)
            task = asyncio.create_task(source.run())
            try:
                await until(lambda: source.subscriptions == 1, WAIT_S)
                cam.count_crossings("EntranceIn", 0)  # the camera's first total: baseline 0
                cam.count_crossings("EntranceIn", 3)
                await until(lambda: traffic(got) == (3, 0), WAIT_S)
                cam.reboot()
                cam.count_crossings("EntranceIn", 5)  # nobody subscribed to hear this
                await until(lambda: source.subscriptions == 2, WAIT_S)
                await until(lambda: traffic(got) == (8, 0), WAIT_S)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        assert traffic(got) == (8, 0)

    run(main())
