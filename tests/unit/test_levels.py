"""Crowd levels: Fruin LOS, thresholds, dwell and hysteresis (gateway.levels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.levels import (
    RANK,
    LevelThresholds,
    LevelTracker,
    instant_level,
    level_of_service,
    los_people_threshold,
    thresholds,
)
from gateway.settings import (
    CrowdConfig,
    CrowdLevel,
    LevelOfService,
    LosThresholds,
    OccupancyThresholds,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
L = CrowdLevel


@pytest.mark.parametrize(
    ("people", "area", "los"),
    [
        (0, 100, "A"),
        (1, 1.21, "A"),  # exactly 1.21 m² per person is still A
        (100, 121, "A"),
        (100, 120, "B"),
        (100, 90, "B"),
        (100, 89.9, "C"),
        (100, 70, "C"),
        (100, 69, "D"),
        (100, 30, "D"),
        (100, 29, "E"),
        (100, 20, "E"),
        (100, 19.9, "F"),
    ],
)
def test_level_of_service_follows_fruin(people: int, area: float, los: str) -> None:
    assert level_of_service(people, area).value == los


def test_los_people_threshold_is_just_past_the_boundary() -> None:
    # 90 m²: LOS C begins with less than 0.90 m² per person, i.e. more than 100 people.
    t = los_people_threshold(LevelOfService.C, 90)
    assert t > 100
    assert level_of_service(100, 90) is LevelOfService.B
    assert level_of_service(101, 90) is LevelOfService.C
    assert los_people_threshold(LevelOfService.A, 90) == 0


@pytest.mark.parametrize(
    ("crowd", "capacity", "area", "expected"),
    [
        # occupancy ratio only (seated area): 0.5, 0.8, 1.0 of 100 seats
        (CrowdConfig(), 100, 1000, (50, 80, 100)),
        # LOS only bites when the room is small for its capacity: 100 m², C/D/E
        # begin past 100/0.9=111, 100/0.7=143, 100/0.3=333 people; ratio gives 50/80/100
        (CrowdConfig(los=LosThresholds()), 100, 100, (50, 80, 100)),
        # a standing area of 60 m² rated for 200: LOS wins for busy and crowded
        (CrowdConfig(los=LosThresholds()), 200, 60, (60 / 0.9, 60 / 0.7, 60 / 0.3)),
        (
            CrowdConfig(occupancy=OccupancyThresholds(busy=0.2, crowded=0.4, critical=0.6)),
            50,
            1000,
            (10, 20, 30),
        ),
    ],
)
def test_thresholds_take_the_worse_mapping(
    crowd: CrowdConfig, capacity: int, area: float, expected: tuple[float, float, float]
) -> None:
    t = thresholds(crowd, capacity=capacity, area_m2=area)
    assert (t.busy, t.crowded, t.critical) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("people", "level"),
    [(0, L.CALM), (49, L.CALM), (50, L.BUSY), (79.9, L.BUSY), (80, L.CROWDED), (100, L.CRITICAL)],
)
def test_instant_level(people: float, level: CrowdLevel) -> None:
    assert instant_level(people, LevelThresholds(50, 80, 100)) is level


def tracker(dwell_s: float = 60, hysteresis: float = 0.1) -> LevelTracker:
    return LevelTracker(LevelThresholds(50, 80, 100), dwell_s, hysteresis)


def run(tr: LevelTracker, steps: list[tuple[float, float]]) -> list[CrowdLevel]:
    """steps: (seconds after T0, people)."""
    return [tr.update(p, T0 + timedelta(seconds=s)) for s, p in steps]


def test_rise_waits_for_the_dwell() -> None:
    out = run(tracker(), [(0, 85), (30, 85), (59, 85), (60, 85)])
    assert out == [L.CALM, L.CALM, L.CALM, L.CROWDED]


def test_a_short_peak_does_not_rise() -> None:
    out = run(tracker(), [(0, 85), (30, 85), (40, 10), (70, 85), (100, 85)])
    assert out == [L.CALM] * 5


def test_rise_to_the_highest_level_that_held() -> None:
    # busy-or-more held 60 s while critical held only 20 s: busy... crowded held 60 s
    out = run(tracker(), [(0, 85), (40, 120), (60, 120), (100, 120)])
    assert out == [L.CALM, L.CALM, L.CROWDED, L.CRITICAL]


def test_fall_only_below_threshold_minus_hysteresis() -> None:
    tr = tracker(dwell_s=0)
    assert run(tr, [(0, 85)]) == [L.CROWDED]
    # 80 x 0.9 = 72: 73 keeps crowded, 71 falls to busy (71 >= 50 x 0.9)
    assert run(tr, [(1, 79), (2, 73), (3, 72), (4, 71)]) == [L.CROWDED] * 3 + [L.BUSY]
    # falling skips levels when it must: 10 people from busy is calm
    assert run(tr, [(5, 10)]) == [L.CALM]


def test_fall_is_immediate_and_rising_again_needs_the_dwell() -> None:
    tr = tracker(dwell_s=60)
    run(tr, [(0, 90), (60, 90)])
    assert tr.level is L.CROWDED
    assert run(tr, [(61, 20), (62, 90), (100, 90), (122, 90)]) == [
        L.CALM,
        L.CALM,
        L.CALM,
        L.CROWDED,
    ]


def test_pending_says_what_is_coming() -> None:
    tr = tracker(dwell_s=60)
    tr.update(90, T0)
    assert tr.pending(T0 + timedelta(seconds=20)) == (L.CROWDED, 40)
    tr.update(10, T0 + timedelta(seconds=30))
    assert tr.pending(T0 + timedelta(seconds=30)) is None


# --------------------------------------------------------------------------- properties

people = st.floats(min_value=0, max_value=400, allow_nan=False)
gaps = st.floats(min_value=0, max_value=120, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    start=st.sampled_from([L.BUSY, L.CROWDED, L.CRITICAL]),
    h=st.floats(min_value=0.05, max_value=0.5),
    dwell=st.floats(min_value=0, max_value=120),
    signal=st.lists(st.tuples(st.floats(min_value=0, max_value=1), gaps), min_size=1, max_size=40),
)
def test_oscillating_inside_the_hysteresis_band_never_changes_the_level(
    start: CrowdLevel,
    h: float,
    dwell: float,
    signal: list[tuple[float, float]],
) -> None:
    t = LevelThresholds(50, 80, 100)
    tr = LevelTracker(t, dwell, h)
    now = T0
    for _ in range(2):  # reach the start level
        tr.update(t.of(start), now)
        now += timedelta(seconds=dwell + 1)
    assert tr.level is start
    low, high = t.of(start) * (1 - h), t.of(start)
    for fraction, gap in signal:
        now += timedelta(seconds=gap)
        value = low + fraction * (high - low)
        if value >= high:
            continue
        assert tr.update(value, now) is start


@settings(max_examples=200, deadline=None)
@given(
    dwell=st.floats(min_value=0, max_value=120),
    h=st.floats(min_value=0, max_value=0.5),
    steps=st.lists(st.tuples(people, people, gaps), min_size=1, max_size=60),
)
def test_more_people_never_lowers_the_level(
    dwell: float, h: float, steps: list[tuple[float, float, float]]
) -> None:
    crowd = CrowdConfig(los=LosThresholds(), dwell_s=dwell, hysteresis=h)
    t = thresholds(crowd, capacity=150, area_m2=120)
    fewer, more = LevelTracker(t, dwell, h), LevelTracker(t, dwell, h)
    now = T0
    for a, b, gap in steps:
        now += timedelta(seconds=gap)
        lo, hi = min(a, b), max(a, b)
        assert RANK[more.update(hi, now)] >= RANK[fewer.update(lo, now)]


@given(a=people, b=people)
def test_instant_level_is_monotone(a: float, b: float) -> None:
    t = thresholds(CrowdConfig(los=LosThresholds()), capacity=150, area_m2=120)
    lo, hi = sorted((a, b))
    assert RANK[instant_level(hi, t)] >= RANK[instant_level(lo, t)]
