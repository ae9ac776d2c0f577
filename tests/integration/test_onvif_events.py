"""Camera events arrive as observations, through the real client library, and the
event loop survives what real cameras do: reboots, silent subscriptions, one-subscription
limits, a skewed clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from cameras.onvif_source import OnvifEventSource, run_onvif_events
from cameras.simulator.onvif_server import OnvifCameraServer
from gateway.inbox import ObservationInbox
from gateway.observations import DeviceHealth, Observation, PeopleCount
from gateway.peers.process import free_port
from tests.integration.onvif_support import PASSWORD, camera, run, until, virtual_camera

pytestmark = pytest.mark.integration


@asynccontextmanager
async def event_source(
    server: OnvifCameraServer, **events: Any
) -> AsyncIterator[tuple[OnvifEventSource, list[Observation]]]:
    got: list[Observation] = []
    events.setdefault("counting_rules", {"queue-a": "waiting"})
    source = OnvifEventSource(camera(server, events=events), got.append)
    task = asyncio.create_task(source.run())
    try:
        yield source, got
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def counts(got: list[Observation]) -> list[int]:
    return [o.count for o in got if isinstance(o, PeopleCount)]


def details(got: list[Observation], device: str = "cam-lobby") -> list[str]:
    return [o.detail for o in got if isinstance(o, DeviceHealth) and o.device_id == device]


def test_motion_and_counting_events_arrive_as_observations() -> None:
    async def main() -> None:
        started = datetime.now(UTC)
        async with virtual_camera(clock_offset_s=120) as cam, event_source(cam) as (source, got):
            await until(lambda: "events_subscribed" in details(got, "cam-lobby/onvif"))
            await until(lambda: "motion_cleared" in details(got))  # initial state
            cam.set_motion(True)
            published = datetime.now(UTC)
            cam.publish_count("queue-a", 17)
            cam.publish_count("not-mapped", 3)
            await until(lambda: counts(got) == [17] and "motion" in details(got))
            arrived = datetime.now(UTC)
            count = next(o for o in got if isinstance(o, PeopleCount))
            assert count.zone_id == "waiting"
            assert count.source_id == "cam-lobby/onvif"
            assert count.confidence == pytest.approx(0.8)
            # stamped on our clock although the camera runs 2 minutes ahead: the
            # camera's whole-second stamp less the offset measured while connecting,
            # whose error is bounded by how long the test has run
            error = arrived - started + timedelta(seconds=1)
            assert published - error <= count.at <= arrived + error
            cam.set_tamper(True)
            cam.set_video_loss(True)
            await until(lambda: {"tampered", "video_lost"} <= set(details(got)))
            lost = next(o for o in got if isinstance(o, DeviceHealth) and o.detail == "video_lost")
            assert lost.online is False

    run(main())


def test_resubscribes_after_a_camera_reboot_with_one_subscription_allowed() -> None:
    async def main() -> None:
        async with virtual_camera(max_subscriptions=1) as cam, event_source(cam) as (source, got):
            await until(lambda: source.subscriptions == 1)
            cam.publish_count("queue-a", 4)
            await until(lambda: counts(got) == [4])
            cam.reboot()
            await until(lambda: source.subscriptions == 2)
            assert "subscription_lost" in details(got, "cam-lobby/onvif")
            cam.publish_count("queue-a", 6)
            await until(lambda: counts(got) == [4, 6])
            assert cam.subscriptions == 1

    run(main())


def test_a_subscription_that_dies_silently_is_replaced() -> None:
    async def main() -> None:
        async with (
            virtual_camera(max_subscriptions=1) as cam,
            event_source(cam, sync_interval_s=1) as (source, got),
        ):
            await until(lambda: source.subscriptions == 1)
            cam.go_silent()
            await until(lambda: source.subscriptions == 2, timeout_s=15)
            cam.publish_count("queue-a", 9)
            await until(lambda: counts(got) == [9])
            # the old subscription was unsubscribed, freeing the camera's one slot
            assert "Unsubscribe" in cam.requests

    run(main())


def test_subscription_is_renewed_before_it_expires() -> None:
    async def main() -> None:
        async with virtual_camera() as cam, event_source(cam, termination_s=10) as (source, got):
            await until(lambda: source.subscriptions == 1)
            await until(lambda: "Renew" in cam.requests, timeout_s=15)
            cam.publish_count("queue-a", 2)
            await until(lambda: counts(got) == [2])
            assert source.subscriptions == 1

    run(main())


def test_wrong_password_is_reported_as_offline_health_and_retried() -> None:
    async def main() -> None:
        async with virtual_camera() as cam:
            got: list[Observation] = []
            config = camera(cam, password="Wr0ng-Pw!")
            stop = asyncio.Event()
            with structlog.testing.capture_logs() as logs:
                task = asyncio.create_task(run_onvif_events(config, got.append, stop))
                await until(lambda: cam.auth_failures >= 2)  # retried with backoff
                stop.set()
                await asyncio.wait_for(task, 5)
        assert any(e["event"] == "camera.onvif_failed" for e in logs)
        assert "Wr0ng-Pw!" not in repr(logs) and PASSWORD not in repr(logs)
        link = [o for o in got if isinstance(o, DeviceHealth)]
        assert [(o.device_id, o.online, o.detail) for o in link] == [
            ("cam-lobby/onvif", False, "wrong_password")
        ]  # reported once, not once per retry

    run(main())


def test_events_reach_the_gateway_inbox() -> None:
    """As the composition root wires it: run_onvif_events(camera, inbox.put, stop)."""

    async def main() -> None:
        inbox = ObservationInbox(100)
        inbox.bind(asyncio.get_running_loop())
        async with virtual_camera() as cam:
            config = camera(cam, events={"counting_rules": {"queue-a": "waiting"}})
            stop = asyncio.Event()
            task = asyncio.create_task(run_onvif_events(config, inbox.put, stop))
            seen: list[Observation] = []
            while not any(
                isinstance(o, DeviceHealth) and o.device_id == "cam-lobby/onvif" for o in seen
            ):
                seen += await asyncio.wait_for(inbox.get_batch(50), 10)
            cam.publish_counts({"queue-a": 31})
            while not counts(seen):
                seen += await asyncio.wait_for(inbox.get_batch(50), 10)
            stop.set()
            await asyncio.wait_for(task, 5)
        assert counts(seen) == [31]
        assert cam.subscriptions == 0  # unsubscribed on the way out

    run(main())


def test_camera_power_cycle_is_reported_and_recovered() -> None:
    """The camera disappears (HTTP down), then comes back on the same address."""

    async def main() -> None:
        port = free_port()
        async with virtual_camera(port=port) as cam, event_source(cam) as (source, got):
            await until(lambda: source.subscriptions == 1)
            await cam.stop()
            await until(
                lambda: any(
                    isinstance(o, DeviceHealth) and o.detail == "unreachable" and not o.online
                    for o in got
                )
            )
            async with virtual_camera(port=port) as again:
                await until(lambda: source.subscriptions == 2)
                again.publish_count("queue-a", 5)
                await until(lambda: counts(got) == [5])
        link = [
            o.detail for o in got if isinstance(o, DeviceHealth) and o.device_id.endswith("/onvif")
        ]
        assert link[-1] == "events_subscribed"

    run(main())
