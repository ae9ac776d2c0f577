"""ONVIF event notifications -> camera events -> observations. Pure module.

Cameras name the same thing differently: motion arrives as
``VideoSource/MotionAlarm`` (State) or ``RuleEngine/CellMotionDetector/Motion``
(IsMotion), tampering as ``RuleEngine/TamperDetector/Tamper`` or
``VideoSource/GlobalSceneChange/*``, counting results of on-camera analytics
(ONVIF Profile M) as ``RuleEngine/CountAggregation/Counter`` and friends with
a ``Count`` item, a person crossing a line as ``RuleEngine/LineDetector/Crossed``
(a pulse with an ``ObjectId``). This module folds them into a few
``CameraEvent`` kinds and then into the gateway's observations: a counting rule
mapped to a zone gives PeopleCount, a rule mapped to a door (crossing_rules)
gives DoorTraffic. The camera's timestamps are on the
camera's clock: they are corrected by the measured clock offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol, TypeVar

from cameras.onvif_models import Notification
from gateway.observations import (
    CAMERA_EVENTS,
    DeviceHealth,
    DeviceKind,
    DoorTraffic,
    Observation,
    PeopleCount,
)

_T = TypeVar("_T")


class EventKind(StrEnum):
    MOTION = "motion"
    TAMPER = "tamper"
    VIDEO_LOSS = "video_loss"
    COUNT = "count"
    CROSSING = "crossing"


# topic (prefixes removed; a trailing "/*" matches any sub-topic) -> kind, data item names
_TOPICS: tuple[tuple[str, EventKind, tuple[str, ...]], ...] = (
    ("VideoSource/MotionAlarm", EventKind.MOTION, ("State",)),
    ("RuleEngine/CellMotionDetector/Motion", EventKind.MOTION, ("IsMotion", "State")),
    ("RuleEngine/MotionRegionDetector/Motion", EventKind.MOTION, ("State", "IsMotion")),
    ("RuleEngine/TamperDetector/Tamper", EventKind.TAMPER, ("IsTamper", "State")),
    ("VideoSource/GlobalSceneChange/*", EventKind.TAMPER, ("State",)),
    ("VideoSource/SignalLoss", EventKind.VIDEO_LOSS, ("State",)),
    ("VideoSource/ConnectionFailed", EventKind.VIDEO_LOSS, ("State",)),
    ("RuleEngine/CountAggregation/Counter", EventKind.COUNT, ("Count",)),
    ("RuleEngine/CountAggregation/OccupancyCounter", EventKind.COUNT, ("Count",)),
    ("RuleEngine/ObjectDetector/Count", EventKind.COUNT, ("Count", "ObjectCount")),
    ("RuleEngine/OccupancyCounter/Occupancy", EventKind.COUNT, ("Count", "Occupancy")),
    ("RuleEngine/LineDetector/Crossed", EventKind.CROSSING, ("ObjectId",)),
)
_TRUE = {"true", "1", "active", "on"}
_FALSE = {"false", "0", "inactive", "off"}
_RULE_KEYS = ("Rule", "RuleName")


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """A notification we understood: a state change or a count."""

    kind: EventKind
    at: datetime
    active: bool | None = None
    count: int | None = None
    rule: str | None = None
    initial: bool = False


def strip_topic(topic: str) -> str:
    """``tns1:RuleEngine/tnsaxis:Foo`` -> ``RuleEngine/Foo``; whitespace removed."""
    parts = [p.split(":", 1)[-1] for p in topic.strip().split("/")]
    return "/".join(p for p in parts if p)


def _match(topic: str) -> tuple[EventKind, tuple[str, ...]] | None:
    for pattern, kind, items in _TOPICS:
        if pattern.endswith("/*"):
            prefix = pattern[:-2]
            if topic == prefix or topic.startswith(prefix + "/"):
                return kind, items
        elif topic == pattern:
            return kind, items
    return None


def _parse_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _parse_count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number < 0 or number != number or number > 1_000_000:
        return None
    return int(round(number))


def event_time(
    camera_time: datetime | None,
    received_at: datetime,
    clock_offset: timedelta,
    max_deviation: timedelta = timedelta(minutes=10),
) -> datetime:
    """The camera's timestamp on our clock; receipt time when it is missing or absurd.

    ``clock_offset`` is camera clock minus ours. Cameras without a set clock
    report 1970 or 0000-00-00; a corrected time further than ``max_deviation``
    from receipt is not trusted.
    """
    if camera_time is None or camera_time.tzinfo is None:
        return received_at
    corrected = camera_time - clock_offset
    if abs(corrected - received_at) > max_deviation:
        return received_at
    return corrected


def interpret(
    note: Notification, received_at: datetime, clock_offset: timedelta
) -> CameraEvent | None:
    """The event a notification carries, or None for topics we do not use."""
    matched = _match(strip_topic(note.topic))
    if matched is None:
        return None
    kind, items = matched
    value = next((v for name in items if (v := note.data_value(name)) is not None), None)
    if value is None and len(note.data) == 1:
        value = note.data[0].value  # vendors rename the one data item
    at = event_time(note.utc_time, received_at, clock_offset)
    rule = next((r for key in _RULE_KEYS if (r := note.source_value(key)) is not None), None)
    initial = (note.operation or "").lower() == "initialized"
    if kind is EventKind.CROSSING:
        # a pulse, not a property: an Initialized or Deleted message is no crossing
        if (note.operation or "changed").lower() != "changed":
            return None
        return CameraEvent(kind, at, count=1, rule=rule)
    if kind is EventKind.COUNT:
        count = _parse_count(value)
        if count is None:
            return None
        return CameraEvent(kind, at, count=count, rule=rule, initial=initial)
    active = _parse_bool(value)
    if active is None:
        return None
    return CameraEvent(kind, at, active=active, rule=rule, initial=initial)


# DeviceHealth.detail values for camera events (gateway.observations.CAMERA_EVENTS).
DETAIL = {(EventKind(event), active): detail for detail, (event, active) in CAMERA_EVENTS.items()}


def to_observations(
    event: CameraEvent,
    camera_id: str,
    counting_rules: Mapping[str, str],
    confidence: float,
) -> list[Observation]:
    """Counts of mapped rules -> PeopleCount; state changes -> DeviceHealth.

    A count whose rule is not mapped to a zone is dropped (the caller logs it
    once); a camera with a single counting rule and a single mapping needs no
    rule name in its messages.
    """
    if event.kind is EventKind.COUNT:
        assert event.count is not None  # noqa: S101 -- interpret() guarantees it
        zone = _zone_for(event.rule, counting_rules)
        if zone is None:
            return []
        return [
            PeopleCount(
                zone_id=zone,
                source_id=f"{camera_id}/onvif",
                count=event.count,
                at=event.at,
                confidence=confidence,
            )
        ]
    if event.kind is EventKind.CROSSING:
        return []  # a line means something only through crossing_rules: door_observations()
    assert event.active is not None  # noqa: S101 -- interpret() guarantees it
    online = not (event.kind is EventKind.VIDEO_LOSS and event.active)
    return [
        DeviceHealth(
            device_id=camera_id,
            kind=DeviceKind.CAMERA,
            online=online,
            at=event.at,
            detail=DETAIL[(event.kind, event.active)],
        )
    ]


def _zone_for(rule: str | None, counting_rules: Mapping[str, str]) -> str | None:
    return mapped_rule(rule, counting_rules)


def mapped_rule(rule: str | None, rules: Mapping[str, _T]) -> _T | None:
    """What the configuration maps a message's rule to.

    A message without a rule name goes to the only mapping when there is
    exactly one (cameras with a single analytics rule often leave it out).
    """
    if rule is not None:
        return rules.get(rule)
    if len(rules) == 1:
        return next(iter(rules.values()))
    return None


class DoorRule(Protocol):
    """What a crossing rule counts (gateway.settings.CrossingRule)."""

    @property
    def door(self) -> str: ...

    @property
    def direction(self) -> Literal["entry", "exit"]: ...


def counter_increase(previous: int | None, current: int) -> int:
    """People a cumulative on-camera counter added since its previous value.

    The first value seen (after a start or a resubscription: ``previous`` is
    None) is the baseline and adds nobody: it holds the crossings of hours we
    already counted or never saw. A value lower than the previous one is a
    reset (the camera's reset interval, a reboot): it counted ``current``
    people since.
    """
    if previous is None:
        return 0
    return current - previous if current >= previous else current


def door_observations(
    event: CameraEvent,
    camera_id: str,
    rule: DoorRule,
    previous: int | None,
) -> tuple[list[Observation], int | None]:
    """A crossing rule's event -> DoorTraffic, and the counter value to remember.

    ``LineDetector/Crossed`` is one person through the line; a
    ``CountAggregation/Counter`` total of a line-crossing counting rule adds
    its increase since ``previous`` (see counter_increase). State changes
    (motion and the like) of the rule give nothing here.
    """
    if event.kind is EventKind.CROSSING:
        passed, remembered = 1, previous
    elif event.kind is EventKind.COUNT and event.count is not None:
        passed, remembered = counter_increase(previous, event.count), event.count
    else:
        return [], previous
    if passed == 0:
        return [], remembered
    entry = rule.direction == "entry"
    return [
        DoorTraffic(
            door_id=rule.door,
            source_id=f"{camera_id}/onvif/{event.rule or ''}".rstrip("/"),
            entries=passed if entry else 0,
            exits=0 if entry else passed,
            at=event.at,
        )
    ], remembered


def renewal_delay(granted: timedelta | None, requested: timedelta) -> float:
    """Seconds until a subscription is renewed: at 80 % of what the camera granted.

    ``granted`` is TerminationTime - CurrentTime as the camera reports it (on
    its own clock, so skew cancels out). Cameras that report nonsense (zero,
    negative, or years) fall back to what we asked for; never less than 5 s.
    """
    seconds = requested.total_seconds()
    if granted is not None and 0 < granted.total_seconds() <= 4 * seconds:
        seconds = granted.total_seconds()
    return max(5.0, 0.8 * seconds)
