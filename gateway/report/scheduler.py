"""The gateway's report task: draws the daily report after closing and the weekly summary on
Monday morning, writes them under ``<state_dir>/reports`` and sends them through the
notification channels (docs/report.md "Sent by the gateway"). Shell module.

Apprise channels get the HTML as the body (turned into text where a channel has no
HTML) and the PDF attached; HTTP channels (SMS, Zalo) a short summary. A channel
that fails is retried with the notifications' backoff until ``expire_s``. The last
moment handled is kept in ``reports/schedule.json``: a report due while the gateway
was down is sent when it starts again (up to a day late), never twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog

from gateway.influx_query import HistoryError
from gateway.notify.batching import backoff_s
from gateway.notify.channels import ChannelError, Outgoing, sender
from gateway.notify.config import AppriseChannel, NotificationSettings
from gateway.planning.forecast import vietnam_holidays
from gateway.report.cli import report_files
from gateway.report.model import DailyReport, DayFigures, build_report
from gateway.report.reader import ClosedDay, ReportReader
from gateway.report.schedule import ReportDue, ReportPlan, daily_texts, next_due, weekly_texts
from gateway.report.texts import Language
from gateway.report.weekly import WeeklyReport, build_week
from gateway.settings import Settings

log = structlog.get_logger("floorwatch.report")

LATE = timedelta(days=1)  # a report due longer ago than this (gateway down) is skipped
POLL_S = 60.0  # the longest sleep before the clock is read again


class FiguresReader(Protocol):
    """What the scheduler reads (``ReportReader``; a test gives literal figures)."""

    def figures(self, day: date) -> DayFigures: ...

    def week(self, first: date) -> tuple[list[DayFigures], dict[date, str]]: ...


@dataclass(frozen=True, slots=True)
class Produced:
    """A report written to disk, with what its messages say."""

    title: str
    html: str  # the e-mail body: one self-contained page
    summary: str  # a few words for SMS / chat channels
    pdf: Path
    html_path: Path


def write_daily(
    report: DailyReport, lang: Language, out_dir: Path, generated_at: datetime
) -> Produced:
    """Draw one day's report and write its HTML and PDF into ``out_dir``. Blocking."""
    from gateway.report.render import render, report_font  # matplotlib: slow import

    done = render(report, lang, generated_at=generated_at, font=report_font(), inline_images=True)
    html_name, pdf_name = report_files(report.day.isoformat(), lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / html_name).write_text(done.html, encoding="utf-8")
    (out_dir / pdf_name).write_bytes(done.pdf)
    title, summary = daily_texts(report, lang)
    return Produced(title, done.html, summary, out_dir / pdf_name, out_dir / html_name)


def write_weekly(
    week: WeeklyReport, lang: Language, out_dir: Path, generated_at: datetime
) -> Produced:
    from gateway.report.render import report_font
    from gateway.report.render_weekly import render_week

    done = render_week(
        week, lang, generated_at=generated_at, font=report_font(), inline_images=True
    )
    stem = f"week-{week.first.isoformat()}-{lang}"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.html").write_text(done.html, encoding="utf-8")
    (out_dir / f"{stem}.pdf").write_bytes(done.pdf)
    title, summary = weekly_texts(week.site_name, week.first, lang)
    return Produced(title, done.html, summary, out_dir / f"{stem}.pdf", out_dir / f"{stem}.html")


def messages(due: ReportDue, produced: Produced, site: str) -> tuple[Outgoing, Outgoing]:
    """(for Apprise channels: HTML body + PDF, for HTTP channels: the short text)."""
    full = Outgoing(
        key=due.key,
        title=produced.title,
        body=produced.html,
        kind="report",
        site=site,
        attachments=(produced.pdf,),
        html=True,
    )
    short = Outgoing(
        key=due.key, title=produced.title, body=produced.summary, kind="report", site=site
    )
    return full, short


async def deliver(
    cfg: NotificationSettings,
    due: ReportDue,
    produced: Produced,
    site: str,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], datetime],
    already: frozenset[str] = frozenset(),
    on_sent: Callable[[str], None] = lambda channel: None,
) -> dict[str, str | None]:
    """Send to every channel of ``cfg.reports.notify`` but ``already``; retried until ``expire_s``.

    ``on_sent(channel)`` is called after each channel took it. Returns channel id ->
    None (sent, now or before) or the last reason it failed.
    """
    targets = list(cfg.reports.notify) if cfg.reports is not None else []
    full, short = messages(due, produced, site)
    channels = {c: cfg.channel(c) for c in cfg.targets(targets)}
    outcome: dict[str, str | None] = {c: None if c in already else "not tried" for c in channels}
    started = clock()
    attempts = 0
    while True:
        for cid, channel in channels.items():
            if outcome[cid] is None:
                continue
            message = full if isinstance(channel, AppriseChannel) else short
            s = sender(channel)
            try:
                await s.send(message, frozenset())
                outcome[cid] = None
                on_sent(cid)
                log.info("report.sent", report=due.key, channel=cid, attempts=attempts + 1)
            except ChannelError as exc:
                outcome[cid] = exc.reason
                log.warning("report.send_failed", report=due.key, channel=cid, reason=exc.reason)
            except TimeoutError:
                outcome[cid] = "timed out"
                log.warning("report.send_failed", report=due.key, channel=cid, reason="timed out")
            finally:
                await s.close()
        attempts += 1
        if all(v is None for v in outcome.values()):
            return outcome
        wait = backoff_s(attempts, min_s=cfg.retry_min_s, max_s=cfg.retry_max_s)
        if (clock() - started).total_seconds() + wait > cfg.expire_s:
            for cid, reason in outcome.items():
                if reason is not None:
                    log.error("report.expired", report=due.key, channel=cid, reason=reason)
            return outcome
        await sleep(wait)


