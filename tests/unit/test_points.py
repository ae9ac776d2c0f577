"""Observations -> line protocol: literal expectations, escaping, and a parse-back property."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from gateway.live import Alert, AlertState, Severity, ZoneClimateState, ZoneState
from gateway.observations import (
    Climate,
    DeviceHealth,
    DeviceKind,
    DoorTraffic,
    Observation,
    PeopleCount,
    TicketEvent,
    TicketEventKind,
)
from gateway.points import (
    ALERT_TRANSITIONS,
    ZoneGeometry,
    alert_lines,
    escape_measurement,
    escape_name,
    quote_string,
    ticket_offset_ns,
    timestamp_ns,
    to_lines,
    zone_geometries,
    zone_state_lines,
)
from gateway.settings import CrowdLevel, ZoneConfig

AT = datetime(2026, 3, 2, 1, 15, 30, 123456, tzinfo=UTC)
AT_NS = 1772414130123456000
ZONES = {"waiting": ZoneGeometry(area_m2=120.0, capacity=100)}


# --------------------------------------------------------------------------- a parser


def _split(text: str, sep: str, specials: str, *, quoted: bool = False) -> list[str]:
    """Split on ``sep`` outside escapes (and outside double quotes when ``quoted``)."""
    parts, cur, i, in_q = [], [], 0, False
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and (text[i + 1] in specials or in_q):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if quoted and c == '"':
            in_q = not in_q
        if c == sep and not in_q:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _first_space(line: str) -> tuple[str, str, str]:
    """Split at the first unescaped space: the series key ends there (quotes mean nothing)."""
    head = _split(line, " ", " ,=\\")[0]
    return head, " ", line[len(head) + 1 :]


def _unescape(text: str, specials: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in specials:
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, object], int]:
    """InfluxDB line protocol (the 2.x rules: ``\\\\`` is one backslash) -> parts."""
    assert "\n" not in line and "\r" not in line
    series, _, rest = _first_space(line)
    fields_text, ts = rest.rsplit(" ", 1)  # the timestamp is last and has no space
    measurement, *tag_texts = _split(series, ",", " ,\\")
    tags = {}
    for text in tag_texts:
        key, value = _split(text, "=", " ,=\\")
        tags[_unescape(key, " ,=\\")] = _unescape(value, " ,=\\")
    fields: dict[str, object] = {}
    for text in _split(fields_text, ",", " ,=\\", quoted=True):
        key, value = _split(text, "=", " ,=\\", quoted=True)
        fields[_unescape(key, " ,=\\")] = _field_value(value)
    return _unescape(measurement, " ,\\"), tags, fields, int(ts)


def _field_value(text: str) -> object:
    if text.startswith('"'):
        assert text.endswith('"') and len(text) >= 2
        return _unescape(text[1:-1], '"\\')
    if text in ("true", "false"):
        return text == "true"
    if text.endswith("i"):
        return int(text[:-1])
    return float(text)


# --------------------------------------------------------------------------- literal lines


def test_people_count_line() -> None:
    obs = PeopleCount("waiting", "cam-1", 37, AT, 0.92)
    assert to_lines("hcc-bn", obs, ZONES) == [
        "zone_occupancy,site=hcc-bn,source=cam-1,zone=waiting"
        f" count=37i,density=0.30833333333333335,capacity_ratio=0.37,confidence=0.92 {AT_NS}"
    ]


def test_people_count_in_unknown_zone_has_no_density() -> None:
    obs = PeopleCount("roof", "cam-9", 3, AT)
    assert to_lines("s", obs, ZONES) == [
        f"zone_occupancy,site=s,source=cam-9,zone=roof count=3i,confidence=1.0 {AT_NS}"
    ]


def test_climate_writes_only_present_fields() -> None:
    obs = Climate("waiting", "cl-1", AT, temperature_c=26.4, co2_ppm=820)
    assert to_lines("s", obs, ZONES) == [
        f"climate,sensor=cl-1,site=s,zone=waiting temperature=26.4,co2=820.0 {AT_NS}"
    ]
    full = Climate("waiting", "cl-1", AT, 26.0, 65.5, 900.0, 12.5)
    assert to_lines("s", full, ZONES)[0].split(" ")[1] == (
        "temperature=26.0,humidity=65.5,co2=900.0,pm25=12.5"
    )


def test_climate_without_readings_writes_nothing() -> None:
    assert to_lines("s", Climate("waiting", "cl-1", AT), ZONES) == []


def test_non_finite_values_are_left_out() -> None:
    obs = Climate("waiting", "cl-1", AT, temperature_c=math.nan, humidity_pct=math.inf)
    assert to_lines("s", obs, ZONES) == []
    people = PeopleCount("waiting", "cam", 1, AT, confidence=math.nan)
    assert "confidence" not in to_lines("s", people, ZONES)[0]


def test_door_traffic_line() -> None:
    obs = DoorTraffic("d-main", "dc-1", entries=4, exits=2, at=AT)
    assert to_lines("s", obs, ZONES) == [
        f"door_traffic,door=d-main,sensor=dc-1,site=s entries=4i,exits=2i {AT_NS}"
    ]


def test_device_health_line() -> None:
    obs = DeviceHealth(
        "cam-1",
        DeviceKind.CAMERA,
        False,
        AT,
        detail='no "RTSP" at C:\\cam',
        fps=0.0,
        latency_ms=12.5,
    )
    assert to_lines("s", obs, ZONES) == [
        "device_health,device=cam-1,kind=camera,site=s"
        f' online=false,detail="no \\"RTSP\\" at C:\\\\cam",fps=0.0,latency_ms=12.5 {AT_NS}'
    ]
    sensor = DeviceHealth("zb-1", DeviceKind.SENSOR, True, AT, battery_pct=80, linkquality=120)
    assert to_lines("s", sensor, ZONES)[0].split(" ")[1] == (
        'online=true,detail="",battery=80.0,linkquality=120.0'
    )


@pytest.mark.parametrize(
    ("detail", "event", "active"),
    [
        ("motion", "motion", "true"),
        ("tamper_cleared", "tamper", "false"),
        ("video_lost", "video_loss", "true"),
    ],
)
def test_a_camera_event_state_is_not_a_health_report(detail: str, event: str, active: str) -> None:
    # an ONVIF motion event says "online" too; in device_health it would hide
    # an offline stream behind it in every last(online) query
    obs = DeviceHealth("cam-1", DeviceKind.CAMERA, detail != "video_lost", AT, detail=detail)
    assert to_lines("s", obs, ZONES) == [
        f"camera_events,camera=cam-1,event={event},site=s active={active} {AT_NS}"
    ]
    # the same word from a sensor is nothing special
    sensor = DeviceHealth("pir-1", DeviceKind.SENSOR, True, AT, detail=detail)
    assert to_lines("s", sensor, ZONES)[0].startswith("device_health,device=pir-1")


def test_ticket_event_line() -> None:
    obs = TicketEvent("svc-land", "A001", TicketEventKind.CALLED, AT, "qms", counter=7)
    offset = ticket_offset_ns("A001", 7)
    assert 0 <= offset < 1000
    assert to_lines("s", obs, ZONES) == [
        f'queue,event=called,service=svc-land,site=s ticket="A001",counter=7i,count=1i'
        f" {AT_NS + offset}"
    ]
    issued = TicketEvent("svc-land", "A002", TicketEventKind.ISSUED, AT, "qms")
    assert to_lines("s", issued, ZONES)[0].split(" ")[1] == 'ticket="A002",count=1i'


def test_two_tickets_in_one_second_are_two_points_and_a_replay_is_one() -> None:
    a = TicketEvent("svc", "A001", TicketEventKind.ISSUED, AT, "qms")
    b = TicketEvent("svc", "A002", TicketEventKind.ISSUED, AT, "qms")
    ts = {parse_line(to_lines("s", o, ZONES)[0])[3] for o in (a, b, a)}
    assert len(ts) == 2


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("a b", "a\\ b"),
        ("a,b", "a\\,b"),
        ("a=b", "a\\=b"),
        ('say "hi"', 'say\\ "hi"'),
        ("C:\\dir", "C:\\dir"),  # a lone backslash stays as it is
        ("end\\", "end\\\\"),  # ...unless it would escape what follows
        ("a\\ b", "a\\\\\\ b"),
        ("a\\,b", "a\\\\\\,b"),
        ("a\\\\b", "a\\\\\\b"),
        ("Hà Nội", "Hà\\ Nội"),
        ("Phòng chờ, tầng 2", "Phòng\\ chờ\\,\\ tầng\\ 2"),
        ("line\nbreak", "line\\ break"),
    ],
)
def test_escape_name(raw: str, escaped: str) -> None:
    assert escape_name(raw) == escaped


def test_escape_measurement_leaves_equals() -> None:
    assert escape_measurement("a b,c=d") == "a\\ b\\,c=d"


def test_quote_string() -> None:
    assert quote_string('tầng "2"\\B\n') == '"tầng \\"2\\"\\\\B "'


def test_vietnamese_and_special_tags_round_trip() -> None:
    obs = PeopleCount("Sảnh chờ, tầng 1", "cam=1 \\ góc", 5, AT)
    line = to_lines("Trung tâm HCC Bắc Ninh", obs, ZONES)[0]
    assert line.startswith(
        "zone_occupancy,site=Trung\\ tâm\\ HCC\\ Bắc\\ Ninh,source=cam\\=1\\ \\\\\\ góc,"
        "zone=Sảnh\\ chờ\\,\\ tầng\\ 1 count=5i"
    )
    _, tags, fields, ts = parse_line(line)
    assert tags == {
        "site": "Trung tâm HCC Bắc Ninh",
        "source": "cam=1 \\ góc",
        "zone": "Sảnh chờ, tầng 1",
    }
    assert fields["count"] == 5
    assert ts == AT_NS


def test_empty_tag_value_is_left_out() -> None:
    obs = DoorTraffic("d-main", "", 1, 0, AT)
    assert to_lines("s", obs, ZONES)[0].startswith("door_traffic,door=d-main,site=s ")


# --------------------------------------------------------------------------- time


def test_timestamp_is_exact_nanoseconds_in_any_zone() -> None:
    hcm = timezone(timedelta(hours=7))
    assert timestamp_ns(AT.astimezone(hcm)) == AT_NS
    assert timestamp_ns(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    far = datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)
    assert timestamp_ns(far) == 9223372036854775000  # no float rounding


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        timestamp_ns(datetime(2026, 1, 1))


def test_zone_geometry_from_config() -> None:
    zone = ZoneConfig(
        id="waiting",
        name="Waiting",
        floor="f1",
        area_m2=80.5,
        capacity=60,
        polygon=[(0, 0), (1, 0), (1, 1)],
    )
    assert ZoneGeometry.from_zone(zone) == ZoneGeometry(80.5, 60)
    assert zone_geometries([zone]) == {"waiting": ZoneGeometry(80.5, 60)}


# --------------------------------------------------------------------------- property

names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    min_size=1,
    max_size=20,
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
)
observations = st.one_of(
    st.builds(PeopleCount, names, names, st.integers(0, 5000), times, finite),
    st.builds(DoorTraffic, names, names, st.integers(0, 10**6), st.integers(0, 10**6), times),
    st.builds(
        Climate,
        names,
        names,
        times,
        st.none() | finite,
        st.none() | finite,
        st.none() | finite,
        st.none() | finite,
    ),
    st.builds(
        DeviceHealth,
        names,
        st.sampled_from(DeviceKind),
        st.booleans(),
        times,
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
        st.none() | finite,
        st.none() | finite,
        st.none() | finite,
        st.none() | finite,
    ),
    st.builds(
        TicketEvent,
        names,
        st.text(
            alphabet=st.characters(exclude_categories=["Cs"]) | st.sampled_from('\r\n\\"'),
            max_size=10,
        ),
        st.sampled_from(TicketEventKind),
        times,
        names,
        st.none() | st.integers(0, 99),
    ),
)


def one_line(text: str) -> str:
    """Line protocol is line-oriented: a CR or LF inside a value becomes a space."""
    return text.replace("\r", " ").replace("\n", " ")


def expected_fields(obs: object, zones: dict[str, ZoneGeometry]) -> dict[str, object]:
    if isinstance(obs, PeopleCount):
        out: dict[str, object] = {"count": obs.count, "confidence": obs.confidence}
        if obs.zone_id in zones:
            out["density"] = obs.count / zones[obs.zone_id].area_m2
            out["capacity_ratio"] = obs.count / zones[obs.zone_id].capacity
        return out
    if isinstance(obs, DoorTraffic):
        return {"entries": obs.entries, "exits": obs.exits}
    if isinstance(obs, Climate):
        pairs = [
            ("temperature", obs.temperature_c),
            ("humidity", obs.humidity_pct),
            ("co2", obs.co2_ppm),
            ("pm25", obs.pm25_ugm3),
        ]
        return {k: v for k, v in pairs if v is not None}
    if isinstance(obs, DeviceHealth):
        pairs = [
            ("battery", obs.battery_pct),
            ("linkquality", obs.linkquality),
            ("fps", obs.fps),
            ("latency_ms", obs.latency_ms),
        ]
        return {"online": obs.online, "detail": one_line(obs.detail)} | {
            k: v for k, v in pairs if v is not None
        }
    assert isinstance(obs, TicketEvent)
    out = {"ticket": one_line(obs.ticket), "count": 1}
    if obs.counter is not None:
        out["counter"] = obs.counter
    return out


@settings(max_examples=400, deadline=None)
@given(obs=observations, site=names, area=st.floats(0.5, 5000), capacity=st.integers(1, 5000))
def test_every_line_parses_back_to_the_same_values(
    obs: object, site: str, area: float, capacity: int
) -> None:
    zone_id = getattr(obs, "zone_id", None)
    zones = {zone_id: ZoneGeometry(area, capacity)} if zone_id else {}
    lines = to_lines(site, obs, zones)  # type: ignore[arg-type]
    fields = expected_fields(obs, zones)
    if not fields:
        assert lines == []
        return
    assert len(lines) == 1
    measurement, tags, parsed, ts = parse_line(lines[0])
    assert parsed == fields
    assert tags["site"] == site
    assert measurement in {"zone_occupancy", "door_traffic", "climate", "device_health", "queue"}
    expected_ts = timestamp_ns(obs.at)  # type: ignore[attr-defined]
    if isinstance(obs, TicketEvent):
        expected_ts += ticket_offset_ns(obs.ticket, obs.counter)
    assert ts == expected_ts
    for key in ("zone_id", "source_id", "sensor_id", "door_id", "device_id", "service_id"):
        if hasattr(obs, key):
            value = getattr(obs, key)
            tag = {
                "zone_id": "zone",
                "source_id": "sensor" if isinstance(obs, DoorTraffic) else "source",
                "sensor_id": "sensor",
                "door_id": "door",
                "device_id": "device",
                "service_id": "service",
            }[key]
            if isinstance(obs, TicketEvent) and key == "source_id":
                continue
            assert tags[tag] == value


def _canonical(line: str) -> tuple[str, dict[str, object], str]:
    """The series key as text (escapes and tag order), the field values, the timestamp.

    Fields are compared as values: influxdb-client sorts them and writes the
    float 812.0 as ``812``, both meaning the same float to InfluxDB.
    """
    series, _, rest = _first_space(line)
    return series, parse_line(line)[2], rest.rsplit(" ", 1)[1]


def _point(measurement: str, tags: dict[str, str], fields: dict[str, object]) -> str:
    point = Point(measurement)  # type: ignore[no-untyped-call]
    for key, value in tags.items():
        point.tag(key, value)  # type: ignore[no-untyped-call]
    for name, field in fields.items():
        point.field(name, field)  # type: ignore[no-untyped-call]
    point.time(AT, WritePrecision.NS)  # type: ignore[no-untyped-call]
    return str(point.to_line_protocol())  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("site", "obs", "measurement", "tags", "fields"),
    [
        (
            "hcc-bn",
            PeopleCount("waiting", "cam-1", 37, AT, 0.92),
            "zone_occupancy",
            {"site": "hcc-bn", "source": "cam-1", "zone": "waiting"},
            {"count": 37, "density": 37 / 120, "capacity_ratio": 0.37, "confidence": 0.92},
        ),
        (
            "Trung tâm HCC, Bắc Ninh",
            DeviceHealth(
                "cam 1", DeviceKind.CAMERA, False, AT, detail='lost "RTSP", C:\\p', fps=0.0
            ),
            "device_health",
            {"device": "cam 1", "kind": "camera", "site": "Trung tâm HCC, Bắc Ninh"},
            {"online": False, "detail": 'lost "RTSP", C:\\p', "fps": 0.0},
        ),
        (
            "s",
            Climate("Sảnh chờ=1", "cl 1", AT, temperature_c=26.4, co2_ppm=812.0),
            "climate",
            {"sensor": "cl 1", "site": "s", "zone": "Sảnh chờ=1"},
            {"temperature": 26.4, "co2": 812.0},
        ),
        (
            "s",
            DoorTraffic("d-main", "dc-1", 12, 3, AT),
            "door_traffic",
            {"door": "d-main", "sensor": "dc-1", "site": "s"},
            {"entries": 12, "exits": 3},
        ),
    ],
    ids=["people", "health-escapes", "climate-vietnamese", "door"],
)
def test_a_line_is_what_influxdb_client_writes_for_the_same_point(
    site: str,
    obs: Observation,
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, object],
) -> None:
    """The hand-written lines against the reference serializer (bench/points.py times both)."""
    [line] = to_lines(site, obs, ZONES)
    assert _canonical(line) == _canonical(_point(measurement, tags, fields))


def _fused(method: str, occupancy: int) -> ZoneState:
    return ZoneState(
        zone_id="f2-waiting",
        floor_id="f2",
        name="Khu chờ",
        occupancy=occupancy,
        capacity=180,
        capacity_ratio=occupancy / 180,
        density_per_m2=occupancy / 312,
        level_of_service=None,
        level=CrowdLevel.CALM,
        method=method,
        confidence=0.0 if method == "none" else 0.9,
        sources=(),
        disagreement=False,
        climate=ZoneClimateState(),
        waiting_tickets=None,
        expected_wait_s=None,
        updated_at=datetime(2026, 12, 4, 2, 0, tzinfo=UTC),
    )


def test_a_zone_nobody_counts_stores_no_fused_point() -> None:
    # an unknown zone's 0 is not an empty zone: no point, so history means stay true
    assert zone_state_lines("hcc", _fused("none", 0)) == []
    [line] = zone_state_lines("hcc", _fused("presence", 0))
    assert line.startswith("zone_occupancy,site=hcc,source=fused,zone=f2-waiting count=0i,")
    assert 'method="presence"' in line


# --------------------------------------------------------------------------- alerts


def _alert(state: AlertState, *, device: str | None = None) -> Alert:
    return Alert(
        id="crowd_level:f2-waiting",
        rule="crowd_level",
        severity=Severity.WARNING,
        state=state,
        zone_id=None if device else "f2-waiting",
        device_id=device,
        message='Khu chờ "đông"',
        value=0.85,
        threshold=0.8,
        raised_at=AT,
        updated_at=AT,
        notifications=2,
    )


@pytest.mark.parametrize(
    ("transition", "state", "number"),
    [
        ("raised", AlertState.ACTIVE, "raised=1i,"),
        ("renotified", AlertState.ACTIVE, "renotified=1i,"),
        ("acknowledged", AlertState.ACKNOWLEDGED, "acknowledged=1i,"),
        ("resolved", AlertState.RESOLVED, "resolved=1i,"),
        ("escalated", AlertState.ACTIVE, ""),  # not one the engine makes: the string only
    ],
)
def test_an_alert_point_has_its_transition_as_a_string_and_as_an_integer_field(
    transition: str, state: AlertState, number: str
) -> None:
    """VictoriaMetrics stores a string field as 0: ``raised=1i`` is what PromQL counts, while
    ``transition`` stays for InfluxQL; the same series and time as before the field existed."""
    assert alert_lines("hcc", _alert(state), transition) == [
        "alerts,rule=crowd_level,severity=warning,site=hcc,zone=f2-waiting"
        f' state="{state.value}",transition="{transition}",{number}'
        'alert_id="crowd_level:f2-waiting",message="Khu chờ \\"đông\\"",notifications=2i,'
        f"value=0.85,threshold=0.8 {AT_NS}"
    ]


def test_the_site_and_the_central_writer_share_one_list_of_transitions() -> None:
    from gateway.fleet import central

    assert central.ALERT_TRANSITIONS is ALERT_TRANSITIONS
    assert ALERT_TRANSITIONS == ("raised", "renotified", "acknowledged", "resolved")


def test_each_transition_is_one_integer_field_of_1_and_parses_back() -> None:
    for transition in ALERT_TRANSITIONS:
        [line] = alert_lines("hcc", _alert(AlertState.ACTIVE, device="cam 1"), transition)
        _, tags, fields, stamp = parse_line(line)
        assert tags == {
            "device": "cam 1",
            "rule": "crowd_level",
            "severity": "warning",
            "site": "hcc",
        }
        assert stamp == AT_NS
        numbers = {k: v for k, v in fields.items() if k in ALERT_TRANSITIONS}
        assert numbers == {transition: 1}
        assert fields["transition"] == transition
