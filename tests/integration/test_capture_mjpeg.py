"""Capture of HTTP MJPEG from the virtual camera: auth, stall detection, session limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from cameras.capture import SessionLimiter
from cameras.capture_core import CaptureState
from cameras.simulator.mjpeg import HttpAuth
from cameras.simulator.scene import SceneRoi
from cameras.simulator.virtual_camera import VirtualCamera
from cameras.worker import CameraWorker
from gateway.observations import DeviceHealth, PeopleCount
from tests.integration.capture_support import (
    ShapeEstimator,
    Sink,
    assert_no_secret,
    camera_config,
    counted,
    health,
    in_mode,
    state_of,
)
from tests.peers.rtsp import VIRTUAL_ROI_POLYGON

pytestmark = pytest.mark.integration
PASSWORD = "mj/peg:p@ss"


def _camera(auth: HttpAuth | None = None) -> VirtualCamera:
    roi = SceneRoi("waiting", VIRTUAL_ROI_POLYGON)
    return VirtualCamera([roi], lambda t: {"waiting": 3 + int(t) % 3}, fps=10, auth=auth)


@pytest.fixture
def plain_camera() -> Iterator[VirtualCamera]:
    with _camera() as cam:
        yield cam


@pytest.mark.parametrize("scheme", ["digest", "basic"])
def test_mjpeg_with_auth_counts_and_reports_health(
    scheme: str, capfd: pytest.CaptureFixture[str]
) -> None:
    auth = HttpAuth("operator", PASSWORD, scheme)  # type: ignore[arg-type]
    with _camera(auth) as vcam, structlog.testing.capture_logs() as logs:
        cam = camera_config(vcam.stream_url, username="operator", password=PASSWORD)
        sink = Sink()
        estimator = ShapeEstimator()
        worker = CameraWorker(cam, estimator, sink, limiter=SessionLimiter())
        worker.start()
        try:
            up = sink.wait_for(in_mode("http"), 20)
            count = sink.wait_for(counted, 10)
        finally:
            worker.stop()
    assert isinstance(up, DeviceHealth) and "resolution=640x480" in up.detail
    assert isinstance(count, PeopleCount) and count.zone_id == "waiting"
    assert count.source_id == "cam-test" and count.at.tzinfo is not None
    assert set(estimator.shapes) == {(480, 640, 3)}
    assert_no_secret(logs, capfd.readouterr(), PASSWORD)


def test_mjpeg_without_the_password_is_refused(plain_camera: VirtualCamera) -> None:
    with _camera(HttpAuth("operator", PASSWORD)) as vcam:
        sink = Sink()
        worker = CameraWorker(
            camera_config(vcam.stream_url), ShapeEstimator(), sink, limiter=SessionLimiter()
        )
        worker.start()
        try:
            sink.wait_for(
                lambda o: isinstance(o, DeviceHealth) and "reason=open_failed" in o.detail, 20
            )
        finally:
            worker.stop()
    assert worker.capture is not None and worker.capture.opens == 0


def test_a_hung_stream_is_a_stall_reported_offline_then_reopened(
    plain_camera: VirtualCamera,
) -> None:
    cam = camera_config(plain_camera.stream_url, stall_s=1.0)
    sink = Sink()
    worker = CameraWorker(cam, ShapeEstimator(), sink, limiter=SessionLimiter())
    with structlog.testing.capture_logs() as logs:
        worker.start()
        try:
            sink.wait_for(health(True), 20)
            plain_camera.server.hold()  # connection open, no more frames
            # offline, and the stalled session dropped (not merely an old frame)
            down = sink.wait_for(
                lambda o: health(False)(o) and state_of(o) != CaptureState.STREAMING.value, 10
            )
            plain_camera.server.resume()
            sink.wait_for(health(True), 20)
        finally:
            plain_camera.server.resume()
            worker.stop()
    assert isinstance(down, DeviceHealth) and "offline_for_s=" in down.detail
    assert any(e["event"] == "capture.stream_lost" for e in logs)
    assert worker.capture is not None and worker.capture.opens >= 2


def test_session_limit_per_host(plain_camera: VirtualCamera) -> None:
    limiter = SessionLimiter()
    sinks = [Sink(), Sink()]
    workers = [
        CameraWorker(
            camera_config(plain_camera.stream_url, max_sessions=1).model_copy(
                update={"id": f"cam-{i}"}
            ),
            ShapeEstimator(),
            sink,
            limiter=limiter,
        )
        for i, sink in enumerate(sinks)
    ]
    for w in workers:
        w.start()
    try:
        first = sinks[0].wait_for(health(True), 20)
        waiting = [
            sinks[1].wait_for(
                lambda o: (
                    isinstance(o, DeviceHealth)
                    and state_of(o) == CaptureState.WAITING_SESSION.value
                ),
                10,
            )
            for _ in range(3)  # health every 0.5 s: the second camera waits for over a second
        ]
        peak = plain_camera.server.max_stream_clients
    finally:
        for w in workers:
            w.stop()
    assert isinstance(first, DeviceHealth)
    assert not any(isinstance(w, DeviceHealth) and w.online for w in waiting)
    assert peak == 1
