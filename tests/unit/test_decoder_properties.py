"""Properties: no payload crashes a decoder; replays never count a door passage twice."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.observations import (
    Climate,
    DeviceHealth,
    DoorTraffic,
    PeopleCount,
    TicketEvent,
)
from gateway.settings import SensorConfig, ValidationLimits
from sensors.decoders import DECODERS, DecodeContext, decode
from sensors.door_counts import DoorCounterTracker
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message
from tests.unit.decoding_support import CTX, demo_sensors, fixture_list, sensor

# Every registered decoder, with the configs that take its different paths.
SENSORS: list[SensorConfig] = [
    *demo_sensors().values(),
    sensor(
        {
            "id": "pc-g",
            "kind": "presence",
            "decoder": "generic_json",
            "topic": "x",
            "zone": "z",
            "fields": {
                "count": {"path": "count"},
                "battery_pct": {"path": "b", "unit": "fraction"},
            },
            "timestamp": {"path": "ts", "format": "epoch_s"},
        }
    ),
    sensor(
        {
            "id": "dc-g",
            "kind": "door_counter",
            "decoder": "generic_json",
            "topic": "x",
            "door": "d",
            "fields": {"entries": {"path": "in"}, "exits": {"path": "out.0"}},
            "timestamp": {"path": "time"},
        }
    ),
    *(
        sensor(
            {
                "id": f"ha-{q}",
                "kind": "presence" if q == "count" else "climate",
                "decoder": "homeassistant",
                "quantity": q,
                "topic": "x",
                "zone": "z",
            }
        )
        for q in ("temperature_c", "humidity_pct", "co2_ppm", "count")
    ),
]
IDS = [f"{s.decoder}:{s.id}" for s in SENSORS]

KEYS = sorted(
    {
        "ts",
        "time",
        "timestamp",
        "Time",
        "TempUnit",
        "last_seen",
        "seq",
        "sequence",
        "fcnt",
        "in",
        "out",
        "entries",
        "exits",
        "total_in",
        "total_out",
        "period_in",
        "period_out",
        "line_1_total_in",
        "line_1_total_out",
        "line_1_period_in",
        "line_1_period_out",
        "count",
        "people",
        "people_count",
        "occupancy",
        "people_count_all",
        "temperature",
        "humidity",
        "co2",
        "pm25",
        "battery",
        "linkquality",
        "voltage",
        "SHT3X",
        "SHT3X-0x44",
        "SCD30",
        "SDS0X1",
        "DS18B20-1",
        "ESP32",
        "Temperature",
        "Humidity",
        "CarbonDioxide",
        "PM2.5",
        "event",
        "ticket",
        "service",
        "counter",
        "data",
        "temp_f",
        "rh",
        "b",
    }
)
TIMES = st.sampled_from(
    [
        "2026-11-22T01:15:00Z",
        "2026-11-22T08:15:00",
        "2026-11-22T08:15:00+07:00",
        "1970-01-01T00:00:00",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00",
        "issued",
        "called",
        "served",
        "no-show",
        "F",
        "C",
        "land",
        "unavailable",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 42, 1795310100, 1795310100000, 2**53, -1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    TIMES,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=24,
)
RECEIVED = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def encoded(document: object) -> bytes:
    # allow_nan: NaN/Infinity tokens must be rejected by the decoders, so send them
    return json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass")


def check_contract(config: SensorConfig, payload: bytes, received_at: datetime) -> None:
    message = Message("t", payload, received_at)
    try:
        decoded = decode(config, CTX, message)
    except DecodeError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        assert len(exc.reason) <= 400
        exc.reason.encode("utf-8")  # printable into logs and the dead-letter file
        return
    assert isinstance(decoded, list)
    for item in decoded:
        check_decoded(item, CTX.limits)


def check_decoded(item: Decoded, limits: ValidationLimits) -> None:
    assert isinstance(item, Climate | PeopleCount | DeviceHealth | TicketEvent | DoorCounterReading)
    assert item.at.tzinfo is not None and item.at.utcoffset() == timedelta(0)
    if isinstance(item, Climate):
        for value in (item.temperature_c, item.humidity_pct, item.co2_ppm, item.pm25_ugm3):
            assert value is None or math.isfinite(value)
    if isinstance(item, PeopleCount):
        assert limits.count[0] <= item.count <= limits.count[1]
    if isinstance(item, DoorCounterReading):
        assert 0 <= item.entries < 2**53 and 0 <= item.exits < 2**53


def test_every_config_class_has_a_decoder() -> None:
    assert set(DECODERS) == {s.decoder for s in SENSORS}
    for literal in (
        "generic_json",
        "zigbee2mqtt",
        "tasmota",
        "homeassistant",
        "door_counter",
        "presence",
        "queue_ticket",
    ):
        assert literal in DECODERS


@pytest.mark.parametrize("config", SENSORS, ids=IDS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.binary(max_size=200), received_at=RECEIVED)
def test_any_bytes(config: SensorConfig, payload: bytes, received_at: datetime) -> None:
    check_contract(config, payload, received_at)


@pytest.mark.parametrize("config", SENSORS, ids=IDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=JSON, received_at=RECEIVED)
def test_any_json_document(config: SensorConfig, document: object, received_at: datetime) -> None:
    check_contract(config, encoded(document), received_at)


FIXTURES = [
    f
    for family in sorted(DECODERS)
    for f in fixture_list(family)
    if f.message.payload.startswith(b"{")
]


@st.composite
def mutated_fixture(draw: st.DrawFn) -> tuple[SensorConfig, bytes]:
    """A captured payload with one value (at any depth) replaced by anything."""
    fixture = draw(st.sampled_from(FIXTURES))
    document = json.loads(fixture.message.payload)
    node = document
    while True:
        key = draw(st.sampled_from(sorted(node)))
        if isinstance(node[key], dict) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        node[key] = draw(JSON)
        break
    return fixture.sensor, encoded(document)


@settings(max_examples=1000, deadline=None)
@given(
    case=mutated_fixture(),
    received_at=RECEIVED | st.just(datetime(2026, 11, 22, 1, 15, 5, tzinfo=UTC)),
)
def test_captured_payloads_with_one_value_replaced(
    case: tuple[SensorConfig, bytes], received_at: datetime
) -> None:
    config, payload = case
    check_contract(config, payload, received_at)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"1" * 5000,
        b'{"in": ' + b"9" * 5000 + b', "out": 1}',
        b"\xef\xbb\xbf{}",
        b'"\\ud800"',
        b"\x00",
        b"-Infinity",
        b"1e400",
    ],
    ids=[
        "deep-array",
        "deep-object",
        "long-int",
        "long-int-field",
        "bom",
        "lone-surrogate",
        "nul",
        "neg-inf",
        "huge-float",
    ],
)
@pytest.mark.parametrize("config", SENSORS, ids=IDS)
def test_hostile_payloads(config: SensorConfig, payload: bytes) -> None:
    check_contract(config, payload, datetime(2026, 11, 22, 1, 15, tzinfo=UTC))


def test_decode_context_is_frozen() -> None:
    with pytest.raises(AttributeError):
        CTX.limits = ValidationLimits()  # type: ignore[misc]
    assert isinstance(CTX, DecodeContext)


# --------------------------------------------------------------------------- door counters

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


@st.composite
def cumulative_readings(draw: st.DrawFn, unique_seq: bool = False) -> list[DoorCounterReading]:
    """A counter's totals over time: rising, sometimes reset to a small number."""
    n = draw(st.integers(min_value=1, max_value=30))
    entries, exits, minute, seq = draw(st.integers(0, 50)), draw(st.integers(0, 50)), 0, 0
    readings = []
    for _ in range(n):
        minute += draw(st.integers(min_value=1, max_value=5))
        if draw(st.integers(0, 9)) == 0:  # reboot
            entries, exits = draw(st.integers(0, 5)), draw(st.integers(0, 5))
            seq = seq + 1 if unique_seq else 0
        else:
            entries += draw(st.integers(0, 20))
            exits += draw(st.integers(0, 20))
            seq += 1
        at = T0 + timedelta(minutes=minute)
        with_seq = unique_seq or draw(st.booleans())
        readings.append(
            DoorCounterReading("d", "dc", at, entries, exits, True, seq if with_seq else None)
        )
    return readings


