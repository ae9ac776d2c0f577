"""The central side's pure logic from literal payloads: decode, points, site state, config."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config_loader import ConfigError
from gateway.fleet.central import (
    CLOSED_ALERTS_KEPT,
    decode_state,
    encode_state,
    merge_site_records,
    merge_site_state,
    record_lines,
)
from gateway.fleet.central_config import parse_central
from gateway.fleet.messages import FleetDecodeError, FleetKind, decode
from gateway.fleet.status import StreamFacts, SubjectSeen, site_rows, status_lines

ZONE = (
    b'{"v":1,"province":"ha-noi","site":"ba-dinh","kind":"zone","zone":{"zone_id":"waiting",'
    b'"floor_id":"f1","name":"Khu ch\xe1\xbb\x9d","occupancy":42,"capacity":100,'
    b'"capacity_ratio":0.42,"density_per_m2":0.35,"level_of_service":null,"level":"calm",'
    b'"method":"camera","confidence":0.9,"sources":[],"disagreement":false,"climate":{},'
    b'"waiting_tickets":7,"expected_wait_s":null,"updated_at":"2026-03-09T09:00:00+07:00"}}'
)
ALERT = (
    b'{"v":1,"province":"ha-noi","site":"ba-dinh","kind":"alert","transition":"raised",'
    b'"alert":{"id":"crowd_level-waiting","rule":"crowd_level","severity":"warning",'
    b'"state":"active","zone_id":"waiting","device_id":null,"message":"Waiting is \\"crowded\\"",'
    b'"value":0.85,"threshold":0.8,"raised_at":"2026-03-09T02:00:00+00:00",'
    b'"updated_at":"2026-03-09T02:01:00+00:00","notifications":1}}'
)
DEVICE = (
    b'{"v":1,"province":"ha-noi","site":"ba-dinh","kind":"device","device":{"device_id":"cam 1",'
    b'"kind":"camera","online":false,"at":"2026-03-09T02:02:00+00:00","detail":"no frames",'
    b'"battery_pct":null,"linkquality":null,"fps":0.0,"latency_ms":null}}'
)
P = "floorwatch"


def test_a_zone_message_decodes_with_its_own_time_in_utc() -> None:
    r = decode(P, "floorwatch.ha-noi.ba-dinh.zone", ZONE)
    assert (r.province, r.site, r.kind, r.site_key) == (
        "ha-noi",
        "ba-dinh",
        FleetKind.ZONE,
        "ha-noi.ba-dinh",
    )
    assert r.at.isoformat() == "2026-03-09T02:00:00+00:00"
    assert r.body["name"] == "Khu chờ"


@pytest.mark.parametrize(
    ("subject", "payload", "reason"),
    [
        ("floorwatch.ha-noi.ba-dinh.zone", b"not json", "not JSON"),
        ("floorwatch.ha-noi.ba-dinh.zone", b"[1]", "not a JSON object"),
        ("floorwatch.ha-noi.ba-dinh.zone", ZONE.replace(b'"v":1', b'"v":2'), "version 2"),
        ("floorwatch.ha-noi.other.zone", ZONE, "refused"),
        ("floorwatch.ha-noi.ba-dinh.alert", ZONE, "refused"),
        ("floorwatch.ha-noi.ba-dinh.weekly", ZONE, "unknown kind"),
        ("other.ha-noi.ba-dinh.zone", ZONE, "not a fleet subject"),
        ("floorwatch.ha-noi.ba-dinh.zone", ZONE.replace(b"+07:00", b""), "no time zone"),
        ("floorwatch.ha-noi.ba-dinh.alert", ALERT.replace(b'"raised"', b'""'), "transition"),
        ("floorwatch.ha-noi.ba-dinh.device", DEVICE.replace(b'"cam 1"', b"null"), "device_id"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(subject: str, payload: bytes, reason: str) -> None:
    with pytest.raises(FleetDecodeError, match=reason):
        decode(P, subject, payload)


def test_zone_point_has_province_site_zone_tags_and_the_record_time() -> None:
    (line,) = record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.zone", ZONE))
    assert line == (
        "zone_occupancy,province=ha-noi,site=ba-dinh,source=fused,zone=waiting "
        'count=42i,density=0.35,capacity_ratio=0.42,confidence=0.9,level="calm",'
        'method="camera",disagreement=false,waiting=7i 1773021600000000000'
    )


def test_the_same_message_twice_gives_the_same_point() -> None:
    a = record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.alert", ALERT))
    b = record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.alert", bytes(ALERT)))
    assert a == b
    assert a[0].startswith(
        "alerts,province=ha-noi,rule=crowd_level,severity=warning,site=ba-dinh,zone=waiting "
    )
    assert 'message="Waiting is \\"crowded\\""' in a[0]


@pytest.mark.parametrize(
    ("transition", "state", "number"),
    [
        ("raised", "active", "raised=1i"),
        ("renotified", "active", "renotified=1i"),
        ("acknowledged", "acknowledged", "acknowledged=1i"),
        ("resolved", "resolved", "resolved=1i"),
        ("escalated", "active", None),  # not one the engine makes: the string field only
    ],
)
def test_an_alert_point_has_its_transition_as_a_string_and_as_an_integer_field(
    transition: str, state: str, number: str | None
) -> None:
    """VictoriaMetrics stores a string field as 0: ``raised=1i`` is what PromQL counts, while
    ``transition`` stays for InfluxQL; same series and time, so a redelivery is one point."""
    payload = ALERT.replace(b'"raised"', f'"{transition}"'.encode()).replace(
        b'"state":"active"', f'"state":"{state}"'.encode()
    )
    (line,) = record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.alert", payload))
    assert line == (
        "alerts,province=ha-noi,rule=crowd_level,severity=warning,site=ba-dinh,zone=waiting "
        f'transition="{transition}",{number + "," if number else ""}state="{state}",'
        'alert_id="crowd_level-waiting",message="Waiting is \\"crowded\\"",notifications=1i,'
        "value=0.85,threshold=0.8 1773021660000000000"  # the alert's updated_at
    )
    assert record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.alert", bytes(payload))) == [line]


def test_device_point_escapes_its_tag_and_skips_nulls() -> None:
    (line,) = record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.device", DEVICE))
    assert line.startswith("device_health,device=cam\\ 1,kind=camera,province=ha-noi,site=ba-dinh ")
    assert "online=false" in line and "fps=0.0" in line and "battery" not in line


def test_a_zone_nobody_counts_writes_no_point() -> None:
    payload = ZONE.replace(b'"method":"camera"', b'"method":"none"')
    assert record_lines(decode(P, "floorwatch.ha-noi.ba-dinh.zone", payload)) == []


def _zone(occupancy: int, at: str) -> bytes:
    data = json.loads(ZONE)
    data["zone"].update(occupancy=occupancy, updated_at=at)
    return json.dumps(data).encode()


def test_site_state_keeps_the_newest_per_zone_and_an_older_message_does_not_go_back() -> None:
    new = decode(P, "floorwatch.ha-noi.ba-dinh.zone", _zone(60, "2026-03-09T03:00:00+00:00"))
    old = decode(P, "floorwatch.ha-noi.ba-dinh.zone", _zone(10, "2026-03-09T01:00:00+00:00"))
    state = merge_site_state(merge_site_state(None, new), old)
    assert state["zones"]["waiting"]["occupancy"] == 60
    assert state["last_seen"] == "2026-03-09T03:00:00+00:00"
    assert state["kinds"]["zone"] == {"at": "2026-03-09T03:00:00+00:00", "id": "waiting"}
    assert merge_site_state(state, new) == state  # redelivered: nothing changes


def test_site_state_tracks_open_alerts_and_devices() -> None:
    raised = decode(P, "floorwatch.ha-noi.ba-dinh.alert", ALERT)
    dev = decode(P, "floorwatch.ha-noi.ba-dinh.device", DEVICE)
    state = merge_site_state(merge_site_state(None, raised), dev)
    assert state["alerts"]["crowd_level-waiting"]["severity"] == "warning"
    assert state["devices"]["cam 1"] == {
        "at": "2026-03-09T02:02:00+00:00",
        "online": False,
        "detail": "no frames",
    }
    resolved_payload = ALERT.replace(b'"active"', b'"resolved"').replace(
        b'"updated_at":"2026-03-09T02:01:00+00:00"', b'"updated_at":"2026-03-09T02:05:00+00:00"'
    )
    resolved = decode(P, "floorwatch.ha-noi.ba-dinh.alert", resolved_payload)
    state = merge_site_state(state, resolved)
    assert state["alerts"] == {}
    assert merge_site_state(state, raised)["alerts"] == {}  # a late "raised" does not reopen it
    assert decode_state(encode_state(state)) == state
    assert decode_state(b"") is None and decode_state(b"garbage") is None


def test_central_file_resolves_secrets_by_reference(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    text = """
nats:
  url: nats://127.0.0.1:4333
  user: central
  password: {file: pw}
  consumer: workers
