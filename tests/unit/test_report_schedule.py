"""When the next report is due (gateway.report.schedule): literal times, no clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from gateway.config_loader import parse_settings
from gateway.notify.config import NotificationSettings
from gateway.planning.forecast import vietnam_holidays
from gateway.report.schedule import ReportDue, ReportPlan, closing_time, next_due
from gateway.settings import SiteConfig

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SITE = SiteConfig.model_validate(
    {
        "id": "hcc",
        "name": "TTHCC",
        "opening_hours": [
            {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "sessions": [
                    {"start": "07:30", "end": "11:30"},
                    {"start": "13:30", "end": "17:00"},
                ],
            },
            {"days": ["sat"], "sessions": [{"start": "07:30", "end": "11:30"}]},
        ],
    }
)
PLAN = ReportPlan()


def at(day: int, h: int, m: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, h, m, tzinfo=TZ)


def due(
    after: datetime, closed: tuple[date, ...] = (), plan: ReportPlan = PLAN
) -> ReportDue | None:
    return next_due(after, SITE, vietnam_holidays([2025, 2026, 2027], closed), plan)


def test_closing_time_is_the_end_of_the_last_session() -> None:
    assert closing_time(SITE, date(2026, 10, 14)) == time(17, 0)
    assert closing_time(SITE, date(2026, 10, 17)) == time(11, 30)  # Saturday
    assert closing_time(SITE, date(2026, 10, 18)) is None  # Sunday


def test_the_daily_report_is_due_after_closing_each_open_day() -> None:
    assert due(at(14, 12)) == ReportDue("daily", date(2026, 10, 14), at(14, 17, 15))
    # strictly after: the moment it was due is done, the next is tomorrow's
    assert due(at(14, 17, 15)) == ReportDue("daily", date(2026, 10, 15), at(15, 17, 15))
    assert due(at(17, 9)) == ReportDue("daily", date(2026, 10, 17), at(17, 11, 45))  # Saturday
    assert due(at(14, 17, 15)).key == "report-daily-2026-10-15"  # type: ignore[union-attr]


def test_the_weekly_summary_is_due_on_monday_morning_for_the_week_before() -> None:
    assert due(at(17, 12)) == ReportDue("weekly", date(2026, 10, 12), at(19, 7, 0))
    # Monday: the weekly summary first, then that Monday's own report
    assert due(at(19, 7, 0)) == ReportDue("daily", date(2026, 10, 19), at(19, 17, 15))


def test_times_in_utc_are_read_in_site_time() -> None:
    after = datetime(2026, 10, 14, 10, 0, tzinfo=UTC)  # 17:00 in Hanoi
    found = due(after)
    assert found is not None and found.at == datetime(2026, 10, 14, 10, 15, tzinfo=UTC)


def test_holidays_and_closures_have_no_daily_report() -> None:
    # 2 September 2026 is National Day (a Wednesday): no report that evening
    found = due(at(2, 8, month=9))
    assert found is not None and found.day != date(2026, 9, 2)
    assert found.at > at(2, 23, month=9)
    # a closure from the site file
    closed = (date(2026, 10, 15),)
    assert due(at(14, 18), closed) == ReportDue("daily", date(2026, 10, 16), at(16, 17, 15))


def test_a_week_the_center_was_closed_throughout_has_no_summary() -> None:
    closed = tuple(date(2026, 10, 12) + timedelta(days=k) for k in range(6))
    assert due(at(17, 12), closed) == ReportDue("daily", date(2026, 10, 19), at(19, 17, 15))


def test_the_plan_chooses_which_and_when() -> None:
    weekly_only = ReportPlan(daily=False, weekly_at=time(8, 30))
    assert due(at(14, 12), plan=weekly_only) == ReportDue(
        "weekly", date(2026, 10, 12), at(19, 8, 30)
    )
    late = ReportPlan(weekly=False, after_close=timedelta(minutes=90))
    assert due(at(17, 12), plan=late) == ReportDue("daily", date(2026, 10, 17), at(17, 13, 0))
    assert due(at(17, 13), plan=late) == ReportDue("daily", date(2026, 10, 19), at(19, 18, 30))
    never_open = SiteConfig(id="hcc", name="TTHCC")
    assert next_due(at(14, 12), never_open, {}, PLAN) is None


def test_reports_name_known_roles_or_channels() -> None:
    channel = {"id": "mail", "type": "apprise", "url": "mailto://localhost"}
    ok = NotificationSettings.model_validate(
        {"channels": [channel], "roles": {"manager": ["mail"]}, "reports": {"notify": ["manager"]}}
    )
    assert ok.reports is not None and ok.reports.weekly_at == time(7, 0)
    with pytest.raises(ValidationError, match="reports.notify: 'giam-doc' is neither"):
        NotificationSettings.model_validate(
            {"channels": [channel], "reports": {"notify": ["giam-doc"]}}
        )


def test_the_documented_report_configuration_loads_on_the_demo_site() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "report.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Sent by the gateway") :]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load((root / "config" / "demo-site.yaml").read_text(encoding="utf-8"))
    data.update(yaml.safe_load(example))
    env = {"FLOORWATCH_SMTP_PASSWORD": "x", "FLOORWATCH_SMS_KEY": "k"}
    cfg = parse_settings(yaml.safe_dump(data, allow_unicode=True), env).settings.notifications
    assert cfg.reports is not None and cfg.reports.weekly_at == time(7, 0)
    assert cfg.targets(cfg.reports.notify) == ["mail-giam-doc", "sms-giam-doc"]
