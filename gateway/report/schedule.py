"""When the next report is due: the daily report after closing, the weekly summary on Monday.

Pure module: the site's opening hours, the holidays and a moment in, the next due
report out. docs/report.md "Sent by the gateway".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from gateway.planning.forecast import WEEKDAYS, is_open_day
from gateway.report.model import DailyReport
from gateway.settings import SiteConfig

Kind = Literal["daily", "weekly"]
LOOK_AHEAD_DAYS = 21  # longer than Tết: a site closed longer has nothing due


@dataclass(frozen=True, slots=True)
class ReportDue:
    kind: Kind
    day: date  # daily: the day reported; weekly: the Monday of the week summed up
    at: datetime  # when it is due (aware)

    @property
    def key(self) -> str:
        """Stable per report: the idempotency key of its messages."""
        return f"report-{self.kind}-{self.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class ReportPlan:
    """What to send and when (from ``notifications.reports``)."""

    daily: bool = True
    weekly: bool = True
    after_close: timedelta = timedelta(minutes=15)
    weekly_at: time = time(7, 0)


def closing_time(site: SiteConfig, day: date) -> time | None:
    """The end of the last session on ``day``'s weekday; None: no opening hours that day."""
    weekday = WEEKDAYS[day.weekday()]
    ends = [s.end for rule in site.opening_hours if weekday in rule.days for s in rule.sessions]
    return max(ends) if ends else None


def dues_on(
    day: date, site: SiteConfig, holidays: Mapping[date, str], plan: ReportPlan, tz: ZoneInfo
) -> list[ReportDue]:
    """The reports falling due on ``day`` (site time)."""
    out: list[ReportDue] = []
    if plan.weekly and day.weekday() == 0:
        first = day - timedelta(days=7)
        week = [first + timedelta(days=k) for k in range(7)]
        if any(is_open_day(site, d, holidays) for d in week):
            at = datetime.combine(day, plan.weekly_at, tzinfo=tz)
            out.append(ReportDue("weekly", first, at))
    if plan.daily and is_open_day(site, day, holidays):
        closing = closing_time(site, day)
        if closing is not None:
            at = datetime.combine(day, closing, tzinfo=tz) + plan.after_close
            out.append(ReportDue("daily", day, at))
    return out


def next_due(
    after: datetime, site: SiteConfig, holidays: Mapping[date, str], plan: ReportPlan
) -> ReportDue | None:
    """The first report due strictly after ``after``; None when none within three weeks.

    ``holidays`` must cover the years around ``after`` (``vietnam_holidays``).
    """
    tz = ZoneInfo(site.timezone)
    start = after.astimezone(tz).date() - timedelta(days=1)
    for k in range(LOOK_AHEAD_DAYS + 2):
        found = [
            d for d in dues_on(start + timedelta(days=k), site, holidays, plan, tz) if d.at > after
        ]
        if found:
            return min(found, key=lambda d: d.at)
    return None


_SUMMARY = {
    "vi": (
        "Báo cáo ngày {day} – {site}",
        "Phát {issued} số, phục vụ {served}, vắng {no_show}; {alerts} cảnh báo. "
        "Báo cáo đầy đủ (PDF) được gửi qua e-mail.",
    ),
    "en": (
        "Daily report {day} – {site}",
        "{issued} tickets issued, {served} served, {no_show} no-show; {alerts} alerts. "
        "The full report (PDF) is sent by e-mail.",
    ),
}
_WEEK = {
    "vi": ("Báo cáo tuần {first} – {last} – {site}", "Báo cáo tuần (PDF) được gửi qua e-mail."),
    "en": ("Weekly summary {first} – {last} – {site}", "The summary (PDF) is sent by e-mail."),
}


def daily_texts(report: DailyReport, lang: str) -> tuple[str, str]:
    """Title and a short text of a day's report (for channels without attachments: SMS, Zalo)."""
    title, body = _SUMMARY["en" if lang == "en" else "vi"]
    t = report.totals
    day = report.day.strftime("%d/%m/%Y")
    values = {
        "day": day,
        "site": report.site_name,
        "issued": t.issued,
        "served": t.served,
        "no_show": t.no_show,
        "alerts": report.alerts.raised,
    }
    return title.format(**values), body.format(**values)


def weekly_texts(site_name: str, first: date, lang: str) -> tuple[str, str]:
    title, body = _WEEK["en" if lang == "en" else "vi"]
    last = first + timedelta(days=6)
    return (
        title.format(first=first.strftime("%d/%m"), last=last.strftime("%d/%m/%Y"), site=site_name),
        body,
    )
