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
    TicketEventKind,
)
from gateway.settings import SensorConfig, ValidationLimits
from sensors.decoders import DECODERS, DecodeContext, decode
from sensors.door_counts import DoorCounterTracker
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message
from sensors.simulator.payloads import encode, topic_for
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    SimReading,
    TicketReading,
)
from tests.unit.decoding_support import CTX, corpus, demo_sensors, fixture_list, sensor

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
        "presence",
        "state",
        "current_total",
        "current_counted",
        "numbering_regions",
        "time_info",
        "end_time",
        "timezone",
        "region_1",
        "region_2_count",
        "people_in",
        "people_out",
        "line_total_data",
        "line_periodic_data",
        "in_counted",
        "out_counted",
        "object",
        "fCnt",
        "uplink_message",
        "decoded_payload",
        "f_cnt",
        "received_at",
        "StatusSNS",
        "UptimeSec",
        "Wifi",
        "Signal",
        "batteryLevel",
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
        "online",
        "offline",
        "ON",
        "2018.02.04 10:24:19",
        "2022/12/20 19:15:52",
        "UTC+8:00",
        "UTC-99:99",
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


# The device corpus: every sensor config it uses, on every topic it uses
# (availability, LWT, STATE, STATUS8, bridge, LoRaWAN events...), so the
# contract covers each decoder's topic-dependent paths and config options.
CORPUS = corpus()
CORPUS_ROUTES = sorted(
    {(c.sensor.model_dump_json(), c.message.topic): c.sensor for c in CORPUS}.items()
)
CORPUS_OBJECTS = [c for c in CORPUS if c.message.payload.startswith(b"{")]


def check_contract_on(config: SensorConfig, topic: str, payload: bytes, at: datetime) -> None:
    message = Message(topic, payload, at)
    try:
        decoded = decode(config, CTX, message)
    except DecodeError as exc:
        assert isinstance(exc.reason, str) and exc.reason and len(exc.reason) <= 400
        exc.reason.encode("utf-8")
        return
    assert isinstance(decoded, list)
    for item in decoded:
        check_decoded(item, CTX.limits)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(CORPUS_ROUTES),
    payload=st.binary(max_size=200) | JSON.map(encoded),
    received_at=RECEIVED,
)
def test_corpus_configs_any_payload(
    route: tuple[tuple[str, str], SensorConfig], payload: bytes, received_at: datetime
) -> None:
    (_, topic), config = route
    check_contract_on(config, topic, payload, received_at)


@settings(max_examples=1500, deadline=None)
@given(data=st.data(), received_at=RECEIVED | st.just(datetime(2026, 11, 22, 1, 15, 5, tzinfo=UTC)))
def test_corpus_payloads_with_one_value_replaced(
    data: st.DataObject, received_at: datetime
) -> None:
    case = data.draw(st.sampled_from(CORPUS_OBJECTS))
    document = json.loads(case.message.payload)
    node = document
    while True:
        key = data.draw(st.sampled_from(sorted(node)))
        child = node[key]
        if isinstance(child, dict) and child and data.draw(st.booleans()):
            node = child
            continue
        if (
            isinstance(child, list)
            and child
            and isinstance(child[0], dict)
            and data.draw(st.booleans())
        ):
            node = child[0]
            continue
        node[key] = data.draw(JSON)
        break
    check_contract_on(case.sensor, case.message.topic, encoded(document), received_at)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 150_000 + b"]" * 150_000,
        b"[" * 30_000 + b"]" * 30_000,
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b"1" * 5000,
        b'{"in": ' + b"9" * 5000 + b', "out": 1}',
        b"\xef\xbb\xbf{}",
        b'"\\ud800"',
        b"\x00",
        b"-Infinity",
        b"1e400",
    ],
    ids=[
        "over-the-size-limit",
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


@pytest.mark.parametrize("config", SENSORS, ids=IDS)
def test_a_payload_over_the_size_limit_is_not_parsed(config: SensorConfig) -> None:
    limit = CTX.limits.max_payload_bytes
    at = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)
    with pytest.raises(DecodeError) as caught:
        decode(config, CTX, Message("t", b" " * (limit + 1), at))
    assert caught.value.reason == (
        f"payload of {limit + 1} bytes is over the limit of {limit} (not parsed)"
    )
    try:  # at the limit it is parsed: the reason is about the content
        decode(config, CTX, Message("t", b" " * limit, at))
    except DecodeError as exc:
        assert "over the limit" not in exc.reason


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


# --------------------------------------------------------------------------- round trips

# Encode a simulated reading as the configured device would publish it, decode
# it, and get the reading back: a decoder must read what the device says, not
# only not crash (a decode() that returned [] would fail every test below).

RECEIVED_AT = datetime(2026, 11, 22, 1, 15, 5, tzinfo=UTC)
DEVICE_TIME = st.integers(0, 3000).map(lambda s: RECEIVED_AT - timedelta(seconds=s))


