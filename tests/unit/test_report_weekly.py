"""The weekly summary from literal daily figures (gateway.report.weekly, render_weekly)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from gateway.report.model import DailyReport, build_report
from gateway.report.render import report_font
from gateway.report.render_weekly import render_week
from gateway.report.weekly import build_week, week_of
from gateway.settings import CrowdLevel
from tests.unit.test_report_model import DAY, TZ, figures, local, tp


def test_week_of_is_monday_to_sunday() -> None:
    assert week_of(date(2026, 10, 14)) == (date(2026, 10, 12), date(2026, 10, 18))
    assert week_of(date(2026, 10, 12)) == (date(2026, 10, 12), date(2026, 10, 18))
    assert week_of(date(2026, 10, 18)) == (date(2026, 10, 12), date(2026, 10, 18))


def day_report(day: date, issued: int, served: int) -> DailyReport:
    shift = timedelta(days=(day - DAY).days)
    tickets = [tp("tax", f"T{i}", "issued", local(8) + shift) for i in range(issued)]
    tickets += [tp("tax", f"T{i}", "called", local(8, 10) + shift) for i in range(served)]
    tickets += [tp("tax", f"T{i}", "served", local(8, 20) + shift) for i in range(served)]
    f = figures(tickets=tickets)
    return build_report(replace(f, day=day))


def test_the_week_sums_its_open_days_and_names_the_closed_ones() -> None:
    monday = date(2026, 10, 12)
    reports = [day_report(monday + timedelta(days=k), 10 + k, 8 + k) for k in range(6)]
    outside = day_report(date(2026, 10, 19), 99, 99)  # the next Monday: not this week
    week = build_week(
        "hcc",
        "HCC",
        monday,
        [*reports, outside],
        {date(2026, 10, 18): "Sunday"},
    )
    assert [d.day for d in week.days] == [monday + timedelta(days=k) for k in range(6)]
    assert (week.issued, week.served, week.no_show) == (75, 63, 0)
    assert week.busiest is not None and week.busiest.day == date(2026, 10, 17)
    assert week.closed == ((date(2026, 10, 18), "Sunday"),)
    d = week.days[0]
    assert (d.wait_p50_min, d.wait_p90_min) == (10.0, 10.0)
    assert d.peak_level is CrowdLevel.CRITICAL and d.peak_zone == "Lối vào"
    assert d.short_hours == 1 and d.excursions == 5  # 2 + 1 + 1 in waiting, 1 in entrance
    done = render_week(
        week, "vi", generated_at=datetime(2026, 10, 19, 7, tzinfo=TZ), font=report_font()
    )
    assert done.pdf.startswith(b"%PDF") and done.charts["week"].startswith(b"\x89PNG")
    assert "Báo cáo tuần" in done.html and "2026-10-18 (Sunday)" in done.html
    assert "phát 75 phiếu, phục vụ 63" in done.html


def test_a_week_without_open_days() -> None:
    monday = date(2026, 10, 12)
    week = build_week("hcc", "HCC", monday, [], {monday: "Tết"})
    assert week.busiest is None and week.worst is None and week.issued == 0
    done = render_week(
        week, "en", generated_at=datetime(2026, 10, 19, 7, tzinfo=TZ), font=report_font()
    )
    assert "no open day this week" in done.html
