"""The staffing plan as ``staffing_plan`` line protocol, and the daily publish time."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.planning.forecast import DayForecast, HourForecast
from gateway.planning.plan_points import next_publish, plan_lines
from gateway.planning.staffing import (
    GroupPlan,
    ServiceGroup,
    StaffingParams,
    StaffingPlan,
    plan_group,
    pooled_group,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 9, 16)
PARAMS = StaffingParams(0.8, 900.0, 0.0)


def _group(gid: str, counters: int, hours: tuple[tuple[int, int, float], ...]) -> GroupPlan:
    group = ServiceGroup(gid, gid, counters, 600.0, "config", 0)
    fc = DayForecast(
        DAY, gid, tuple(HourForecast(*h) for h in hours), (date(2026, 9, 9),), "same weekday", ()
    )
    return plan_group(group, fc, PARAMS)


def _parse(line: str) -> tuple[dict[str, str], dict[str, str], int]:
    series, fields, ns = line.split(" ")
    _, *tags = series.split(",")
    return (
        dict(t.split("=", 1) for t in tags),
        dict(f.split("=", 1) for f in fields.split(",")),
        int(ns),
    )


def _hour_ns(hour: int) -> int:
    return int(datetime(2026, 9, 16, hour, tzinfo=HCM).timestamp()) * 10**9


def test_one_point_per_group_and_hour_then_the_total() -> None:
    land = _group("land", 8, ((7, 30, 6.0), (8, 60, 30.0)))
    civil = _group("civil", 1, ((7, 30, 1.0), (8, 60, 12.0)))  # 12 x 10 min in an hour: short
    lines = plan_lines("hcm-q1", StaffingPlan(DAY, PARAMS, (land, civil), "tickets"), HCM)
    parsed = [_parse(line) for line in lines]
    assert all(line.startswith("staffing_plan,service=") for line in lines)
    assert [(t["service"], t["site"], ns) for t, _, ns in parsed] == [
        ("land", "hcm-q1", _hour_ns(7)),
        ("land", "hcm-q1", _hour_ns(8)),
        ("civil", "hcm-q1", _hour_ns(7)),
        ("civil", "hcm-q1", _hour_ns(8)),
        ("all", "hcm-q1", _hour_ns(7)),
        ("all", "hcm-q1", _hour_ns(8)),
    ]
    by = {(t["service"], ns): f for t, f, ns in parsed}
    land8, civil8, all8 = (by[(s, _hour_ns(8))] for s in ("land", "civil", "all"))
    assert land8["counters"] == f"{land.hours[1].staffed}i"
    assert land8["needed"] == f"{land.hours[1].needed}i"
    assert land8["arrivals"] == "30.0" and land8["short"] == "false"
    assert float(land8["expected_wait_s"]) == pytest.approx(land.hours[1].wait_s)
    assert civil8 == civil8 | {"counters": "1i", "available": "1i", "short": "true"}
    assert "expected_wait_s" not in civil8  # the queue grows all hour: no finite wait
    assert civil.hours[1].needed > 1 and math.isinf(civil.hours[1].wait_s)
    staffed = land.hours[1].staffed + 1
    assert all8["counters"] == f"{staffed}i" and all8["available"] == "9i"
    assert all8["arrivals"] == "42.0" and all8["short"] == "true"
    assert "expected_wait_s" not in all8  # a group with visitors and no finite wait
    all7 = by[("all", _hour_ns(7))]
    w_land, w_civil = land.hours[0].wait_s, civil.hours[0].wait_s
    assert float(all7["expected_wait_s"]) == pytest.approx((6 * w_land + w_civil) / 7)
    assert all7["open_minutes"] == "30i"


def test_a_pooled_plan_is_the_total_and_tags_are_escaped() -> None:
    pooled = pooled_group([ServiceGroup("x", "x", 4, 600.0, "config", 0)])
    group = plan_group(
        pooled,
        DayForecast(DAY, "all", (HourForecast(9, 60, 10.0),), (), "no history", ()),
        PARAMS,
    )
    lines = plan_lines("site one,a", StaffingPlan(DAY, PARAMS, (group,), "doors"), HCM)
    assert len(lines) == 1
    assert lines[0].startswith("staffing_plan,service=all,site=site\\ one\\,a counters=")


def test_no_open_hours_no_lines() -> None:
    plan = StaffingPlan(DAY, PARAMS, (_group("land", 2, ()),), "tickets")
    assert plan_lines("s", plan, HCM) == []


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2026, 9, 16, 10, 0, tzinfo=HCM), datetime(2026, 9, 16, 18, 0, tzinfo=HCM)),
        (datetime(2026, 9, 16, 18, 0, tzinfo=HCM), datetime(2026, 9, 17, 18, 0, tzinfo=HCM)),
        (datetime(2026, 9, 16, 11, 30, tzinfo=UTC), datetime(2026, 9, 17, 18, 0, tzinfo=HCM)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=HCM), datetime(2027, 1, 1, 18, 0, tzinfo=HCM)),
    ],
)
def test_next_publish(now: datetime, due: datetime) -> None:
    assert next_publish(now, time(18, 0), HCM) == due


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_next_publish_is_within_a_day_at_that_time(naive: datetime) -> None:
    now = naive.replace(tzinfo=UTC)
    due = next_publish(now, time(18, 0), HCM)
    assert now < due
    assert (due - now).total_seconds() <= 86400
    assert due.astimezone(HCM).time() == time(18, 0)


def test_publish_at_must_be_quoted_in_yaml() -> None:
    import yaml
    from pydantic import ValidationError

    from gateway.settings import PlanningConfig

    assert PlanningConfig().publish_at == time(18, 0)
    quoted = yaml.safe_load('publish_at: "17:45"')
    assert PlanningConfig.model_validate(quoted).publish_at == time(17, 45)
    unquoted = yaml.safe_load("publish_at: 17:45")  # YAML 1.1: the number 1065
    with pytest.raises(ValidationError, match="quoted"):
        PlanningConfig.model_validate(unquoted)
