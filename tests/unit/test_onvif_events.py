"""Pure interpretation of ONVIF notifications: topics, values, times, observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras.onvif_events import (
    CameraEvent,
    EventKind,
    event_time,
    interpret,
    renewal_delay,
    strip_topic,
    to_observations,
)
from cameras.onvif_models import Notification, SimpleItem
from gateway.observations import DeviceHealth, PeopleCount

NOW = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
SKEW = timedelta(seconds=120)  # camera clock runs 2 minutes ahead


def note(
    topic: str,
    data: dict[str, str],
    *,
    rule: str | None = None,
    at: datetime | None = NOW + SKEW,
    operation: str | None = "Changed",
) -> Notification:
    source: tuple[SimpleItem, ...] = (SimpleItem("VideoSourceConfigurationToken", "vsc1"),)
    if rule is not None:
        source += (SimpleItem("Rule", rule),)
    return Notification(
        topic=topic,
        utc_time=at,
        operation=operation,
        source=source,
        data=tuple(SimpleItem(k, v) for k, v in data.items()),
    )


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("tns1:RuleEngine/CellMotionDetector/Motion", "RuleEngine/CellMotionDetector/Motion"),
        ("  tns1:VideoSource/MotionAlarm\n", "VideoSource/MotionAlarm"),
        ("ns0:RuleEngine/tnsaxis:Counting/x", "RuleEngine/Counting/x"),
        ("VideoSource//SignalLoss", "VideoSource/SignalLoss"),
    ],
)
def test_strip_topic(topic: str, expected: str) -> None:
    assert strip_topic(topic) == expected


@pytest.mark.parametrize(
    ("topic", "data", "kind", "active", "count"),
    [
        ("tns1:VideoSource/MotionAlarm", {"State": "true"}, EventKind.MOTION, True, None),
        ("tns1:VideoSource/MotionAlarm", {"State": "false"}, EventKind.MOTION, False, None),
        (
            "tns1:RuleEngine/CellMotionDetector/Motion",
            {"IsMotion": "1"},
            EventKind.MOTION,
            True,
            None,
        ),
        (
            "tns1:RuleEngine/TamperDetector/Tamper",
            {"IsTamper": "true"},
            EventKind.TAMPER,
            True,
            None,
        ),
        (
            "tns1:VideoSource/GlobalSceneChange/ImagingService",
            {"State": "true"},
            EventKind.TAMPER,
            True,
            None,
        ),
        ("tns1:VideoSource/SignalLoss", {"State": "true"}, EventKind.VIDEO_LOSS, True, None),
        ("tns1:RuleEngine/CountAggregation/Counter", {"Count": "23"}, EventKind.COUNT, None, 23),
        ("tns1:RuleEngine/ObjectDetector/Count", {"ObjectCount": "4"}, EventKind.COUNT, None, 4),
        # a vendor renamed the only data item
        ("tns1:RuleEngine/CountAggregation/Counter", {"Value": "7"}, EventKind.COUNT, None, 7),
        ("tns1:RuleEngine/CountAggregation/Counter", {"Count": "3.0"}, EventKind.COUNT, None, 3),
    ],
)
def test_interpret_known_topics(
    topic: str, data: dict[str, str], kind: EventKind, active: bool | None, count: int | None
) -> None:
    event = interpret(note(topic, data, rule="r1"), NOW, SKEW)
    assert event is not None
    assert (event.kind, event.active, event.count, event.rule) == (kind, active, count, "r1")
    assert event.at == NOW  # corrected by the clock offset


@pytest.mark.parametrize(
    ("topic", "data"),
    [
        ("tns1:Device/Trigger/DigitalInput", {"LogicalState": "true"}),  # not ours
        ("tns1:VideoSource/MotionAlarm", {"State": "maybe"}),  # not a boolean
        ("tns1:RuleEngine/CountAggregation/Counter", {"Count": "-2"}),
        ("tns1:RuleEngine/CountAggregation/Counter", {"Count": "lots"}),
        ("tns1:RuleEngine/CountAggregation/Counter", {"Count": "nan"}),
        ("tns1:RuleEngine/CountAggregation/Counter", {}),
    ],
)
def test_interpret_ignores_what_it_cannot_use(topic: str, data: dict[str, str]) -> None:
    assert interpret(note(topic, data), NOW, SKEW) is None


def test_initialized_states_are_marked() -> None:
    event = interpret(
        note("tns1:VideoSource/MotionAlarm", {"State": "false"}, operation="Initialized"),
        NOW,
        SKEW,
    )
    assert event is not None and event.initial


@pytest.mark.parametrize(
    ("camera_time", "expected"),
    [
        (NOW + SKEW, NOW),
        (NOW + SKEW - timedelta(seconds=3), NOW - timedelta(seconds=3)),
        (None, NOW),
        (datetime(1970, 1, 1, tzinfo=UTC), NOW),  # camera clock never set
        (datetime(2026, 12, 1, 9, 0, 0), NOW),  # naive: no zone, not trusted
        (NOW + timedelta(hours=5), NOW),
    ],
)
def test_event_time(camera_time: datetime | None, expected: datetime) -> None:
    assert event_time(camera_time, NOW, SKEW) == expected


def test_counts_of_mapped_rules_become_people_counts() -> None:
    event = CameraEvent(EventKind.COUNT, NOW, count=12, rule="Lobby queue")
    [obs] = to_observations(event, "cam-1", {"Lobby queue": "waiting"}, 0.8)
    assert obs == PeopleCount("waiting", "cam-1/onvif", 12, NOW, 0.8)


@pytest.mark.parametrize(
    ("rule", "rules", "zone"),
    [
        ("other", {"Lobby queue": "waiting"}, None),  # unmapped rule: dropped
        (None, {"Lobby queue": "waiting"}, "waiting"),  # one mapping, no rule name
        (None, {"a": "waiting", "b": "entrance"}, None),  # ambiguous
        ("b", {"a": "waiting", "b": "entrance"}, "entrance"),
        ("a", {}, None),
    ],
)
def test_count_zone_mapping(rule: str | None, rules: dict[str, str], zone: str | None) -> None:
    obs = to_observations(CameraEvent(EventKind.COUNT, NOW, count=1, rule=rule), "c", rules, 1)
    assert [o.zone_id for o in obs if isinstance(o, PeopleCount)] == ([zone] if zone else [])


@pytest.mark.parametrize(
    ("kind", "active", "online", "detail"),
    [
        (EventKind.MOTION, True, True, "motion"),
        (EventKind.MOTION, False, True, "motion_cleared"),
        (EventKind.TAMPER, True, True, "tampered"),
        (EventKind.TAMPER, False, True, "tamper_cleared"),
        (EventKind.VIDEO_LOSS, True, False, "video_lost"),
        (EventKind.VIDEO_LOSS, False, True, "video_restored"),
    ],
)
def test_states_become_device_health(
    kind: EventKind, active: bool, online: bool, detail: str
) -> None:
    [obs] = to_observations(CameraEvent(kind, NOW, active=active), "cam-1", {}, 0.8)
    assert isinstance(obs, DeviceHealth)
    assert (obs.device_id, obs.online, obs.detail, obs.at) == ("cam-1", online, detail, NOW)


@pytest.mark.parametrize(
    ("granted", "requested", "delay"),
    [
        (timedelta(seconds=60), 60, 48.0),
        (timedelta(seconds=30), 60, 24.0),  # the camera granted less
        (None, 60, 48.0),
        (timedelta(0), 60, 48.0),  # nonsense: fall back to what we asked
        (timedelta(seconds=-5), 60, 48.0),
        (timedelta(days=365), 60, 48.0),
        (timedelta(seconds=2), 60, 5.0),  # never hammer the camera
    ],
)
def test_renewal_delay(granted: timedelta | None, requested: float, delay: float) -> None:
    assert renewal_delay(granted, timedelta(seconds=requested)) == pytest.approx(delay)


@given(st.text(max_size=20))
def test_count_parsing_never_yields_a_negative_or_crashes(value: str) -> None:
    event = interpret(note("tns1:RuleEngine/CountAggregation/Counter", {"Count": value}), NOW, SKEW)
    assert event is None or (event.count is not None and 0 <= event.count <= 1_000_000)


@given(st.timedeltas(min_value=timedelta(hours=-2), max_value=timedelta(hours=2)))
def test_any_plausible_skew_is_undone(skew: timedelta) -> None:
    assert event_time(NOW + skew, NOW, skew) == NOW
