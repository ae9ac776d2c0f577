"""Camera health against the real GStreamer RTSP server and a snapshot endpoint:
RTSP down with the snapshot fallback on -> degraded (reason, alert, lower confidence);
snapshots gone too -> offline (reason, alert); the stream back -> streaming, each with
the right fps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cameras.capture import SessionLimiter
from cameras.simulator.scene import SceneRoi
from cameras.simulator.virtual_camera import VirtualCamera
from cameras.worker import DEGRADED_CONFIDENCE, CameraWorker
from gateway.alert_rules import device_conditions
from gateway.observations import DeviceHealth, Observation, PeopleCount
from gateway.peers.rtsp import RtspServer
from gateway.settings import AlertRules
from tests.integration.capture_support import (
    ShapeEstimator,
    Sink,
    camera_config,
    in_status,
)
from tests.peers.rtsp import RTSP_PASSWORD, RTSP_USERNAME, VIRTUAL_ROI_POLYGON

pytestmark = pytest.mark.integration
SNAPSHOT_S = 0.25


def rules(d: Observation) -> list[str]:
    assert isinstance(d, DeviceHealth)
    return [c.rule for c in device_conditions([d], AlertRules(), d.at)]


def measured(status: str) -> Callable[[Observation], bool]:
    """A report of that status whose frame rate is already measured."""
    seen = in_status(status)
    return lambda o: seen(o) and isinstance(o, DeviceHealth) and o.fps is not None


def test_degraded_offline_and_back_to_streaming(rtsp_server: RtspServer) -> None:
    roi = SceneRoi("waiting", VIRTUAL_ROI_POLYGON)
    snapshots = VirtualCamera([roi], lambda _t: {"waiting": 4}, fps=10)
    snapshots.start()
    cam = camera_config(
        rtsp_server.url,
        username=RTSP_USERNAME,
        password=RTSP_PASSWORD,
        snapshot_uri=snapshots.snapshot_url,
        snapshot_after_failures=1,
        snapshot_interval_s=SNAPSHOT_S,
        stream_retry_s=2.0,
        stall_s=2.0,
    )
    sink = Sink()
    worker = CameraWorker(cam, ShapeEstimator(), sink, limiter=SessionLimiter())
    worker.start()
    try:
        up = sink.wait_for(measured("streaming"), 30)
        assert isinstance(up, DeviceHealth) and up.online and up.fps is not None
        assert up.fps == pytest.approx(rtsp_server.fps, rel=0.2)
        assert rules(up) == []
        streamed = sink.wait_for(lambda o: isinstance(o, PeopleCount), 10)

        rtsp_server.stop()
        degraded = sink.wait_for(measured("degraded"), 30)
        assert isinstance(degraded, DeviceHealth) and degraded.online
        assert "mode=snapshot" in degraded.detail
        assert "reason=" in degraded.detail and "counting from snapshots" in degraded.detail
        # polled, not streamed: never faster than the poll interval
        assert degraded.fps is not None and 0 < degraded.fps <= 1.1 / SNAPSHOT_S
        assert rules(degraded) == ["camera_degraded"]
        lowered = sink.wait_for(lambda o: isinstance(o, PeopleCount), 10)
        assert isinstance(lowered, PeopleCount) and isinstance(streamed, PeopleCount)
        assert lowered.confidence == pytest.approx(streamed.confidence * DEGRADED_CONFIDENCE)

        snapshots.stop()
        offline = sink.wait_for(in_status("offline"), 30)
        assert isinstance(offline, DeviceHealth) and not offline.online and offline.fps == 0.0
        assert "reason=" in offline.detail and ";" in offline.detail  # a reason, and advice
        assert rules(offline) in (["camera_offline"], ["camera_stalled"])

        rtsp_server.start()
        back = sink.wait_for(measured("streaming"), 60)
        assert isinstance(back, DeviceHealth) and back.online and back.fps is not None
        assert back.fps == pytest.approx(rtsp_server.fps, rel=0.2)
        assert "reason=" not in back.detail and rules(back) == []
    finally:
        worker.stop()
        snapshots.stop()
