"""gateway.fleet.messages: subjects, message ids and payloads, from literal records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.fleet.messages import (
    MSG_ID_HEADER,
    FleetKind,
    FleetSubjects,
    alert_message,
    device_message,
    loads,
    message_for,
    site_permissions,
    zone_message,
)
from gateway.live import (
    Alert,
    AlertState,
    LiveEvent,
    LiveEventKind,
    Severity,
    SourceReading,
    ZoneClimateState,
    ZoneState,
)
from gateway.observations import DeviceHealth, DeviceKind
from gateway.settings import CrowdLevel

AT = datetime(2026, 3, 9, 2, 15, 30, 250000, tzinfo=UTC)  # 09:15:30.25 in Hà Nội
SUBJECTS = FleetSubjects("floorwatch", "ha-noi", "phuong-ba-dinh")


def zone(updated_at: datetime = AT, occupancy: int = 42) -> ZoneState:
    return ZoneState(
        "waiting",
        "f1",
        "Khu chờ",
        occupancy,
        100,
        occupancy / 100,
        0.35,
        "B",
        CrowdLevel.BUSY,
        "camera",
        0.9,
        (SourceReading("cam-1", "camera", 42.0, AT, True, 0.9, True),),
        False,
        ZoneClimateState(at=AT, temperature_c=27.5),
        7,
        540.0,
        updated_at,
    )


def alert(state: AlertState = AlertState.ACTIVE, updated_at: datetime = AT) -> Alert:
    return Alert(
        id="crowd_level-waiting",
        rule="crowd_level",
        severity=Severity.WARNING,
        state=state,
        zone_id="waiting",
        device_id=None,
        message="Waiting is crowded",
        value=0.85,
        threshold=0.8,
        raised_at=AT,
        updated_at=updated_at,
        subject="waiting",
    )


def test_subjects_end_in_the_kind_under_province_and_site() -> None:
    assert SUBJECTS.subject(FleetKind.ZONE) == "floorwatch.ha-noi.phuong-ba-dinh.zone"
    assert SUBJECTS.subject(FleetKind.ALERT) == "floorwatch.ha-noi.phuong-ba-dinh.alert"
    assert SUBJECTS.subject(FleetKind.DEVICE) == "floorwatch.ha-noi.phuong-ba-dinh.device"
    assert SUBJECTS.site_wildcard == "floorwatch.ha-noi.phuong-ba-dinh.>"
    assert SUBJECTS.province_wildcard == "floorwatch.ha-noi.>"


def test_parse_reads_back_a_subject_and_refuses_others() -> None:
    assert SUBJECTS.parse("floorwatch.ha-noi.xa-dong-anh.alert") == (
        "ha-noi",
        "xa-dong-anh",
        FleetKind.ALERT,
    )
    assert SUBJECTS.parse("floorwatch.ha-noi.xa-dong-anh.weather") is None
    assert SUBJECTS.parse("other.ha-noi.xa-dong-anh.zone") is None
    assert SUBJECTS.parse("floorwatch.ha-noi.zone") is None


@pytest.mark.parametrize(
    ("prefix", "province", "site"),
    [("floorwatch", "ha.noi", "s"), ("floorwatch", "p", "s*"), ("a>", "p", "s"), ("f", "", "s")],
)
def test_a_part_that_is_not_a_subject_token_is_refused(
    prefix: str, province: str, site: str
) -> None:
    with pytest.raises(ValueError, match="not a NATS subject token"):
        FleetSubjects(prefix, province, site)


def test_zone_message_subject_id_and_payload() -> None:
    m = zone_message(SUBJECTS, zone())
    assert m.subject == "floorwatch.ha-noi.phuong-ba-dinh.zone"
    assert (
        m.msg_id == "floorwatch.ha-noi.phuong-ba-dinh:zone:waiting:2026-03-09T02:15:30.250000+00:00"
    )
    assert m.headers == {MSG_ID_HEADER: m.msg_id}
    body = json.loads(m.payload)
    assert body["v"] == 1
    assert (body["province"], body["site"], body["kind"]) == ("ha-noi", "phuong-ba-dinh", "zone")
    assert body["zone"]["name"] == "Khu chờ"
    assert body["zone"]["level"] == "busy"
    assert body["zone"]["occupancy"] == 42
    assert body["zone"]["updated_at"] == "2026-03-09T02:15:30.250000+00:00"
    assert body["zone"]["sources"][0]["source_id"] == "cam-1"
    assert body["zone"]["climate"]["temperature_c"] == 27.5
    assert "Khu chờ".encode() in m.payload  # UTF-8, not \\u escapes


def test_the_same_state_sent_again_has_the_same_id_a_newer_one_another() -> None:
    first = zone_message(SUBJECTS, zone())
    assert zone_message(SUBJECTS, zone()) == first
    assert zone_message(SUBJECTS, zone(AT + timedelta(seconds=1))).msg_id != first.msg_id
    other_site = FleetSubjects("floorwatch", "ha-noi", "xa-dong-anh")
    assert zone_message(other_site, zone()).msg_id != first.msg_id


def test_the_id_is_the_instant_whatever_the_offset_it_is_written_in() -> None:
    hanoi = AT.astimezone(timezone(timedelta(hours=7)))
    assert zone_message(SUBJECTS, zone(hanoi)).msg_id == zone_message(SUBJECTS, zone()).msg_id


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        zone_message(SUBJECTS, zone(datetime(2026, 3, 9, 9, 15)))  # noqa: DTZ001


def test_alert_message_carries_the_transition_in_id_and_payload() -> None:
    raised = alert_message(SUBJECTS, alert(), "raised")
    later = AT + timedelta(minutes=3)
    acked = alert_message(SUBJECTS, alert(AlertState.ACKNOWLEDGED, later), "acknowledged")
    assert raised.subject == acked.subject == "floorwatch.ha-noi.phuong-ba-dinh.alert"
    assert raised.msg_id == (
        "floorwatch.ha-noi.phuong-ba-dinh:alert:crowd_level-waiting:raised:"
        "2026-03-09T02:15:30.250000+00:00"
    )
    assert acked.msg_id != raised.msg_id
    body = json.loads(acked.payload)
    assert body["kind"] == "alert"
    assert body["transition"] == "acknowledged"
    assert body["alert"]["state"] == "acknowledged"
    assert body["alert"]["severity"] == "warning"
    assert body["alert"]["resolved_at"] is None


@pytest.mark.parametrize("transition", ["", "raised:x"])
def test_a_bad_transition_is_refused(transition: str) -> None:
    with pytest.raises(ValueError, match="transition"):
        alert_message(SUBJECTS, alert(), transition)


def test_device_message() -> None:
    health = DeviceHealth("cam-1", DeviceKind.CAMERA, False, AT, detail="no frames", fps=0.0)
    m = device_message(SUBJECTS, health)
    assert m.subject == "floorwatch.ha-noi.phuong-ba-dinh.device"
    assert (
        m.msg_id == "floorwatch.ha-noi.phuong-ba-dinh:device:cam-1:2026-03-09T02:15:30.250000+00:00"
    )
    body = json.loads(m.payload)
    assert body["device"] == {
        "device_id": "cam-1",
        "kind": "camera",
        "online": False,
        "at": "2026-03-09T02:15:30.250000+00:00",
        "detail": "no frames",
        "battery_pct": None,
        "linkquality": None,
        "fps": 0.0,
        "latency_ms": None,
    }


def test_message_for_each_live_event_kind() -> None:
    z = LiveEvent(1, LiveEventKind.ZONE, AT, zone=zone())
    a = LiveEvent(2, LiveEventKind.ALERT, AT, alert=alert(), transition="raised")
    d = LiveEvent(
        3, LiveEventKind.DEVICE, AT, device=DeviceHealth("s1", DeviceKind.SENSOR, True, AT)
    )
    assert message_for(SUBJECTS, z) == zone_message(SUBJECTS, zone())
    assert message_for(SUBJECTS, a) == alert_message(SUBJECTS, alert(), "raised")
    found = message_for(SUBJECTS, d)
    assert found is not None
    assert found.subject.endswith(".device")
    # an event without its record (or an alert without its transition) has no message
    assert message_for(SUBJECTS, LiveEvent(4, LiveEventKind.ZONE, AT)) is None
    assert message_for(SUBJECTS, LiveEvent(5, LiveEventKind.ALERT, AT, alert=alert())) is None


def test_a_sites_permissions_are_its_own_subjects_and_its_stream() -> None:
    perms = site_permissions(SUBJECTS, "FLOORWATCH", create=False)
    assert perms.publish == (
        "floorwatch.ha-noi.phuong-ba-dinh.>",
        "$JS.API.STREAM.INFO.FLOORWATCH",
    )
    assert perms.subscribe == ("_INBOX.ha-noi.phuong-ba-dinh.>",)
    assert SUBJECTS.inbox_prefix == "_INBOX.ha-noi.phuong-ba-dinh"
    creating = site_permissions(SUBJECTS, "FLOORWATCH", create=True)
    assert creating.publish[-1] == "$JS.API.STREAM.CREATE.FLOORWATCH"
    with pytest.raises(ValueError, match="not a NATS subject token"):
        site_permissions(SUBJECTS, "FLOOR.*", create=False)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"count": 18446744073709551615}',  # 2**64 - 1: orjson's own integer
        b'{"count": 18446744073709551616}',  # 2**64: orjson would give a float
        b'{"count": 123456789012345678901234}',
        b'{"count": -9223372036854775809}',  # below -2**63 with 19 digits
        b'{"count": -9223372036854775808, "at": "2026-12-06T09:00:00+07:00"}',
        b'{"count": 1234567890123456789.5}',  # 19 digits before a fraction: a float either way
        b'{"v": NaN}',  # orjson refuses, json reads it
        b'["a", 1, 2.5, null, true, {"b": [1, 2]}]',
    ],
)
def test_loads_reads_what_json_reads(payload: bytes) -> None:
    got, want = loads(payload), json.loads(payload)
    assert repr(got) == repr(want)  # repr: an int stays an int, NaN compares as itself


def test_loads_refuses_what_json_refuses() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        loads(b'{"count": 1,}')
