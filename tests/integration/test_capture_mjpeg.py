"""Capture of HTTP MJPEG from the virtual camera: auth, stall detection, session limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest
import structlog
from numpy.typing import NDArray

from cameras.capture import SessionLimiter
from cameras.capture_core import CaptureState
from cameras.simulator.mjpeg import HttpAuth, MjpegServer
from cameras.simulator.scene import SceneRoi
from cameras.simulator.virtual_camera import VirtualCamera
from cameras.worker import CameraWorker
from gateway.observations import DeviceHealth, PeopleCount
from tests.integration.capture_support import (
    Estimate,
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


def test_mjpeg_without_the_password_is_refused() -> None:
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
    lost = [e for e in logs if e["event"] == "capture.stream_lost"]
    assert lost and lost[0]["reason"] == "stalled"
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


class NumberedFrames:
    """A render function that writes its frame number into the picture (two gray blocks)."""

    def __init__(self) -> None:
        self.rendered = 0

    def __call__(self, _t_s: float) -> NDArray[np.uint8]:
        n = self.rendered
        self.rendered += 1
        image = np.zeros((240, 320, 3), dtype=np.uint8)
        image[:, :160] = (n % 16) * 16 + 8
        image[:, 160:] = (n // 16 % 16) * 16 + 8
        return image

    @staticmethod
    def number(image: NDArray[np.uint8]) -> int:
        low = int(image[120, 80, 0]) // 16
        high = int(image[120, 240, 0]) // 16
        return high * 16 + low


class SlowEstimator:
    """Takes 0.3 s per frame (a heavy detector) and records how many frames behind it is."""

    def __init__(self, frames: NumberedFrames) -> None:
        self.frames = frames
        self.lags: list[int] = []

    def estimate(self, frame: NDArray[np.uint8], at: datetime) -> list[Estimate]:
        newest = (self.frames.rendered - 1) % 256
        self.lags.append((newest - self.frames.number(frame)) % 256)
        time.sleep(0.3)  # stands for CPU work, not a wait of the test
        return [Estimate("waiting", 1, 1.0)]


def test_slow_analysis_takes_the_newest_frame_never_a_backlog() -> None:
    frames = NumberedFrames()
    estimator = SlowEstimator(frames)
    with MjpegServer(frames, fps=10) as server:
        cam = camera_config(server.stream_url, analysis_fps=10)  # more than it can do
        sink = Sink()
        worker = CameraWorker(cam, estimator, sink, limiter=SessionLimiter())
        worker.start()
        try:
            for _ in range(8):  # 8 analyses of 0.3 s while the camera sends 10 fps
                sink.wait_for(counted, 10)
        finally:
            worker.stop()
    # a queue would fall 2 frames further behind with every analysis (16 after 8)
    assert len(estimator.lags) >= 8
    assert max(estimator.lags) <= 3, estimator.lags
    assert worker.capture is not None
