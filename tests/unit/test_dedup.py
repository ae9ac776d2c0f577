"""sensors.dedup: identical payloads per sensor and topic within a window are one reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensors.dedup import DuplicateFilter

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_four_identical_payloads_within_a_second_are_one_reading() -> None:
    f = DuplicateFilter(2.0)
    seen = [f.seen("cl-1", "t/1", b'{"temperature": 26.4}', at(i * 0.25)) for i in range(4)]
    assert seen == [False, True, True, True]
    assert f.suppressed == 3


def test_a_different_payload_topic_or_sensor_is_a_reading() -> None:
    f = DuplicateFilter(2.0)
    assert not f.seen("cl-1", "t/1", b"26.4", at(0))
    assert not f.seen("cl-1", "t/1", b"26.5", at(0.1))  # a new value
    assert not f.seen("cl-1", "t/1", b"26.4", at(0.2))  # back to the old one: new again
    assert not f.seen("cl-1", "t/2", b"26.4", at(0.3))  # another device of a wildcard sensor
    assert not f.seen("cl-2", "t/1", b"26.4", at(0.4))  # another sensor on the topic


def test_the_window_is_counted_from_the_reading_kept() -> None:
    f = DuplicateFilter(2.0)
    repeats = [f.seen("s", "t", b"x", at(i * 0.5)) for i in range(9)]  # 0 .. 4 s
    # kept at 0 s, 2 s and 4 s: a device repeating itself is still heard every window
    assert [i * 0.5 for i, r in enumerate(repeats) if not r] == [0.0, 2.0, 4.0]


def test_a_periodic_sensor_with_an_unchanged_value_is_not_suppressed() -> None:
    f = DuplicateFilter(2.0)
    assert [f.seen("s", "t", b"26.4", at(i * 60)) for i in range(5)] == [False] * 5


def test_zero_turns_it_off_and_a_clock_going_back_is_not_a_duplicate() -> None:
    off = DuplicateFilter(0)
    assert [off.seen("s", "t", b"x", at(0)) for _ in range(3)] == [False] * 3
    f = DuplicateFilter(2.0)
    assert not f.seen("s", "t", b"x", at(10))
    assert not f.seen("s", "t", b"x", at(9))  # an earlier receipt time: not within a window
    with pytest.raises(ValueError, match="window_s"):
        DuplicateFilter(-1)


def test_the_table_is_bounded() -> None:
    f = DuplicateFilter(2.0, max_keys=100)
    for i in range(50_000):
        f.seen("s", f"flood/{i}", b"x", at(0))
    assert len(f) == 100


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.sampled_from([b"1", b"2"]), st.floats(0, 5)),
        max_size=40,
    )
)
def test_kept_readings_of_one_payload_are_at_least_a_window_apart(
    events: list[tuple[str, bytes, float]],
) -> None:
    f = DuplicateFilter(1.0)
    kept: dict[tuple[str, bytes], list[float]] = {}
    last: dict[str, bytes] = {}
    for topic, payload, dt in sorted(events, key=lambda e: e[2]):
        repeat = f.seen("s", topic, payload, at(dt))
        if not repeat:
            if last.get(topic) == payload:  # kept although the same as the one before
                assert dt - kept[(topic, payload)][-1] >= 1.0
            kept.setdefault((topic, payload), []).append(dt)
        else:
            assert last.get(topic) == payload  # only ever a repeat of the topic's last reading
        last[topic] = payload