influxdb:
  protocol: v1
  url: http://127.0.0.1:8086
  database: province
  password: {env: INFLUX_PW}
  username: writer
"""
    cfg = parse_central(text, {"INFLUX_PW": "x"}, base_dir=tmp_path)
    assert cfg.nats.password is not None and cfg.nats.password.get_secret_value() == "s3cret"
    assert cfg.nats.consumer == "workers" and cfg.nats.kv_bucket == "fleet_sites"
    assert cfg.influxdb.protocol == "v1" and cfg.influxdb.database == "province"
    with pytest.raises(ConfigError, match="INFLUX_PW"):
        parse_central(text, {}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="nats.url"):
        parse_central("nats: {url: 'nats://u:p@host:4222'}", {})
    with pytest.raises(ConfigError, match="nats.bogus"):
        parse_central("nats: {bogus: 1}", {})


def test_status_rows_carry_what_the_central_store_holds_per_site() -> None:
    now = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    stored = datetime(2026, 3, 9, 2, 58, tzinfo=UTC)
    facts = StreamFacts(
        "FLOORWATCH",
        ["floorwatch.>"],
        3,
        100,
        1,
        3,
        600.0,
        [
            SubjectSeen("floorwatch.ha-noi.ba-dinh.zone", 2, now),
            SubjectSeen("floorwatch.ha-noi.dong-anh.zone", 1, now),
        ],
        [],
        {"ha-noi.ba-dinh": stored},
    )
    rows = {r.site: r for r in site_rows(facts, "floorwatch", now, 600)}
    assert rows["ba-dinh"].stored_until == stored
    assert rows["dong-anh"].stored_until is None
    text = "\n".join(status_lines(list(rows.values()), facts, 600))
    assert "stored until 2026-03-09T02:58:00+00:00" in text


def test_resolved_alerts_remembered_are_bounded_oldest_first() -> None:
    state = None
    for i in range(CLOSED_ALERTS_KEPT + 3):
        data = json.loads(ALERT)
        data["alert"].update(
            id=f"a{i}", state="resolved", updated_at=f"2026-03-09T02:00:00.{i:06d}+00:00"
        )
        record = decode(P, "floorwatch.ha-noi.ba-dinh.alert", json.dumps(data).encode())
        state = merge_site_state(state, record)
    assert state is not None
    closed = state["closed_alerts"]
    assert len(closed) == CLOSED_ALERTS_KEPT
    assert "a0" not in closed and "a2" not in closed and "a3" in closed
    assert f"a{CLOSED_ALERTS_KEPT + 2}" in closed


def test_a_sites_records_folded_with_one_copy_equal_them_folded_one_by_one() -> None:
    raised = decode(P, "floorwatch.ha-noi.ba-dinh.alert", ALERT)
    dev = decode(P, "floorwatch.ha-noi.ba-dinh.device", DEVICE)
    new = decode(P, "floorwatch.ha-noi.ba-dinh.zone", _zone(60, "2026-03-09T03:00:00+00:00"))
    old = decode(P, "floorwatch.ha-noi.ba-dinh.zone", _zone(10, "2026-03-09T01:00:00+00:00"))
    previous = merge_site_state(None, raised)
    kept = json.loads(json.dumps(previous))
    one_by_one = previous
    for record in (dev, new, old, raised):
        one_by_one = merge_site_state(one_by_one, record)
    assert merge_site_records(previous, [dev, new, old, raised]) == one_by_one
    assert previous == kept  # not changed
    assert merge_site_records(previous, []) is previous
    assert merge_site_records(None, [new]) == merge_site_state(None, new)
