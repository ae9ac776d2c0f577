"""StalenessTracker: stale once past the deadline, back once on the next data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.observations import DeviceHealth, DeviceKind
from sensors.staleness import Expectation, StalenessTracker

START = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def stale(sensor_id: str, when: float, detail: str) -> DeviceHealth:
    return DeviceHealth(sensor_id, DeviceKind.SENSOR, False, at(when), detail)


def back(sensor_id: str, when: float) -> DeviceHealth:
    return DeviceHealth(sensor_id, DeviceKind.SENSOR, True, at(when), "reporting again")


def tracker() -> StalenessTracker:
    return StalenessTracker(
        {"cl-a": Expectation(60, 3), "pc-b": Expectation(30, 3), "dc-c": 100.0}, start=START
    )


def test_never_seen_sensors_count_from_start() -> None:
    t = tracker()
    assert t.check(at(90)) == []
    assert t.check(at(91)) == [stale("pc-b", 91, "stale: no data for 91 s (expected every 30 s)")]
    assert t.check(at(150)) == [stale("dc-c", 150, "stale: no data for 150 s (deadline 100 s)")]
    assert t.check(at(181)) == [
        stale("cl-a", 181, "stale: no data for 181 s (expected every 60 s)")
    ]
    assert t.check(at(5000)) == []  # each once
    assert t.stale == {"cl-a", "pc-b", "dc-c"}


def test_exactly_at_the_deadline_is_not_stale() -> None:
    t = StalenessTracker({"x": Expectation(10, 3)}, start=START)
    assert t.check(at(30)) == []
    assert len(t.check(at(30.001))) == 1


def test_first_data_is_reported_online_once() -> None:
    t = tracker()
    first = t.seen("pc-b", at(5))
    assert [(h.device_id, h.online, h.detail, h.at) for h in first] == [
        ("pc-b", True, "reporting", at(5))
    ]
    assert t.seen("pc-b", at(6)) == []


def test_data_keeps_a_sensor_fresh() -> None:
    t = tracker()
    t.seen("pc-b", at(0))  # its first data: reported online once
    for second in range(25, 600, 25):
        assert t.seen("pc-b", at(second)) == []
        assert [h.device_id for h in t.check(at(second + 1))] in ([], ["dc-c"], ["cl-a"])
    assert "pc-b" not in t.stale


def test_recovery_is_reported_once_from_seen() -> None:
    t = tracker()
    t.seen("cl-a", at(10))
    assert t.check(at(200)) == [  # in the order the sensors were given
        stale("cl-a", 200, "stale: no data for 190 s (expected every 60 s)"),
        stale("pc-b", 200, "stale: no data for 200 s (expected every 30 s)"),
        stale("dc-c", 200, "stale: no data for 200 s (deadline 100 s)"),
    ]
    assert t.seen("cl-a", at(230)) == [back("cl-a", 230)]
    assert t.seen("cl-a", at(240)) == []
    assert t.check(at(241)) == []
    assert t.stale == {"pc-b", "dc-c"}
    # and it can go stale again, counted from its last data
    assert t.check(at(421)) == [
        stale("cl-a", 421, "stale: no data for 181 s (expected every 60 s)")
    ]


def test_an_out_of_order_time_does_not_move_last_seen_back() -> None:
    t = tracker()
    t.seen("pc-b", at(100))
    t.seen("pc-b", at(20))
    assert t.last_seen("pc-b") == at(100)
    assert [h.device_id for h in t.check(at(180))] == ["dc-c"]


def test_unknown_sensors_are_ignored() -> None:
    t = tracker()
    assert t.seen("nobody", at(1)) == []
    assert t.last_seen("nobody") is None


@pytest.mark.parametrize("deadline", [0, -5, Expectation(0, 3), Expectation(60, 0)])
def test_deadline_must_be_positive(deadline: float | Expectation) -> None:
    with pytest.raises(ValueError, match="positive"):
        StalenessTracker({"x": deadline}, start=START)
