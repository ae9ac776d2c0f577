"""Erlang C against published values, and the properties a staffing plan relies on."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.planning import erlang

# 100 arrivals per 30 minutes, 180 s handling: A = 10 Erlangs. P(wait) per number
# of agents as in the published Erlang C tables; 14 agents and a 20 s target give
# the textbook service level 0.8884 (ASA 7.8 s).
PUBLISHED_P_WAIT = [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741), (15, 0.1020)]


def test_textbook_example() -> None:
    a = erlang.traffic_erlangs(100, 1800, 180)
    assert a == pytest.approx(10.0)
    r = erlang.evaluate(14, a, 180, 20)
    assert r.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert r.service_level == pytest.approx(0.8884, abs=5e-5)
    assert r.asa_s == pytest.approx(7.8, abs=0.05)
    assert r.occupancy == pytest.approx(10 / 14)
    assert r.stable
    assert erlang.counters_needed(a, 180, 20, 0.8) == 14  # 13 agents give 0.7955
    assert erlang.service_level(13, a, 180, 20) == pytest.approx(0.7955, abs=5e-4)


@pytest.mark.parametrize(("agents", "expected"), PUBLISHED_P_WAIT)
def test_probability_of_waiting_table(agents: int, expected: float) -> None:
    assert erlang.p_wait(agents, 10.0) == pytest.approx(expected, abs=5e-5)


def test_erlang_b_published() -> None:
    # Erlang B table: 10 Erlangs on 10 lines block 21.46 % of calls.
    assert erlang.erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)


@pytest.mark.parametrize(("counters", "traffic"), [(0, 0.0), (3, 0.0), (5, 5.0), (4, 7.5)])
def test_edges(counters: int, traffic: float) -> None:
    r = erlang.evaluate(counters, traffic, 300, 900)
    if traffic == 0:
        assert (r.p_wait, r.service_level, r.asa_s) == (0.0, 1.0, 0.0)
    else:
        assert not r.stable and r.p_wait == 1.0 and r.service_level == 0.0
        assert math.isinf(r.asa_s)
    assert erlang.counters_needed(0.0, 300, 900, 0.8) == 0


def test_large_centres_stay_finite() -> None:
    # A^N / N! would overflow a float long before 2000 counters; the recursion does not.
    p = erlang.p_wait(2000, 1950.0)
    assert 0 < p < 1
    assert erlang.counters_needed(1950.0, 180, 20, 0.8) > 1950


@pytest.mark.parametrize("bad", [(-1, 1.0), (3, -1.0), (3, math.inf)])
def test_rejects_nonsense(bad: tuple[int, float]) -> None:
    with pytest.raises(ValueError):
        erlang.p_wait(*bad)


arrivals = st.floats(min_value=0, max_value=400, allow_nan=False)
handle = st.floats(min_value=30, max_value=3600, allow_nan=False)
target = st.floats(min_value=0, max_value=1800, allow_nan=False)
level = st.floats(min_value=0.5, max_value=0.95)


def needed(n_arrivals: float, handle_s: float, target_s: float, lvl: float) -> int:
    return erlang.counters_needed(
        erlang.traffic_erlangs(n_arrivals, 3600, handle_s), handle_s, target_s, lvl
    )


@given(arrivals, arrivals, handle, target, level)
def test_more_arrivals_never_need_fewer_counters(
    a: float, b: float, h: float, t: float, lvl: float
) -> None:
    lo, hi = sorted((a, b))
    assert needed(lo, h, t, lvl) <= needed(hi, h, t, lvl)


@given(arrivals, handle, handle, target, level)
def test_longer_service_never_needs_fewer_counters(
    a: float, h1: float, h2: float, t: float, lvl: float
) -> None:
    lo, hi = sorted((h1, h2))
    assert needed(a, lo, t, lvl) <= needed(a, hi, t, lvl)


@given(arrivals, handle, target, level)
def test_the_answer_is_the_fewest_that_reach_the_target(
    a: float, h: float, t: float, lvl: float
) -> None:
    traffic = erlang.traffic_erlangs(a, 3600, h)
    n = erlang.counters_needed(traffic, h, t, lvl)
    if n > 0:
        assert erlang.service_level(n, traffic, h, t) >= lvl
        assert erlang.service_level(n - 1, traffic, h, t) < lvl


@given(st.floats(min_value=0.1, max_value=200), st.integers(min_value=1, max_value=300), handle)
def test_service_level_rises_with_counters(traffic: float, n: int, h: float) -> None:
    assert erlang.service_level(n, traffic, h, 60) <= erlang.service_level(n + 1, traffic, h, 60)
    assert 0.0 <= erlang.p_wait(n, traffic) <= 1.0
