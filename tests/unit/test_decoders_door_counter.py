"""door_counter: counter payloads -> DoorCounterReading per the sensor's mode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sensors.models import DoorCounterReading
from tests.unit.decoding_support import (
    RECEIVED,
    Fixture,
    check_fixture,
    demo,
    fixtures,
    reason,
    run,
)

CUMULATIVE = demo("dc-main")  # mode: cumulative
DELTA = demo("dc-side")  # mode: delta
AT = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)


def reading(
    entries: int, exits: int, cumulative: bool, seq: int | None = None, at: datetime = AT
) -> DoorCounterReading:
    door, sensor_id = ("d-main", "dc-main") if cumulative else ("d-side", "dc-side")
    return DoorCounterReading(door, sensor_id, at, entries, exits, cumulative, seq)


@pytest.mark.parametrize("fixture", fixtures("door_counter"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


TS = '"ts": "2026-11-22T01:15:00Z"'


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (f'{{"in": 10, "out": 7, {TS}}}', reading(10, 7, True)),
        (f'{{"entries": 10, "exits": 7, "sequence": 3, {TS}}}', reading(10, 7, True, 3)),
        (
            f'{{"total_in": 10, "total_out": 7, "period_in": 1, "period_out": 0, {TS}}}',
            reading(10, 7, True),
        ),
        (f'{{"total_in": 10, "total_out": 7, "in": 99, "out": 99, {TS}}}', reading(10, 7, True)),
        ('{"in": 10, "out": 7, "timestamp": 1795310100}', reading(10, 7, True)),
        ('{"in": 10, "out": 7, "time": 1795310100000}', reading(10, 7, True)),
        ('{"in": 10.0, "out": 0}', reading(10, 0, True, at=RECEIVED)),
        ('{"in": "10", "out": "7", "seq": "4"}', reading(10, 7, True, 4, at=RECEIVED)),
    ],
    ids=[
        "in-out",
        "entries-sequence",
        "total-over-period",
        "total-over-in",
        "epoch-s",
        "epoch-ms",
        "integral-float",
        "numeric-strings",
    ],
)
def test_cumulative(payload: str, expected: DoorCounterReading) -> None:
    assert run(CUMULATIVE, payload) == [expected]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (f'{{"in": 3, "out": 1, "seq": 58, {TS}}}', reading(3, 1, False, 58)),
        (
            f'{{"period_in": 3, "period_out": 1, "total_in": 900, "total_out": 880, {TS}}}',
            reading(3, 1, False),
        ),
        (
            f'{{"line_1_period_in": 3, "line_1_period_out": 1, "fcnt": 7, {TS}}}',
            reading(3, 1, False, 7),
        ),
        (f'{{"in": 0, "out": 0, {TS}}}', reading(0, 0, False)),
    ],
    ids=["in-out-seq", "period-over-total", "milesight-period", "zero"],
)
def test_delta(payload: str, expected: DoorCounterReading) -> None:
    assert run(DELTA, payload) == [expected]


@pytest.mark.parametrize(
    ("sensor_id", "payload", "why"),
    [
        ("dc-main", '{"in": -1, "out": 0}', "in: -1 is negative"),
        ("dc-main", '{"in": 1.5, "out": 0}', "in: 1.5 is not a whole number"),
        ("dc-main", '{"in": true, "out": 0}', "in: expected a number, got boolean True"),
        ("dc-main", '{"in": 1e300, "out": 0}', "in: 1e+300 is out of range"),
        ("dc-main", '{"in": 99999999999999999999, "out": 0}', "in: number 1e+20 is out of range"),
        ("dc-main", '{"in": 5}', "in present but out missing"),
        ("dc-main", '{"out": 5}', "out present but in missing"),
        (
            "dc-main",
            '{"seq": 5}',
            "no door counts (expected total_in/total_out, line_1_total_in/line_1_total_out, in/out, entries/exits)",
        ),
        ("dc-main", '{"in": 5, "out": 4, "seq": -2}', "seq: -2 is negative"),
        ("dc-main", '{"in": 5, "out": 4, "ts": "soon"}', "ts: 'soon' is not an ISO 8601 time"),
        (
            "dc-main",
            '{"in": 5, "out": 4, "ts": "2026-11-20T01:15:00Z"}',
            "is 172805 s before receipt (max_age_s 86400)",
        ),
        (
            "dc-side",
            '{"total_in": 5, "total_out": 4}',
            "payload has cumulative counts (total_in/total_out) but the sensor's mode is delta (sensor config: set mode: cumulative)",
        ),
        ("dc-main", "[1, 2]", "expected a JSON object, got array"),
        ("dc-main", "1234", "expected a JSON object, got number"),
    ],
)
def test_errors(sensor_id: str, payload: str, why: str) -> None:
    assert why in reason(demo(sensor_id), payload)
