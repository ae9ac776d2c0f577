"""Forecast error on stored history: each past day forecast from the weeks before it. Pure.

For every open, non-holiday day with data in the test window, the forecast is
made as it would have been the evening before (history before that day only)
and compared hour by hour with what happened. Per hour of day: MAPE (mean
absolute percentage error over the hours with arrivals) and bias (mean of
forecast - actual, and as a share of the actual total: positive means the
forecast ran high).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.planning.forecast import (
    ForecastParams,
    History,
    forecast_day,
    is_open_day,
    observed_days,
)
from gateway.settings import SiteConfig


@dataclass(frozen=True, slots=True)
class HourError:
    hour: int
    days: int  # days compared
    mape: float | None  # mean |f - a| / a over hours with a > 0; None if there were none
    bias: float  # mean (f - a), arrivals per hour
    bias_pct: float | None  # sum(f - a) / sum(a)
    mean_actual: float


@dataclass(frozen=True, slots=True)
class BacktestResult:
    group: str
    days: tuple[date, ...]
    hours: tuple[HourError, ...]
    mape: float | None  # over every compared hour with arrivals
    wape: float | None  # sum |f - a| / sum a: the error weighted by volume
    bias_pct: float | None


def backtest(
    history: History,
    first: date,
    last: date,
    site: SiteConfig,
    holiday_names: Mapping[date, str],
    params: ForecastParams,
    group: str = "all",
) -> BacktestResult:
    """Forecast every testable day in ``first..last`` (inclusive) and score it."""
    observed = observed_days(history)
    pairs: dict[int, list[tuple[float, float]]] = {}
    days: list[date] = []
    day = first
    while day <= last:
        if is_open_day(site, day, holiday_names) and day in observed:
            fc = forecast_day(history, day, site, holiday_names, params, group)
            if fc.basis != "no history":
                days.append(day)
                for h in fc.hours:
                    actual = history.get((day, h.hour), 0.0)
                    pairs.setdefault(h.hour, []).append((h.arrivals, actual))
        day += timedelta(days=1)
    hours = tuple(_score(hour, pairs[hour]) for hour in sorted(pairs))
    every = [p for hour in sorted(pairs) for p in pairs[hour]]
    total = sum(a for _, a in every)
    return BacktestResult(
        group=group,
        days=tuple(days),
        hours=hours,
        mape=_mape(every),
        wape=(sum(abs(f - a) for f, a in every) / total) if total > 0 else None,
        bias_pct=(sum(f - a for f, a in every) / total) if total > 0 else None,
    )


def _score(hour: int, pairs: list[tuple[float, float]]) -> HourError:
    total = sum(a for _, a in pairs)
    return HourError(
        hour=hour,
        days=len(pairs),
        mape=_mape(pairs),
        bias=sum(f - a for f, a in pairs) / len(pairs),
        bias_pct=(sum(f - a for f, a in pairs) / total) if total > 0 else None,
        mean_actual=total / len(pairs),
    )


def _mape(pairs: list[tuple[float, float]]) -> float | None:
    errors = [abs(f - a) / a for f, a in pairs if a > 0]
    return sum(errors) / len(errors) if errors else None


def render_backtest(result: BacktestResult) -> str:
    """A readable table: one line per hour of day, then the totals."""
    lines = [
        f"backtest [{result.group}]: {len(result.days)} days"
        + (f" ({result.days[0]} .. {result.days[-1]})" if result.days else ""),
        "hour   days  mean actual   MAPE    bias/h   bias %",
    ]
    for h in result.hours:
        lines.append(
            f"{h.hour:02d}:00 {h.days:5d} {h.mean_actual:12.1f} {_pct(h.mape):>7}"
            f" {h.bias:+9.1f} {_pct(h.bias_pct, signed=True):>8}"
        )
    lines.append(
        f"all hours: MAPE {_pct(result.mape)}, WAPE {_pct(result.wape)},"
        f" bias {_pct(result.bias_pct, signed=True)}"
    )
    return "\n".join(lines)


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"
