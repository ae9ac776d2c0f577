"""The site heartbeat from literal values: its message and id, its decoding, the fold into
the site document, the page's link and data ages with an injected clock, the uplink's queue."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.fleet.central import merge_site_state, record_lines
from gateway.fleet.messages import (
    FleetDecodeError,
    FleetKind,
    FleetRecord,
    FleetSubjects,
    Heartbeat,
    decode,
    heartbeat_message,
    zone_message,
)
from gateway.fleet.overview import Link, center_row
from gateway.fleet.status import (
    StreamFacts,
    SubjectSeen,
    site_rows,
    status_document,
    status_lines,
)
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent, ZoneClimateState, ZoneState
from gateway.settings import CrowdLevel, FleetConfig

SUBJECTS = FleetSubjects("floorwatch", "hue", "thuan-hoa")
T0 = datetime(2026, 12, 1, 1, 0, 30, tzinfo=UTC)
OFFLINE_AFTER_S = 600.0


def beat(at: datetime, *, uptime_s: float = 3600.0, queue: int = 0) -> Heartbeat:
    return Heartbeat(at, uptime_s, queue, devices_online=8, devices_configured=9)


def record(message_payload: bytes, subject: str) -> FleetRecord:
    return decode("floorwatch", subject, message_payload)


def zone(at: datetime, occupancy: int = 12) -> ZoneState:
    return ZoneState(
        "waiting",
        "f1",
        "Khu chờ",
        occupancy,
        100,
        occupancy / 100,
        0.1,
        "A",
        CrowdLevel.CALM,
        "camera",
        0.9,
        (),
        False,
        ZoneClimateState(),
        None,
        60.0,
        at,
    )


def fold(state: dict[str, Any] | None, *messages: Any) -> dict[str, Any]:
    for m in messages:
        state = merge_site_state(state, record(m.payload, m.subject))
    assert state is not None
    return state


# --------------------------------------------------------------------------- message and id


def test_heartbeat_message_subject_payload_and_bucket_id() -> None:
    m = heartbeat_message(SUBJECTS, beat(T0, queue=3), 60)
    assert m.subject == "floorwatch.hue.thuan-hoa.heartbeat"
    assert m.msg_id == "floorwatch.hue.thuan-hoa:heartbeat:2026-12-01T01:00:00+00:00"
    assert json.loads(m.payload) == {
        "v": 1,
        "province": "hue",
        "site": "thuan-hoa",
        "kind": "heartbeat",
        "heartbeat": {
            "at": "2026-12-01T01:00:30+00:00",
            "uptime_s": 3600.0,
            "queue": 3,
            "devices_online": 8,
            "devices_configured": 9,
        },
    }
    # a resend within the bucket is a duplicate; the next bucket is a new message
    again = heartbeat_message(SUBJECTS, beat(T0 + timedelta(seconds=29), queue=0), 60)
    later = heartbeat_message(SUBJECTS, beat(T0 + timedelta(seconds=30)), 60)
    assert again.msg_id == m.msg_id
    assert later.msg_id == "floorwatch.hue.thuan-hoa:heartbeat:2026-12-01T01:01:00+00:00"
    # the heartbeat's size: the sizing line of docs/fleet.md
    assert len(m.payload) + len(m.subject) + len(m.msg_id) < 300


def test_heartbeat_without_device_counts_and_refusals() -> None:
    m = heartbeat_message(SUBJECTS, Heartbeat(T0, 1.0, 0), 60)
    assert "devices_online" not in json.loads(m.payload)["heartbeat"]
    assert record(m.payload, m.subject).kind is FleetKind.HEARTBEAT
    with pytest.raises(ValueError, match="naive"):
        heartbeat_message(SUBJECTS, Heartbeat(T0.replace(tzinfo=None), 1.0, 0), 60)
    with pytest.raises(ValueError, match="positive"):
        heartbeat_message(SUBJECTS, Heartbeat(T0, 1.0, 0), 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"at": "2026-12-01T01:00:30+00:00", "queue": 0}, "uptime_s"),
        ({"at": "2026-12-01T01:00:30+00:00", "uptime_s": 5, "queue": -1}, "queue"),
        ({"at": "2026-12-01T01:00:30+00:00", "uptime_s": 5, "queue": True}, "queue"),
        (
            {"at": "2026-12-01T01:00:30+00:00", "uptime_s": 5, "queue": 0, "devices_online": 2},
            "device counts",
        ),
        ({"at": "2026-12-01T01:00:30", "uptime_s": 5, "queue": 0}, "time zone"),
    ],
)
def test_decode_refuses_a_bad_heartbeat(body: dict[str, Any], reason: str) -> None:
    payload = {"v": 1, "province": "hue", "site": "thuan-hoa", "kind": "heartbeat"}
    raw = json.dumps({**payload, "heartbeat": body}).encode()
    with pytest.raises(FleetDecodeError, match=reason):
        decode("floorwatch", "floorwatch.hue.thuan-hoa.heartbeat", raw)


# --------------------------------------------------------------------------- central side


def test_heartbeat_writes_no_point_and_folds_into_last_seen_and_heartbeat() -> None:
    hb = heartbeat_message(SUBJECTS, beat(T0 + timedelta(minutes=30)), 60)
    assert record_lines(record(hb.payload, hb.subject)) == []
    state = fold(None, zone_message(SUBJECTS, zone(T0)), hb)
    assert state["last_seen"] == "2026-12-01T01:30:30+00:00"
    assert state["last_data"] == "2026-12-01T01:00:30+00:00"
    assert state["heartbeat"] == {
        "at": "2026-12-01T01:30:30+00:00",
        "uptime_s": 3600.0,
        "queue": 0,
        "devices_online": 8,
        "devices_configured": 9,
    }
    assert "heartbeat" not in state["kinds"]
    # an older heartbeat redelivered late moves nothing back
    old = heartbeat_message(SUBJECTS, beat(T0 + timedelta(minutes=5), queue=7), 60)
    assert fold(state, old) == state


def test_a_document_from_before_heartbeats_keeps_its_data_time() -> None:
    before = {"province": "hue", "site": "thuan-hoa", "last_seen": "2026-12-01T00:50:00+00:00"}
    hb = heartbeat_message(SUBJECTS, beat(T0), 60)
    state = fold(before, hb)
    assert state["last_data"] == "2026-12-01T00:50:00+00:00"
    assert state["last_seen"] == "2026-12-01T01:00:30+00:00"


# --------------------------------------------------------------------------- the page's link


def heartbeats_every_minute(until: datetime) -> list[Any]:
    out, at = [], T0
    while at <= until:
        out.append(heartbeat_message(SUBJECTS, beat(at), 60))
        at += timedelta(seconds=60)
    return out


def test_no_zone_change_for_30_min_but_heartbeats_is_live_with_old_data() -> None:
    last_beat = T0 + timedelta(minutes=30)
    state = fold(None, zone_message(SUBJECTS, zone(T0)), *heartbeats_every_minute(last_beat))
    now = last_beat + timedelta(seconds=20)
    row = center_row("hue.thuan-hoa", state, None, now, OFFLINE_AFTER_S)
    assert row.link is Link.LIVE
    assert row.data_age_s == 30 * 60 + 20
    assert row.link_age_s == 20
    assert row.age_s == 20
    assert "offline" not in row.reasons
    # the same document without its heartbeats: offline, as before the fix
    silent = fold(None, zone_message(SUBJECTS, zone(T0)))
    assert center_row("hue.thuan-hoa", silent, None, now, OFFLINE_AFTER_S).link is Link.OFFLINE


def test_heartbeats_stopped_goes_offline_after_the_threshold() -> None:
    last_beat = T0 + timedelta(minutes=30)
    state = fold(None, zone_message(SUBJECTS, zone(T0)), *heartbeats_every_minute(last_beat))
    at_threshold = last_beat + timedelta(seconds=OFFLINE_AFTER_S)
    row = center_row("hue.thuan-hoa", state, None, at_threshold, OFFLINE_AFTER_S)
    assert row.link is Link.LIVE
    after = at_threshold + timedelta(seconds=1)
    row = center_row("hue.thuan-hoa", state, None, after, OFFLINE_AFTER_S)
    assert row.link is Link.OFFLINE
    assert row.link_age_s == OFFLINE_AFTER_S + 1
    assert row.reasons[0] == "offline"


def test_a_gateway_without_heartbeats_has_no_link_age() -> None:
    state = fold(None, zone_message(SUBJECTS, zone(T0)))
    row = center_row("hue.thuan-hoa", state, None, T0 + timedelta(seconds=5), OFFLINE_AFTER_S)
    assert (row.link, row.data_age_s, row.link_seen, row.link_age_s) == (Link.LIVE, 5, None, None)


def test_fleet_status_counts_heartbeats_and_is_not_silent_with_them() -> None:
    facts = StreamFacts(
        stream="FLOORWATCH",
        subjects=["floorwatch.hue.>"],
        messages=32,
        bytes=9000,
        first_seq=1,
        last_seq=32,
        duplicate_window_s=600,
        seen=[
            SubjectSeen("floorwatch.hue.thuan-hoa.zone", 1, T0),
            SubjectSeen("floorwatch.hue.thuan-hoa.heartbeat", 31, T0 + timedelta(minutes=30)),
        ],
        consumers=[],
    )
    (row,) = site_rows(facts, "floorwatch", T0 + timedelta(minutes=31), 600)
    assert row.messages == {"zone": 1, "heartbeat": 31}
    assert not row.silent
    assert row.heartbeat_at == T0 + timedelta(minutes=30)
    text = status_lines([row], facts, 600)
    assert text[2].endswith("zone 1, heartbeat 31  heartbeat 2026-12-01T01:30:30+00:00")
    assert status_document([row], facts, 600)["sites"][0]["heartbeat_at"] == (
        "2026-12-01T01:30:30+00:00"
    )


# --------------------------------------------------------------------------- the uplink's queue


async def no_events() -> AsyncIterator[LiveEvent]:
    return
    yield  # pragma: no cover


def test_uplink_heartbeat_uses_its_clock_and_keeps_one_waiting() -> None:
    times = iter([T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=120)])
    cfg = FleetConfig(enabled=True, province="hue", queue_size=100)
    uplink = FleetUplink(
        cfg, SUBJECTS, no_events, clock=lambda: next(times), devices=lambda: (3, 4)
    )
    uplink.offer(zone_message(SUBJECTS, zone(T0)))  # the head: maybe in flight
    first = uplink.heartbeat()
    second = uplink.heartbeat()
    body = json.loads(second.payload)["heartbeat"]
    assert (
        body["uptime_s"],
        body["queue"],
        body["devices_online"],
        body["devices_configured"],
    ) == (
        60.0,
        1,
        3,
        4,
    )
    waiting = uplink.pending_messages()
    assert [m.msg_id for m in waiting][1:] == [second.msg_id]
    assert first not in waiting
    assert uplink.stats.heartbeats == 2
