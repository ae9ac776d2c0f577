"""ONVIF event states never mask the stream's health, and still raise their alerts.

The capture worker reports DeviceHealth(camera id) for the stream; the ONVIF
event loop reports motion, tamper and video loss under the same camera id
(cameras/onvif_events.to_observations). The floor model treats those as
sticky, detail-only states: a ``video_restored`` does not report a camera
online whose stream is down, and a ``video_lost`` keeps the camera offline
(alert, counts unusable) whatever the stream's next periodic report says.
"""

from __future__ import annotations

import pytest

from cameras.onvif_events import CameraEvent, EventKind, to_observations
from gateway.alert_rules import device_conditions
from gateway.floor_model import FloorModel
from gateway.observations import DeviceHealth, DeviceKind, Observation, PeopleCount
from gateway.settings import AlertRules
from tests.unit.test_floor_model import at, demo, rules_of

CAM = "cam-f2-hall"  # the demo's hall camera: ROIs f2-waiting and f2-counters


def onvif(kind: EventKind, active: bool, s: float) -> Observation:
    """The observation the ONVIF event loop emits for a state change."""
    (obs,) = to_observations(CameraEvent(kind, at(s), active=active), CAM, {}, 0.8)
    return obs


def stream(online: bool, s: float, detail: str) -> DeviceHealth:
    return DeviceHealth(CAM, DeviceKind.CAMERA, online, at(s), detail, fps=2.0 if online else None)


def test_video_restored_does_not_report_an_offline_stream_online() -> None:
    m = FloorModel(demo(), start=at(0))
    m.apply(onvif(EventKind.VIDEO_LOSS, True, 0))
    down = stream(False, 1, "connection refused")
    m.apply(down)
    m.apply(onvif(EventKind.VIDEO_LOSS, False, 2))  # the camera's own input is back
    assert m.state.devices[CAM] is down
    m.evaluate(at(3))
    conditions = m.conditions(at(3), spool_fill=0.0, spool_warn=0.5)
    (offline,) = [c for c in conditions if c.key == f"camera_offline:{CAM}"]
    assert "connection refused" in offline.message


@pytest.mark.parametrize(
    ("kind", "active"),
    [
        (EventKind.MOTION, True),
        (EventKind.MOTION, False),
        (EventKind.TAMPER, False),
        (EventKind.VIDEO_LOSS, False),
        (EventKind.VIDEO_LOSS, True),
    ],
)
def test_no_onvif_event_state_replaces_the_streams_report(kind: EventKind, active: bool) -> None:
    m = FloorModel(demo(), start=at(0))
    down = stream(False, 0, "stalled: no frame for 12 s")
    m.apply(down)
    m.apply(onvif(kind, active, 1))
    assert m.state.devices[CAM] is down


def test_video_loss_is_sticky_raises_offline_and_makes_the_counts_unusable() -> None:
    m = FloorModel(demo(), start=at(0))
    m.apply(stream(True, 0, "state=streaming"))
    m.apply(PeopleCount("f2-waiting", CAM, 40, at(0)))
    assert {s.zone_id: s for s in m.evaluate(at(1))}["f2-waiting"].method == "camera"
    m.apply(onvif(EventKind.VIDEO_LOSS, True, 2))
    m.apply(stream(True, 3, "state=streaming"))  # the stream's periodic report: still frames
    m.apply(PeopleCount("f2-waiting", CAM, 0, at(3)))  # of a blue "no signal" screen
    assert {s.zone_id: s for s in m.evaluate(at(4))}["f2-waiting"].method != "camera"
    assert f"camera_offline:{CAM}" in rules_of(m, at(4))
    m.apply(onvif(EventKind.VIDEO_LOSS, False, 5))
    m.apply(PeopleCount("f2-waiting", CAM, 38, at(5)))
    assert {s.zone_id: s for s in m.evaluate(at(6))}["f2-waiting"].method == "camera"
    assert f"camera_offline:{CAM}" not in rules_of(m, at(6))


def test_tamper_still_raises_over_a_healthy_stream() -> None:
    m = FloorModel(demo(), start=at(0))
    m.apply(stream(True, 0, "state=streaming"))
    m.apply(onvif(EventKind.TAMPER, True, 1))
    m.apply(stream(True, 2, "state=streaming"))
    m.evaluate(at(3))
    assert f"camera_tampered:{CAM}" in rules_of(m, at(3))


@pytest.mark.parametrize(
    ("health", "video_lost", "expected"),
    [
        (DeviceHealth("c", DeviceKind.CAMERA, True, at(0), "state=streaming"), True, "video_lost"),
        (DeviceHealth("c", DeviceKind.CAMERA, False, at(0), "refused"), True, "refused"),
        (DeviceHealth("c", DeviceKind.CAMERA, True, at(0), "state=streaming"), False, None),
    ],
)
def test_video_lost_cameras_count_as_offline(
    health: DeviceHealth, video_lost: bool, expected: str | None
) -> None:
    out = device_conditions([health], AlertRules(), at(0), video_lost={"c"} if video_lost else ())
    assert [(c.rule, c.message.split(": ", 1)[1].split(" ")[0]) for c in out] == (
        [("camera_offline", expected)] if expected else []
    )
