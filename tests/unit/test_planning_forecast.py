"""Arrivals forecast and backtest on simulated weeks with Vietnamese holidays in them."""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest

from gateway.config_loader import load_settings
from gateway.planning.backtest import backtest, render_backtest
from gateway.planning.forecast import (
    DayHour,
    ForecastParams,
    forecast_day,
    holidays_around,
    open_minutes,
    robust_center,
    vietnam_holidays,
)
from gateway.settings import SiteConfig

ROOT = Path(__file__).resolve().parents[2]
PROFILE = {7: 20, 8: 70, 9: 90, 10: 80, 11: 25, 13: 20, 14: 60, 15: 70, 16: 40}
NATIONAL_DAY = date(2026, 9, 2)  # a Wednesday; 31 Aug (substituted) and 1 Sep are off too


@cache
def site() -> SiteConfig:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings.site


def simulated(
    first: date, last: date, seed: int = 1, holiday_factor: float | None = None
) -> dict[DayHour, float]:
    """Poisson-ish arrivals on the demo site's open days; holidays closed (or ``holiday_factor``)."""
    rng = random.Random(seed)
    hols = vietnam_holidays(range(first.year, last.year + 1))
    out: dict[DayHour, float] = {}
    day = first
    while day <= last:
        factor = 0.55 if day.weekday() == 5 else 1.0
        if day in hols:
            factor = holiday_factor or 0.0
        for hour in open_minutes(site(), day):
            mean = PROFILE[hour] * factor
            if mean > 0:
                out[(day, hour)] = max(0.0, round(rng.gauss(mean, mean**0.5)))
        day += timedelta(days=1)
    return out


def test_opening_hours_and_lunch_break() -> None:
    assert open_minutes(site(), date(2026, 9, 9)) == {
        7: 30, 8: 60, 9: 60, 10: 60, 11: 30, 13: 30, 14: 60, 15: 60, 16: 60,
    }  # fmt: skip
    assert open_minutes(site(), date(2026, 9, 12)) == {7: 30, 8: 60, 9: 60, 10: 60, 11: 30}
    assert open_minutes(site(), date(2026, 9, 13)) == {}  # Sunday


def test_vietnam_holidays_know_tet_and_national_day() -> None:
    hols = vietnam_holidays([2026, 2027], closed_days=[date(2026, 12, 31)])
    assert NATIONAL_DAY in hols and date(2026, 9, 1) in hols
    assert date(2026, 2, 17) in hols  # Tết Nguyên Đán
    assert sum(1 for d in hols if date(2027, 2, 1) <= d <= date(2027, 2, 12)) >= 5
    assert hols[date(2026, 12, 31)] == "closed (configured)"


@pytest.mark.parametrize(
    ("values", "method", "expected"),
    [
        ([], "median", 0.0),
        ([5.0], "median", 5.0),
        ([1.0, 2.0, 100.0], "median", 2.0),
        ([1.0, 2.0, 3.0, 100.0], "median", 2.5),
        ([1.0, 2.0, 3.0, 4.0, 100.0], "trimmed_mean", 3.0),
    ],
)
def test_robust_center(values: list[float], method: str, expected: float) -> None:
    assert robust_center(values, method, 0.2) == pytest.approx(expected)  # type: ignore[arg-type]


def test_closed_days_get_no_forecast() -> None:
    history = simulated(date(2026, 7, 1), date(2026, 9, 30))
    hols = holidays_around(NATIONAL_DAY, 6)
    fc = forecast_day(history, NATIONAL_DAY, site(), hols, ForecastParams())
    assert fc.basis == "closed" and fc.hours == () and fc.total == 0
    sunday = forecast_day(history, date(2026, 9, 13), site(), hols, ForecastParams())
    assert sunday.basis == "closed"