class ReportScheduler:
    """The report task of the composition root."""

    def __init__(
        self,
        settings: Settings,
        out_dir: Path,
        clock: Callable[[], datetime],
        *,
        reader: FiguresReader | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        cfg = settings.notifications.reports
        if cfg is None:
            raise ValueError("notifications.reports is not set: no report to send")
        self._settings = settings
        self._out = out_dir
        self._clock = clock
        self._sleep = sleep
        self._reader = reader
        self._tz = ZoneInfo(settings.site.timezone)
        self._cursor = clock()
        self._sent: dict[str, list[str]] = {}  # report key -> channels it reached (in progress)
        self._lang: Language = cfg.language or settings.notifications.language
        self._plan = ReportPlan(
            daily=cfg.daily,
            weekly=cfg.weekly,
            after_close=timedelta(minutes=cfg.after_close_min),
            weekly_at=cfg.weekly_at,
        )

    @property
    def state_file(self) -> Path:
        return self._out / "schedule.json"

    def next_due(self, after: datetime) -> ReportDue | None:
        year = after.astimezone(self._tz).year
        hols = vietnam_holidays(range(year - 1, year + 2), self._settings.planning.closed_days)
        return next_due(after, self._settings.site, hols, self._plan)

    async def run(self) -> None:
        cursor = self._load() or self._clock()
        self._save(cursor, self._sent)
        log.info("report.scheduler_started", after=cursor.isoformat(), lang=self._lang)
        while True:
            due = self.next_due(cursor)
            if due is None:  # closed for weeks: look again in an hour
                await self._sleep(3600)
                cursor = self._clock()
                continue
            await self._wait_until(due.at)
            if self._clock() - due.at > LATE:
                log.warning("report.skipped_late", report=due.key, due=due.at.isoformat())
            else:
                await self.send(due)
            cursor = due.at
            self._sent = {}
            self._save(cursor)

    async def send(self, due: ReportDue) -> dict[str, str | None] | None:
        """Draw, write and send one report; None when there was nothing to send."""
        produced = await self._produce(due)
        if produced is None:
            return None
        cfg = self._settings.notifications
        sent = set(self._sent.get(due.key, []))

        def remember(channel: str) -> None:  # a restart does not send it to this one again
            sent.add(channel)
            self._sent = {due.key: sorted(sent)}
            self._save(self._cursor, self._sent)

        return await deliver(
            cfg,
            due,
            produced,
            self._settings.site.name,
            sleep=self._sleep,
            clock=self._clock,
            already=frozenset(sent),
            on_sent=remember,
        )

    async def _produce(self, due: ReportDue) -> Produced | None:
        started = self._clock()
        attempts = 0
        while True:
            try:
                return await asyncio.to_thread(self._produce_sync, due)
            except ClosedDay as exc:
                log.info("report.skipped", report=due.key, reason=str(exc))
                return None
            except HistoryError as exc:
                attempts += 1
                cfg = self._settings.notifications
                wait = backoff_s(attempts, min_s=cfg.retry_min_s, max_s=cfg.retry_max_s)
                if (self._clock() - started).total_seconds() + wait > cfg.expire_s:
                    log.error("report.expired", report=due.key, reason=str(exc))
                    return None
                log.warning("report.history_unavailable", report=due.key, reason=str(exc))
                await self._sleep(wait)
            except Exception as exc:  # a font missing, a disk full: logged, the next one tried
                log.error("report.failed", report=due.key, error=f"{type(exc).__name__}: {exc}")
                return None

    def _produce_sync(self, due: ReportDue) -> Produced:
        reader: FiguresReader = self._reader or ReportReader(self._settings)
        at = self._clock().astimezone(self._tz)
        if due.kind == "daily":
            report = build_report(reader.figures(due.day))
            produced = write_daily(report, self._lang, self._out, at)
        else:
            days, closed = reader.week(due.day)
            site = self._settings.site
            week = build_week(site.id, site.name, due.day, [build_report(f) for f in days], closed)
            produced = write_weekly(week, self._lang, self._out, at)
        log.info("report.written", report=due.key, pdf=str(produced.pdf))
        return produced

    async def _wait_until(self, at: datetime) -> None:
        while (remaining := (at - self._clock()).total_seconds()) > 0:
            await self._sleep(min(remaining, POLL_S))

    def _load(self) -> datetime | None:
        """The last moment handled, and the channels that already got the report after it."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            cursor = datetime.fromisoformat(str(data["done_until"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        sent = data.get("sent")
        if isinstance(sent, dict):
            self._sent = {
                str(k): [str(c) for c in v] for k, v in sent.items() if isinstance(v, list)
            }
        self._cursor = cursor
        return cursor

    def _save(self, cursor: datetime, sent: dict[str, list[str]] | None = None) -> None:
        self._cursor = cursor
        self._out.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        state = {"done_until": cursor.isoformat(), "sent": sent or {}}
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(self.state_file)
