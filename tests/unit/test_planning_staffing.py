"""Staffing plan: service times from tickets, Erlang C per hour, shortfall marks, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.planning.forecast import DayForecast, HourForecast
from gateway.planning.report import CSV_COLUMNS, plan_csv, render_plan
from gateway.planning.staffing import (
    ServiceGroup,
    StaffingParams,
    StaffingPlan,
    TicketRecord,
    counters_open,
    plan_group,
    plan_hour,
    pooled_group,
    service_durations,
    service_groups,
    typical_open,
)
from gateway.settings import ServiceConfig

T0 = datetime(2026, 9, 9, 1, 0, tzinfo=UTC)  # 08:00 in Hanoi
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def rec(
    service: str, ticket: str, event: str, minutes: float, counter: int | None = 1
) -> TicketRecord:
    return TicketRecord(service, ticket, event, T0 + timedelta(minutes=minutes), counter)


def test_service_durations_pair_each_served_with_its_call() -> None:
    records = [
        rec("land", "A001", "called", 0),
        rec("land", "A002", "called", 1, counter=2),
        rec("land", "A001", "served", 12),
        rec("land", "A002", "served", 9, counter=2),
        rec("land", "A003", "served", 20),  # never called: ignored
        rec("civil", "B001", "called", 0),
        rec("civil", "B001", "served", 0.1),  # 6 s: a mis-click, dropped
        rec("civil", "B002", "called", 0),
        rec("civil", "B002", "served", 200),  # left open over lunch: dropped
    ]
    assert service_durations(records) == {"land": [480.0, 720.0]}


def test_service_groups_use_tickets_only_with_enough_samples() -> None:
    services = [
        ServiceConfig(id="land", name="Đất đai", counters=[1, 2, 3], service_time_s=900),
        ServiceConfig(id="civil", name="Hộ tịch", counters=[4], service_time_s=600),
    ]
    durations = {"land": [300.0] * 19 + [6000.0], "civil": [100.0] * 5}
    land, civil = service_groups(services, durations, min_samples=20)
    assert (land.source, land.samples, land.counters) == ("tickets", 20, 3)
    assert land.service_time_s == pytest.approx(300.0)  # the 6000 s outlier is trimmed
    assert (civil.source, civil.service_time_s) == ("config", 600)
    pooled = pooled_group([land, civil])
    assert (pooled.id, pooled.counters) == ("all", 4)


def test_counters_open_per_local_hour() -> None:
    records = [
        rec("land", "A1", "called", 5, 1),
        rec("land", "A2", "called", 10, 2),
        rec("land", "A1", "served", 20, 1),
        rec("land", "A3", "called", 70, 1),
        rec("civil", "B1", "called", 5, None),
    ]
    opened = counters_open(records, HCM)
    assert opened == {"land": {(date(2026, 9, 9), 8): 2, (date(2026, 9, 9), 9): 1}}
    assert typical_open(opened["land"], date(2026, 9, 9), []) == {8: 2.0, 9: 1.0}
    ref = {(date(2026, 9, 2), 8): 3, (date(2026, 8, 26), 8): 5, (date(2026, 8, 19), 8): 4}
    assert typical_open(ref, date(2026, 9, 9), [date(2026, 9, 2), date(2026, 8, 26)]) == {8: 4.0}


GROUP = ServiceGroup("land", "Đất đai", counters=4, service_time_s=900, source="config", samples=0)
PARAMS = StaffingParams(level=0.8, target_wait_s=900)


def test_an_hour_within_the_counters() -> None:
    h = plan_hour(9, 60, 12, GROUP, PARAMS)
    assert h.traffic == pytest.approx(3.0)
    assert (h.needed, h.staffed, h.short) == (4, 4, False)
    assert h.service_level >= 0.8 and h.occupancy == pytest.approx(0.75)


def test_half_an_hour_open_doubles_the_rate() -> None:
    full, half = plan_hour(7, 60, 6, GROUP, PARAMS), plan_hour(7, 30, 6, GROUP, PARAMS)
    assert half.traffic == pytest.approx(2 * full.traffic)
    assert half.needed >= full.needed


def test_demand_beyond_the_counters_is_marked() -> None:
    h = plan_hour(9, 60, 30, GROUP, PARAMS)
    assert h.needed > 4 and h.short and h.staffed == 4
    assert h.wait_s == float("inf") and h.service_level == 0.0


def test_wrap_up_adds_counter_time() -> None:
    plain = plan_hour(9, 60, 10, GROUP, PARAMS)
    backoffice = plan_hour(9, 60, 10, GROUP, StaffingParams(0.8, 900, wrap_up_ratio=0.75))
    assert backoffice.traffic == pytest.approx(1.75 * plain.traffic)
    assert backoffice.needed >= plain.needed


def test_plan_table_and_csv() -> None:
    fc = DayForecast(
        date(2026, 9, 9),
        "land",
        (HourForecast(8, 60, 8.0), HourForecast(9, 60, 30.0)),
        (date(2026, 9, 2),),
        "same weekday",
        (),
    )
    plan = StaffingPlan(
        date(2026, 9, 9), PARAMS, (plan_group(GROUP, fc, PARAMS, {8: 2.0}),), "tickets"
    )
    assert plan.short_hours == (("land", 9),)
    rows = list(csv.DictReader(io.StringIO(plan_csv(plan))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["hour"], r["short"], r["counters_open_actual"]) for r in rows] == [
        ("08:00", "no", "2"),
        ("09:00", "yes", ""),
    ]
    assert rows[1]["expected_wait_min"] == ""  # the queue grows all hour
    table = render_plan(plan)
    assert "Wednesday 09 September 2026" in table
    assert "! demand exceeds the counters available: land 09h" in table
    assert "80% called within 15 min" in table
