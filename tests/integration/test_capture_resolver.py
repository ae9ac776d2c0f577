"""A capture whose sources come from an async lookup on the event loop (as ONVIF does)."""

from __future__ import annotations

import asyncio

import pytest

from cameras.capture import CaptureSources, SessionLimiter
from cameras.simulator.virtual_camera import VirtualCamera
from cameras.worker import CameraWorker, loop_resolver
from gateway.observations import Observation
from tests.integration.capture_support import ShapeEstimator, camera_config

pytestmark = pytest.mark.integration


def test_loop_resolver_feeds_the_capture_and_run_stops_on_cancel(
    mjpeg_camera: VirtualCamera,
) -> None:
    asyncio.run(_scenario(mjpeg_camera))


async def _scenario(mjpeg_camera: VirtualCamera) -> None:
    lookups = 0
    got_count = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def fetch() -> CaptureSources:  # stands for GetStreamUri on the camera
        nonlocal lookups
        lookups += 1
        return CaptureSources(mjpeg_camera.stream_url)

    def emit(obs: Observation) -> None:  # from the analysis thread
        if type(obs).__name__ == "PeopleCount":
            loop.call_soon_threadsafe(got_count.set)

    worker = CameraWorker(
        camera_config(None),
        ShapeEstimator(),
        emit,
        limiter=SessionLimiter(),
        sources=loop_resolver(loop, fetch),
    )
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(got_count.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert lookups >= 1
    assert worker.capture is not None and worker.capture.health().state.value == "stopped"