def tenths(low: float, high: float) -> st.SearchStrategy[float]:
    """Values with one decimal, as the devices send them."""
    return st.integers(round(low * 10), round(high * 10)).map(lambda n: n / 10)


@st.composite
def climate_reading(draw: st.DrawFn, sensor_id: str) -> ClimateReading:
    return ClimateReading(
        sensor_id=sensor_id,
        at=draw(DEVICE_TIME),
        temperature_c=draw(tenths(*ValidationLimits().temperature_c)),  # the plausible range
        humidity_pct=draw(tenths(1, 99)),
        co2_ppm=draw(st.none() | st.integers(400, 5000).map(float)),
        pm25_ugm3=draw(tenths(0, 500)),
        battery_pct=draw(st.none() | st.integers(0, 100)),
        linkquality=draw(st.none() | st.integers(0, 255)),
    )


def round_trip(config: SensorConfig, reading: SimReading) -> list[Decoded]:
    payload = encode(config, reading, CTX.timezone)
    return decode(config, CTX, Message(topic_for(config), payload, RECEIVED_AT))


def demo_of(*decoders: str) -> list[SensorConfig]:
    return [s for s in demo_sensors().values() if s.decoder in decoders]


CLIMATE_DEVICES = demo_of("tasmota", "zigbee2mqtt")
assert CLIMATE_DEVICES, "the demo site has Tasmota and Zigbee2MQTT climate sensors"


@pytest.mark.parametrize("config", CLIMATE_DEVICES, ids=[s.id for s in CLIMATE_DEVICES])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_climate_round_trip(config: SensorConfig, data: st.DataObject) -> None:
    reading = data.draw(climate_reading(config.id))
    decoded = round_trip(config, reading)
    climates = [d for d in decoded if isinstance(d, Climate)]
    assert len(climates) == 1
    climate = climates[0]
    assert (climate.zone_id, climate.sensor_id) == (config.zone, config.id)
    assert climate.temperature_c == reading.temperature_c
    assert climate.humidity_pct == reading.humidity_pct
    assert climate.co2_ppm == reading.co2_ppm
    # Tasmota stamps its local time; Zigbee2MQTT (no last_seen here) the receipt time.
    assert climate.at == (reading.at if config.decoder == "tasmota" else RECEIVED_AT)
    if config.decoder == "zigbee2mqtt" and (reading.battery_pct, reading.linkquality) != (
        None,
        None,
    ):
        health = [d for d in decoded if isinstance(d, DeviceHealth)]
        assert len(health) == 1
        assert health[0].battery_pct == reading.battery_pct
        assert health[0].linkquality == reading.linkquality


PRESENCE_DEVICES = demo_of("presence")


@pytest.mark.parametrize("config", PRESENCE_DEVICES, ids=[s.id for s in PRESENCE_DEVICES])
@settings(max_examples=60, deadline=None)
@given(at=DEVICE_TIME, n=st.integers(0, 2000))
def test_presence_round_trip(config: SensorConfig, at: datetime, n: int) -> None:
    decoded = round_trip(config, PresenceReading(config.id, at, n))
    assert decoded == [PeopleCount(str(config.zone), config.id, n, at)]


DOOR_DEVICES = demo_of("door_counter")


@pytest.mark.parametrize("config", DOOR_DEVICES, ids=[s.id for s in DOOR_DEVICES])
@settings(max_examples=60, deadline=None)
@given(
    at=DEVICE_TIME,
    entries=st.integers(0, 2**32 - 1),
    exits=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 2**31),
)
def test_door_counter_round_trip(
    config: SensorConfig, at: datetime, entries: int, exits: int, seq: int
) -> None:
    cumulative = getattr(config, "mode", "cumulative") == "cumulative"
    reading = DoorCountReading(config.id, at, entries, exits, seq, cumulative)
    decoded = round_trip(config, reading)
    assert decoded == [
        DoorCounterReading(str(config.door), config.id, at, entries, exits, cumulative, seq)
    ]


QUEUE_DEVICES = demo_of("queue_ticket")


@pytest.mark.parametrize("config", QUEUE_DEVICES, ids=[s.id for s in QUEUE_DEVICES])
@settings(max_examples=60, deadline=None)
@given(
    at=DEVICE_TIME,
    ms=st.integers(0, 999),
    event=st.sampled_from(list(TicketEventKind)),
    ticket=st.from_regex(r"[A-Z][0-9]{3}", fullmatch=True),
    service=st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True),
    counter=st.integers(1, 9999),
)
def test_queue_ticket_round_trip(
    config: SensorConfig,
    at: datetime,
    ms: int,
    event: TicketEventKind,
    ticket: str,
    service: str,
    counter: int,
) -> None:
    at = at - timedelta(milliseconds=ms)
    reading = TicketReading(config.id, at, event, ticket, service, counter)
    decoded = round_trip(config, reading)
    assert decoded == [TicketEvent(service, ticket, event, at, config.id, counter)]