@st.composite
def delta_readings(draw: st.DrawFn) -> list[DoorCounterReading]:
    n = draw(st.integers(min_value=1, max_value=30))
    use_seq = draw(st.booleans())
    return [
        DoorCounterReading(
            "d2",
            "dc2",
            T0 + timedelta(minutes=i),
            draw(st.integers(0, 9)),
            draw(st.integers(0, 9)),
            False,
            i if use_seq else None,
        )
        for i in range(n)
    ]


def counted(tracker: DoorCounterTracker, readings: list[DoorCounterReading]) -> tuple[int, int]:
    entries = exits = 0
    for r in readings:
        out = tracker.update(r)
        if out is not None:
            assert isinstance(out, DoorTraffic) and out.entries >= 0 and out.exits >= 0
            entries, exits = entries + out.entries, exits + out.exits
    return entries, exits


@settings(max_examples=300, deadline=None)
@given(cum=cumulative_readings(), dlt=delta_readings(), data=st.data())
def test_replaying_a_prefix_never_counts_more(
    cum: list[DoorCounterReading], dlt: list[DoorCounterReading], data: st.DataObject
) -> None:
    tracker = DoorCounterTracker()
    readings = interleave(cum, dlt)
    counted(tracker, readings)
    k = data.draw(st.integers(0, len(readings)))
    assert counted(tracker, readings[:k]) == (0, 0)


