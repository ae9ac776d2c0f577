"""Smoothing of counts, day/night hysteresis and the confidence of a count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras.smoothing import CountSmoother, ModeTracker, confidence, stability

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def run(smoother: CountSmoother, values: list[float], fps: float) -> float:
    out = 0.0
    for i, v in enumerate(values):
        out = smoother.update(v, T0 + timedelta(seconds=i / fps))
    return out


def test_smoothing_depends_on_time_not_on_frame_rate() -> None:
    two = run(CountSmoother(2.0), [0.0] + [10.0] * 4, fps=2)  # 2 s after the step
    five = run(CountSmoother(2.0), [0.0] + [10.0] * 10, fps=5)  # 2 s after the step
    assert two == pytest.approx(five, abs=0.01)
    assert two == pytest.approx(10 * (1 - 2.718281828**-1), abs=0.01)


def test_a_long_gap_restarts_from_the_new_value() -> None:
    s = CountSmoother(2.0)
    s.update(30, T0)
    assert s.update(5, T0 + timedelta(seconds=11)) == 5


def test_a_frame_from_the_past_changes_nothing() -> None:
    s = CountSmoother(2.0)
    s.update(4, T0)
    assert s.update(40, T0 - timedelta(seconds=1)) == 4


def test_zero_tau_means_no_smoothing() -> None:
    s = CountSmoother(0.0)
    s.update(4, T0)
    assert s.update(9, T0 + timedelta(seconds=0.2)) == 9


def test_mode_changes_only_after_it_held() -> None:
    m = ModeTracker(hold=3)
    assert m.update("day") == "day"
    assert [m.update("night") for _ in range(3)] == ["day", "day", "night"]
    assert m.update("day") == "night", "one day frame does not switch back"
    assert m.update("night") == "night"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"base": 0.9, "recent": [10, 10, 10]}, 0.9),
        ({"base": 0.9, "recent": [10, 10, 10], "night": True}, 0.81),
        ({"base": 0.9, "recent": [10, 10, 10], "warm": 0.5}, 0.45),
        ({"base": 1.0, "recent": [10, 10, 10], "fill": 0.6}, 0.8),
        ({"base": 1.0, "recent": [10, 10, 10], "fill": 1.0}, 0.4),
    ],
)
def test_confidence_table(kwargs: dict[str, object], expected: float) -> None:
    assert confidence(**kwargs) == pytest.approx(expected)  # type: ignore[arg-type]


def test_unstable_counts_are_less_certain() -> None:
    assert stability([10, 10, 10]) == 1.0
    assert stability([2, 18, 3, 17]) < 0.6


@given(
    st.floats(0, 1),
    st.lists(st.floats(0, 500), max_size=12),
    st.floats(-1, 2),
    st.floats(0, 1),
    st.booleans(),
)
def test_confidence_is_always_within_0_and_1(
    base: float, recent: list[float], warm: float, fill: float, night: bool
) -> None:
    assert 0.0 <= confidence(base=base, recent=recent, warm=warm, fill=fill, night=night) <= 1.0
