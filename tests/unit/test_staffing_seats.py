"""Staffing: counters open by their seat sensors beside the plan (gateway.planning.staffing)."""

from __future__ import annotations

from datetime import date

from gateway.planning.forecast import DayForecast, HourForecast
from gateway.planning.staffing import ServiceGroup, StaffingParams, plan_group, seats_on_day

DAY = date(2026, 9, 21)
SEATS = {
    "civil": {(DAY, 8): 2.0, (DAY, 9): 1.5, (date(2026, 9, 14), 9): 3.0},
    "land": {(DAY, 9): 4.0},
}


def test_seats_on_the_day_only_summed_over_the_groups_asked() -> None:
    assert seats_on_day(SEATS, DAY, ["civil"]) == {8: 2.0, 9: 1.5}
    assert seats_on_day(SEATS, DAY, ["civil", "land"]) == {8: 2.0, 9: 5.5}
    # another day's figures are never a stand-in: a day not lived has none
    assert seats_on_day(SEATS, date(2026, 9, 22), ["civil"]) == {}
    assert seats_on_day({}, DAY, ["civil"]) == {}


def test_each_hour_of_the_plan_carries_its_seats_figure_or_none() -> None:
    group = ServiceGroup("civil", "Tư pháp", 3, 600.0, "config", 0)
    forecast = DayForecast(
        DAY,
        "civil",
        (HourForecast(8, 60, 12.0), HourForecast(9, 60, 15.0), HourForecast(14, 60, 9.0)),
        (),
        "same weekday",
        (),
    )
    plan = plan_group(group, forecast, StaffingParams(), None, seats_on_day(SEATS, DAY, ["civil"]))
    assert [(h.hour, h.seats_open, h.counters_open) for h in plan.hours] == [
        (8, 2.0, None),
        (9, 1.5, None),
        (14, None, None),
    ]
    assert all(h.staffed <= 3 for h in plan.hours)