HA_DEVICES = demo_of("homeassistant", "generic_json")


@pytest.mark.parametrize("config", HA_DEVICES, ids=[s.id for s in HA_DEVICES])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mapped_values_round_trip(config: SensorConfig, data: st.DataObject) -> None:
    """Home Assistant and generic_json: values come back through the configured units."""
    if config.kind.value == "climate":
        reading: SimReading = data.draw(climate_reading(config.id))
    elif config.kind.value == "presence":
        reading = PresenceReading(
            config.id, data.draw(DEVICE_TIME), data.draw(st.integers(0, 2000))
        )
    else:
        t = data.draw(DEVICE_TIME)
        e, x = data.draw(st.integers(0, 10**6)), data.draw(st.integers(0, 10**6))
        reading = DoorCountReading(config.id, t, e, x, 0, True)
    try:
        payload = encode(config, reading, CTX.timezone)
    except ValueError:  # the reading lacks a quantity this device maps (no CO2 probe drawn)
        return
    decoded = decode(config, CTX, Message(topic_for(config), payload, RECEIVED_AT))
    assert decoded, "a payload the device encoded decodes to something"
    for item in decoded:
        if isinstance(item, Climate) and isinstance(reading, ClimateReading):
            for name in ("temperature_c", "humidity_pct", "co2_ppm", "pm25_ugm3"):
                got = getattr(item, name)
                if got is not None:
                    assert math.isclose(got, getattr(reading, name), abs_tol=0.06), name
        elif isinstance(item, PeopleCount) and isinstance(reading, PresenceReading):
            assert item.count == reading.count
        elif isinstance(item, DoorCounterReading) and isinstance(reading, DoorCountReading):
            assert (item.entries, item.exits) == (reading.entries, reading.exits)


# --------------------------------------------------------------------------- wrap-around


@st.composite
def wrapping_totals(draw: st.DrawFn) -> tuple[list[DoorCounterReading], int, int]:
    """A 32- or 16-bit counter's totals passing its maximum, with resets and redeliveries.

    Each report has its sequence number (a LoRaWAN frame counter): without one,
    totals that come back to an earlier value after a reset look like the
    redelivery of that earlier report (see sensors.door_counts).

    Returns the readings and the passages really made (each step draws the
    passages, and the reported total is the true total modulo the width).
    """
    modulus = draw(st.sampled_from([2**16, 2**32]))
    span = 1024 if modulus == 2**16 else 2**16
    e = draw(st.integers(modulus - 300, modulus - 1))
    x = draw(st.integers(modulus - 300, modulus - 1))
    readings = [DoorCounterReading("d", "w", T0, e, x, True, 0)]
    true_in = true_out = 0
    for i in range(1, draw(st.integers(2, 25))):
        at = T0 + timedelta(minutes=i)
        # A reboot: counting starts again at a few. It shows only as totals that
        # went down, and next to the maximum it looks like a wrap (the tracker
        # takes a wrap): none is drawn there.
        visible = min(e, x) > 3 and max(e, x) <= modulus - span
        if visible and draw(st.integers(0, 7)) == 0:
            e, x = draw(st.integers(0, 3)), draw(st.integers(0, 3))
            true_in, true_out = true_in + e, true_out + x
        else:
            de, dx = draw(st.integers(0, span // 4)), draw(st.integers(0, span // 4))
            e, x = (e + de) % modulus, (x + dx) % modulus
            true_in, true_out = true_in + de, true_out + dx
        readings.append(DoorCounterReading("d", "w", at, e, x, True, i))
        if draw(st.integers(0, 4)) == 0:  # a redelivery of an earlier reading
            readings.append(draw(st.sampled_from(readings)))
    return readings, true_in, true_out


@settings(max_examples=300, deadline=None)
@given(case=wrapping_totals())
def test_wrap_reset_and_redelivery_count_every_passage_once(
    case: tuple[list[DoorCounterReading], int, int],
) -> None:
    readings, true_in, true_out = case
    tracker = DoorCounterTracker()
    counted_in = counted_out = 0
    for reading in readings:
        out = tracker.update(reading)
        if out is not None:
            assert out.entries >= 0 and out.exits >= 0  # never backwards
            counted_in, counted_out = counted_in + out.entries, counted_out + out.exits
    assert (counted_in, counted_out) == (true_in, true_out)


def test_a_32_bit_wrap_is_not_a_reset() -> None:
    tracker = DoorCounterTracker()
    t1 = T0 + timedelta(minutes=1)
    assert tracker.update(DoorCounterReading("d", "w", T0, 2**32 - 2, 2**32 - 6, True)) is None
    assert tracker.update(DoorCounterReading("d", "w", t1, 3, 1, True)) == DoorTraffic(
        "d", "w", 5, 7, t1
    )