def interleave(
    a: list[DoorCounterReading], b: list[DoorCounterReading]
) -> list[DoorCounterReading]:
    return sorted(a + b, key=lambda r: (r.at, r.sensor_id))


@settings(max_examples=300, deadline=None)
@given(cum=cumulative_readings(unique_seq=True), dlt=delta_readings(), data=st.data())
def test_a_restart_from_any_saved_point_counts_like_no_restart(
    cum: list[DoorCounterReading], dlt: list[DoorCounterReading], data: st.DataObject
) -> None:
    readings = interleave(cum, dlt)
    whole = counted(DoorCounterTracker(), readings)
    saved_at = data.draw(st.integers(0, len(readings)))
    crashed_at = data.draw(st.integers(saved_at, len(readings)))
    before = DoorCounterTracker()
    first = counted(before, readings[:saved_at])
    snapshot = json.loads(json.dumps(before.snapshot()))
    counted(before, readings[saved_at:crashed_at])  # lost with the process
    after = DoorCounterTracker()
    after.restore(snapshot)
    rest = counted(after, readings[saved_at:])  # the broker redelivers from the saved point
    assert (first[0] + rest[0], first[1] + rest[1]) == whole


@settings(max_examples=300, deadline=None)
@given(cum=cumulative_readings(unique_seq=True))
def test_cumulative_totals_are_counted_exactly(cum: list[DoorCounterReading]) -> None:
    expected_in = expected_out = 0
    for prev, cur in zip(cum, cum[1:], strict=False):
        if cur.entries < prev.entries or cur.exits < prev.exits:
            expected_in, expected_out = expected_in + cur.entries, expected_out + cur.exits
        else:
            expected_in += cur.entries - prev.entries
            expected_out += cur.exits - prev.exits
    assert counted(DoorCounterTracker(), cum) == (expected_in, expected_out)
