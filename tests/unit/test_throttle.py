"""LogThrottle: once per key per interval, an overall budget, and a bounded key table."""

from __future__ import annotations

import pytest

from gateway.throttle import LogThrottle


def test_one_line_per_key_per_interval_with_the_held_count() -> None:
    t = LogThrottle(60.0)
    assert t.allow("a", 0.0) == (True, 0)
    assert t.allow("a", 10.0) == (False, 0)
    assert t.allow("a", 59.9) == (False, 0)
    assert t.allow("a", 60.0) == (True, 2)
    assert t.held_total == 2


def test_fifty_thousand_topics_are_a_few_lines_and_a_bounded_table() -> None:
    t = LogThrottle(60.0, per_interval=60, burst=10, max_keys=1024)
    allowed = 0
    for i in range(50_000):  # 50,000 topics over 50 s, one bad message each
        ok, _ = t.allow(f"flood/{i}", i / 1000.0)
        if ok:
            allowed += 1
            t.line_logged()
    # the burst, then one line a second
    assert allowed == pytest.approx(10 + 50, abs=2)
    assert allowed + t.held_total == 50_000
    assert len(t) == 1024
    assert t.evicted == 50_000 - 1024


def test_each_line_says_how_many_were_held_overall() -> None:
    t = LogThrottle(60.0, per_interval=1, burst=1)
    assert t.allow("a", 0.0) == (True, 0)
    assert t.line_logged() == 0
    for i in range(5):
        assert t.allow(f"k{i}", 1.0) == (False, 0)  # no token left
    assert t.allow("z", 60.0) == (True, 0)  # the bucket refilled
    assert t.line_logged() == 5


def test_a_key_held_by_the_budget_logs_its_count_later() -> None:
    t = LogThrottle(10.0, per_interval=1, burst=1)
    assert t.allow("a", 0.0) == (True, 0)
    assert t.allow("b", 0.0) == (False, 0)  # due, but the budget is spent
    assert t.allow("b", 5.0) == (False, 0)
    assert t.allow("b", 10.0) == (True, 2)


def test_the_least_recently_seen_key_is_forgotten() -> None:
    t = LogThrottle(60.0, max_keys=2)
    t.allow("a", 0.0)
    t.allow("b", 0.0)
    t.allow("a", 1.0)  # a is now the most recent
    t.allow("c", 2.0)  # b goes
    assert len(t) == 2
    assert t.allow("a", 3.0) == (False, 0)  # still remembered: within its interval


@pytest.mark.parametrize(
    "kwargs",
    [{"interval_s": 0.0}, {"interval_s": 1.0, "burst": 0}, {"interval_s": 1.0, "max_keys": 0}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LogThrottle(**kwargs)  # type: ignore[arg-type]
