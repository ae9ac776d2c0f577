"""presence: people counts -> PeopleCount, checked against validation.count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.observations import DeviceHealth, DeviceKind, PeopleCount
from tests.unit.decoding_support import (
    RECEIVED,
    Fixture,
    check_fixture,
    demo,
    fixtures,
    reason,
    run,
)

SENSOR = demo("pc-f2-waiting")
AT = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)


def count(n: int, at: datetime = AT) -> PeopleCount:
    return PeopleCount("f2-waiting", "pc-f2-waiting", n, at, 1.0)


@pytest.mark.parametrize("fixture", fixtures("presence"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"count": 42, "ts": "2026-11-22T01:15:00Z"}', count(42)),
        ('{"people": 42, "timestamp": "2026-11-22T08:15:00+07:00"}', count(42)),
        ('{"people_count": 42, "time": 1795310100}', count(42)),
        ('{"occupancy": 42, "ts": 1795310100000}', count(42)),
        ('{"people_count_all": 0}', count(0, RECEIVED)),
        ('{"count": null, "people": 7}', count(7, RECEIVED)),
        ('{"count": 2000}', count(2000, RECEIVED)),
        ("42", count(42, RECEIVED)),
        ("42.0\n", count(42, RECEIVED)),
        ('"42"', count(42, RECEIVED)),
    ],
    ids=[
        "count",
        "people",
        "people_count",
        "occupancy",
        "people_count_all",
        "null-skipped",
        "at-limit",
        "bare",
        "bare-float",
        "bare-string",
    ],
)
def test_values(payload: str, expected: PeopleCount) -> None:
    assert run(SENSOR, payload) == [expected]


def test_future_time_is_replaced_and_reported() -> None:
    assert run(SENSOR, '{"count": 5, "ts": "2026-11-22T01:20:06Z"}') == [
        count(5, RECEIVED),
        DeviceHealth(
            "pc-f2-waiting",
            DeviceKind.SENSOR,
            True,
            RECEIVED,
            detail="clock skew +301 s; using receipt time",
        ),
    ]


def test_future_time_within_skew_is_kept() -> None:
    at = datetime(2026, 11, 22, 1, 20, 5, tzinfo=UTC)  # exactly max_clock_skew_s ahead
    assert run(SENSOR, '{"count": 5, "ts": "2026-11-22T01:20:05Z"}') == [count(5, at)]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ('{"count": 2001}', "count 2001 outside [0, 2000]"),
        ('{"people": -3}', "people: -3 is negative"),
        ('{"count": 4.5}', "count: 4.5 is not a whole number"),
        ('{"occupancy": false}', "occupancy is binary presence: set occupied_count"),
        ('{"presence": true}', "presence is binary presence: set occupied_count"),
        (
            '{"temperature": 27}',
            "no people count (expected one of count, people, people_count, current_total,",
        ),
        ("[42]", "expected a JSON object or a number, got array"),
        ("null", "expected a JSON object or a number, got null"),
        ("true", "expected a JSON object or a number, got boolean"),
        ('"many"', "count: expected a number, got string 'many'"),
        (
            '{"count": 3, "ts": "2026-11-21T01:15:04Z"}',
            "is 86401 s before receipt (max_age_s 86400)",
        ),
    ],
)
def test_errors(payload: str, why: str) -> None:
    assert why in reason(SENSOR, payload)
