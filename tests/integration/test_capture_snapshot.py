"""Snapshot polling when a camera has no usable stream, and the way back to the stream."""

from __future__ import annotations

import pytest
import structlog

from cameras.capture import SessionLimiter
from cameras.simulator.mjpeg import HttpAuth
from cameras.simulator.scene import SceneRoi
from cameras.simulator.virtual_camera import VirtualCamera
from cameras.worker import CameraWorker
from gateway.observations import DeviceHealth, PeopleCount
from gateway.peers.process import free_port
from tests.integration.capture_support import (
    ShapeEstimator,
    Sink,
    assert_no_secret,
    camera_config,
    counted,
    in_mode,
)
from tests.peers.rtsp import VIRTUAL_ROI_POLYGON

pytestmark = pytest.mark.integration
PASSWORD = "sn@p/sh:ot"


def _camera(port: int = 0, auth: HttpAuth | None = None) -> VirtualCamera:
    roi = SceneRoi("waiting", VIRTUAL_ROI_POLYGON)
    return VirtualCamera([roi], lambda _t: {"waiting": 4}, fps=10, port=port, auth=auth)


@pytest.mark.parametrize("scheme", ["digest", "basic"])
def test_snapshots_only_camera(scheme: str, capfd: pytest.CaptureFixture[str]) -> None:
    auth = HttpAuth("admin", PASSWORD, scheme)  # type: ignore[arg-type]
    with _camera(auth=auth) as vcam, structlog.testing.capture_logs() as logs:
        cam = camera_config(
            None, password=PASSWORD, snapshot_uri=vcam.snapshot_url, snapshot_interval_s=0.2
        )
        sink = Sink()
        worker = CameraWorker(cam, ShapeEstimator(), sink, limiter=SessionLimiter())
        worker.start()
        try:
            up = sink.wait_for(in_mode("snapshot"), 10)
            count = sink.wait_for(counted, 5)
        finally:
            worker.stop()
    assert isinstance(up, DeviceHealth) and "state=snapshot" in up.detail
    assert "resolution=640x480" in up.detail
    assert isinstance(count, PeopleCount)
    assert_no_secret(logs, capfd.readouterr(), PASSWORD)


def test_fallback_to_snapshots_and_back_to_the_stream() -> None:
    stream_port = free_port()
    with _camera() as snapshots:
        cam = camera_config(
            f"http://127.0.0.1:{stream_port}/stream.mjpg",  # nothing listens there yet
            snapshot_uri=snapshots.snapshot_url,
            snapshot_after_failures=2,
            snapshot_interval_s=0.2,
            stream_retry_s=1.0,
        )
        sink = Sink()
        worker = CameraWorker(cam, ShapeEstimator(), sink, limiter=SessionLimiter())
        worker.start()
        try:
            sink.wait_for(in_mode("snapshot"), 15)
            with _camera(port=stream_port):  # the stream comes up
                back = sink.wait_for(in_mode("http"), 15)
        finally:
            worker.stop()
    assert isinstance(back, DeviceHealth) and "state=streaming" in back.detail


def test_a_camera_without_any_source_says_so() -> None:
    sink = Sink()
    worker = CameraWorker(camera_config(None), ShapeEstimator(), sink, limiter=SessionLimiter())
    with structlog.testing.capture_logs() as logs:
        worker.start()
        try:
            down = sink.wait_for(
                lambda o: isinstance(o, DeviceHealth) and "reason=no_source" in o.detail, 10
            )
        finally:
            worker.stop()
    assert isinstance(down, DeviceHealth) and not down.online
    assert any(e["event"] == "capture.no_source" for e in logs)
