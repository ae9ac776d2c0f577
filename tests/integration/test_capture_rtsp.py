"""Capture from a real RTSP server (GStreamer): stop and restart mid-stream, recovery, health."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from cameras.capture import Capture, CaptureSources, SessionLimiter
from cameras.capture_core import CaptureState
from cameras.worker import CameraWorker
from gateway.observations import DeviceHealth, PeopleCount
from gateway.peers.rtsp import RtspServer
from gateway.settings import CameraRoi
from tests.integration.capture_support import (
    ShapeEstimator,
    Sink,
    assert_no_secret,
    camera_config,
    counted,
    health,
)
from tests.peers.rtsp import RTSP_PASSWORD, RTSP_USERNAME, VIRTUAL_ROI_POLYGON

pytestmark = pytest.mark.integration


def test_rtsp_restart_mid_stream_recovers_and_health_reports_the_outage(
    rtsp_server: RtspServer, capfd: pytest.CaptureFixture[str]
) -> None:
    cam = camera_config(rtsp_server.url, username=RTSP_USERNAME, password=RTSP_PASSWORD)
    sink = Sink()
    estimator = ShapeEstimator()
    worker = CameraWorker(cam, estimator, sink, limiter=SessionLimiter())
    with structlog.testing.capture_logs() as logs:
        worker.start()
        try:
            up = sink.wait_for(health(True), 30)
            first = sink.wait_for(counted, 10)
            assert isinstance(first, PeopleCount) and first.source_id == "cam-test"
            assert isinstance(up, DeviceHealth) and "resolution=640x480" in up.detail

            rtsp_server.stop()  # mid-stream
            down = sink.wait_for(health(False), 15)
            assert isinstance(down, DeviceHealth)
            assert "offline_for_s=" in down.detail and down.fps == 0.0

            rtsp_server.start()  # same port: the capture finds it again by itself
            back = sink.wait_for(health(True), 30)
            sink.wait_for(counted, 10)
        finally:
            worker.stop()
    assert isinstance(back, DeviceHealth) and "mode=rtsp" in back.detail
    assert worker.capture is not None and worker.capture.opens >= 2
    assert estimator.shapes and set(estimator.shapes) == {(480, 640, 3)}
    lost = [e for e in logs if e["event"] == "capture.stream_lost"]
    assert lost and lost[0]["reason"] == "stream_ended"  # the server closed it: no stall
    assert any(e["event"] == "capture.recovered" for e in logs)
    assert_no_secret(logs, capfd.readouterr(), RTSP_PASSWORD)


def test_rtsp_wrong_password_is_offline_with_a_reason_and_no_secret_logged(
    rtsp_server: RtspServer, capfd: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-p@ssword"
    cam = camera_config(rtsp_server.url, username=RTSP_USERNAME, password=wrong)
    sink = Sink()
    worker = CameraWorker(cam, ShapeEstimator(), sink, limiter=SessionLimiter())
    with structlog.testing.capture_logs() as logs:
        worker.start()
        try:
            sink.wait_for(
                lambda o: (
                    isinstance(o, DeviceHealth)
                    and not o.online
                    and "reason=open_failed" in o.detail
                ),
                30,
            )
        finally:
            worker.stop()
    assert worker.capture is not None and worker.capture.opens == 0
    assert not any(isinstance(o, PeopleCount) for o in sink.seen)
    assert any(e["event"] == "capture.open_failed" for e in logs)
    assert_no_secret(logs, capfd.readouterr(), wrong, RTSP_PASSWORD)


def test_rtsp_through_the_real_estimator(rtsp_server: RtspServer) -> None:
    """The counting estimator of cameras.estimators plugs into the worker as it is."""
    from cameras.estimators import build_estimator

    cam = camera_config(rtsp_server.url, username=RTSP_USERNAME, password=RTSP_PASSWORD)
    cam = cam.model_copy(
        update={"rois": [CameraRoi(zone="waiting", polygon=list(VIRTUAL_ROI_POLYGON), area_m2=40)]}
    )
    sink = Sink()
    worker = CameraWorker(cam, build_estimator(cam, {}), sink, limiter=SessionLimiter())
    worker.start()
    try:
        counts = [sink.wait_for(counted, 30) for _ in range(3)]
    finally:
        worker.stop()
    for c in counts:
        assert isinstance(c, PeopleCount) and c.zone_id == "waiting"
        assert c.source_id == "cam-test" and 0 <= c.confidence <= 1 and c.count >= 0
    assert worker.stats.estimate_errors == 0


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_pattern_server_both_transports_and_restart_keeps_the_port(
    tmp_path: Path, transport: str
) -> None:
    with RtspServer(tmp_path) as server:  # no source: GStreamer's test pattern
        port = server.port
        server.restart()
        assert server.running and server.port == port
        cfg = camera_config(server.url, transport=transport).capture
        capture = Capture("cam-pattern", cfg, CaptureSources(server.url), limiter=SessionLimiter())
        capture.start()
        try:
            frame = capture.next_frame(0, timeout_s=20)
            newer = capture.next_frame(frame.seq if frame else 0, timeout_s=5)
        finally:
            capture.stop()
    assert frame is not None and frame.image.shape == (480, 640, 3)
    assert newer is not None and newer.seq > frame.seq and newer.monotonic >= frame.monotonic
    assert capture.health().state == CaptureState.STOPPED