@pytest.mark.parametrize("method", ["median", "trimmed_mean"])
@pytest.mark.parametrize("holiday_factor", [None, 0.15, 3.0])
@pytest.mark.parametrize("target", [date(2026, 9, 9), date(2026, 9, 16), date(2026, 9, 23)])
def test_holiday_does_not_distort_the_next_weeks(
    method: str, holiday_factor: float | None, target: date
) -> None:
    """Whether the center was closed on 2 September or saw odd traffic, the Wednesdays after
    it are forecast from the other Wednesdays only: as if the holiday had not been recorded."""
    history = simulated(date(2026, 7, 1), date(2026, 9, 30), holiday_factor=holiday_factor)
    params = ForecastParams(weeks=6, method=method)  # type: ignore[arg-type]
    hols = holidays_around(target, params.weeks)
    fc = forecast_day(history, target, site(), hols, params)
    assert fc.basis == "same weekday"
    assert NATIONAL_DAY not in fc.reference_days
    assert len(fc.reference_days) == 5
    assert (NATIONAL_DAY, "holiday: National Day") in fc.skipped
    without = {k: v for k, v in history.items() if k[0] != NATIONAL_DAY}
    clean = forecast_day(without, target, site(), hols, params)
    assert [h.arrivals for h in fc.hours] == [h.arrivals for h in clean.hours]
    # The forecast is close to the demand the history was drawn from.
    assert fc.total == pytest.approx(sum(PROFILE.values()), rel=0.1)
    if holiday_factor is not None:
        # Had the holiday been taken as a normal Wednesday, the forecast would move.
        naive = forecast_day(history, target, site(), {}, params)
        assert NATIONAL_DAY in naive.reference_days
        assert [h.arrivals for h in naive.hours] != [h.arrivals for h in fc.hours]


def test_days_without_data_are_gaps_not_zeros() -> None:
    history = simulated(date(2026, 7, 1), date(2026, 9, 30))
    gap = date(2026, 9, 16)  # gateway down all day: nothing stored
    history = {k: v for k, v in history.items() if k[0] != gap}
    fc = forecast_day(history, date(2026, 9, 23), site(), holidays_around(gap, 6), ForecastParams())
    assert gap not in fc.reference_days
    assert (gap, "no data") in fc.skipped
    assert fc.total == pytest.approx(sum(PROFILE.values()), rel=0.1)


def test_short_history_falls_back_to_the_same_day_type() -> None:
    history = simulated(date(2026, 11, 30), date(2026, 11, 30))  # one Monday only
    target = date(2026, 12, 2)  # a Wednesday
    fc = forecast_day(history, target, site(), holidays_around(target, 6), ForecastParams())
    assert fc.basis == "same day type"
    assert fc.reference_days == (date(2026, 11, 30),)
    assert [h.arrivals for h in fc.hours] == [
        history.get((date(2026, 11, 30), h), 0) for h in PROFILE
    ]
    nothing = forecast_day({}, target, site(), {}, ForecastParams())
    assert nothing.basis == "no history" and nothing.total == 0


def test_backtest_scores_a_regular_history_as_exact() -> None:
    history: dict[DayHour, float] = {}
    day = date(2026, 6, 1)
    while day <= date(2026, 9, 30):
        for hour in open_minutes(site(), day):
            history[(day, hour)] = float(PROFILE[hour]) * (0.55 if day.weekday() == 5 else 1)
        day += timedelta(days=1)
    hols = holidays_around(date(2026, 9, 30), 10)
    result = backtest(history, date(2026, 8, 3), date(2026, 9, 30), site(), hols, ForecastParams())
    assert result.mape == 0 and result.bias_pct == 0 and result.wape == 0
    assert NATIONAL_DAY not in result.days and date(2026, 8, 31) not in result.days
    assert [h.hour for h in result.hours] == sorted(PROFILE)


def test_backtest_on_noisy_history_prints_its_figures() -> None:
    history = simulated(date(2026, 6, 1), date(2026, 9, 30), holiday_factor=0.15)
    hols = holidays_around(date(2026, 9, 30), 10)
    result = backtest(history, date(2026, 8, 3), date(2026, 9, 30), site(), hols, ForecastParams())
    table = render_backtest(result)
    print(table)
    assert result.mape is not None and 0.02 < result.mape < 0.4
    assert result.bias_pct is not None and abs(result.bias_pct) < 0.1
    assert "MAPE" in table and "09:00" in table
