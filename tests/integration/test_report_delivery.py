"""The gateway sends the manager's report: the scheduler's task with an injected clock, at
closing time, to a real SMTP server (aiosmtpd: the HTML body and the PDF attached) and a
real HTTP server (the SMS-shaped short text), a refusing channel retried."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from gateway.config_loader import load_settings
from gateway.notify.config import NotificationSettings
from gateway.report.model import DayFigures
from gateway.report.scheduler import ReportScheduler
from gateway.settings import Settings
from tests.integration.notify_support import HttpReceiver, Request, free_port
from tests.unit.test_report_model import DAY, TZ, figures, local, tp

ROOT = Path(__file__).resolve().parents[2]


class Mailbox:
    """A real SMTP server on loopback keeping every message whole (attachments included)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.cond = threading.Condition()
        box = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with box.cond:
                    box.messages.append(msg)  # type: ignore[arg-type]
                    box.cond.notify_all()
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?to=giam-doc@hcc.example.vn"
            "&from=floorwatch@hcc.example.vn&mode=insecure"
        )


class LiteralReader:
    def __init__(self) -> None:
        self.days: list[date] = []

    def figures(self, day: date) -> DayFigures:
        self.days.append(day)
        tickets = [tp("tax", "T1", "issued", local(8)), tp("tax", "T1", "called", local(8, 12))]
        return figures(tickets=tickets)

    def week(self, first: date) -> tuple[list[DayFigures], dict[date, str]]:
        return [self.figures(first)], {}


class FakeTime:
    """The injected clock; sleeping moves it on, up to ``until``, where time stands still."""

    def __init__(self, now: datetime, until: datetime) -> None:
        self.now = now
        self.until = until
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.now + timedelta(seconds=seconds) > self.until:
            self.now = self.until
            await asyncio.Event().wait()  # until cancelled
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def site(tmp_path: Path, mail_url: str, sms_url: str) -> Settings:
    base = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    notifications = NotificationSettings.model_validate(
        {
            "channels": [
                {"id": "mail-giam-doc", "type": "apprise", "url": mail_url},
                {
                    "id": "sms-giam-doc",
                    "type": "http",
                    "url": sms_url + "/sms",
                    "form_body": {"to": "{recipient}", "text": "{text}"},
                    "recipients": ["0912345678"],
                },
            ],
            "roles": {"manager": ["mail-giam-doc", "sms-giam-doc"]},
            "reports": {"notify": ["manager"], "after_close_min": 15},
            "retry_min_s": 5,
            "retry_max_s": 60,
        }
    )
    gateway = base.gateway.model_copy(update={"state_dir": tmp_path})
    return base.model_copy(update={"notifications": notifications, "gateway": gateway})


def test_the_daily_report_reaches_a_real_smtp_server_at_closing_time(tmp_path: Path) -> None:
    box = Mailbox()
    box.controller.start()
    refusals = [1]

    def answer(r: Request) -> tuple[int, Any]:
        if refusals:  # the SMS gateway refuses once: retried, sent once
            refusals.pop()
            return 503, {"error": "busy"}
        return 200, {"ok": True}

    sms = HttpReceiver(answer=answer).start()
    try:
        settings = site(tmp_path, box.url(), sms.url)
        # Wednesday before closing; time stands still at 21:00
        t = FakeTime(
            datetime(2026, 10, 14, 16, 50, tzinfo=TZ), datetime(2026, 10, 14, 21, tzinfo=TZ)
        )
        reader = LiteralReader()
        out = tmp_path / "reports"
        scheduler = ReportScheduler(settings, out, t.clock, reader=reader, sleep=t.sleep)

        async def main() -> None:
            task = asyncio.create_task(scheduler.run())
            while len(sms.requests) < 2:
                assert not task.done(), task
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(main())
        assert reader.days == [DAY]
        assert t.now >= datetime(2026, 10, 14, 17, 15, tzinfo=TZ)  # closing 17:00 + 15 min
        with box.cond:
            assert box.cond.wait_for(lambda: len(box.messages) == 1, 20)
        [mail] = box.messages
        assert mail["subject"] == "Báo cáo ngày 14/10/2026 – Trung tâm Hành chính công"
        html = mail.get_body(preferencelist=("html",))
        assert html is not None and "Lối vào" in html.get_content()
        [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert pdf.get_filename() == "report-2026-10-14-vi.pdf"
        data = pdf.get_content()
        assert data.startswith(b"%PDF") and data == (out / "report-2026-10-14-vi.pdf").read_bytes()
        # the SMS: refused once, then the short text, both with the report's idempotency key
        assert [r.headers["Idempotency-Key"] for r in sms.requests] == [
            "report-daily-2026-10-14"
        ] * 2
        text = sms.requests[1].form()["text"]
        assert text.startswith("Báo cáo ngày 14/10/2026") and "Phát 1 số" in text
        assert 5 in t.slept  # the retry waited retry_min_s
        assert '"done_until": "2026-10-14T17:15:00+07:00"' in scheduler.state_file.read_text()
    finally:
        box.controller.stop()
        sms.stop()


def test_a_restarted_scheduler_sends_a_missed_report_once_and_skips_a_stale_one(
    tmp_path: Path,
) -> None:
    box = Mailbox()
    box.controller.start()
    sms = HttpReceiver().start()
    try:
        settings = site(tmp_path, box.url(), sms.url)
        out = tmp_path / "reports"
        out.mkdir()
        # the last one handled: Tuesday's; the gateway was down over Wednesday's closing, and
        # stopped before in the middle of sending Wednesday's: the e-mail had gone already
        (out / "schedule.json").write_text(
            '{"done_until": "2026-10-13T17:15:00+07:00",'
            ' "sent": {"report-daily-2026-10-14": ["mail-giam-doc"]}}'
        )
        t = FakeTime(datetime(2026, 10, 14, 20, tzinfo=TZ), datetime(2026, 10, 14, 21, tzinfo=TZ))
        reader = LiteralReader()
        scheduler = ReportScheduler(settings, out, t.clock, reader=reader, sleep=t.sleep)

        async def main() -> None:
            task = asyncio.create_task(scheduler.run())
            while "2026-10-14T17:15" not in scheduler.state_file.read_text():
                assert not task.done(), task
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(main())
        assert reader.days == [DAY] and len(sms.requests) == 1
        assert box.messages == []  # the channel that had it is not sent it twice
        assert '"sent": {}' in scheduler.state_file.read_text()  # done: forgotten
        # two days later with that state: Thursday's is over a day late and skipped
        t.now = t.until = datetime(2026, 10, 17, 9, 0, tzinfo=TZ)
        scheduler = ReportScheduler(settings, out, t.clock, reader=reader, sleep=t.sleep)

        async def again() -> None:
            task = asyncio.create_task(scheduler.run())
            while "2026-10-16T17:15" not in scheduler.state_file.read_text():
                assert not task.done(), task
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(again())
        # Thursday skipped (stale), Friday's sent (less than a day late)
        assert reader.days == [DAY, date(2026, 10, 16)]
    finally:
        box.controller.stop()
        sms.stop()


def test_the_weekly_summary_goes_out_on_monday_morning(tmp_path: Path) -> None:
    box = Mailbox()
    box.controller.start()
    sms = HttpReceiver().start()
    try:
        settings = site(tmp_path, box.url(), sms.url)
        cfg = settings.notifications
        assert cfg.reports is not None
        only_weekly = cfg.reports.model_copy(update={"daily": False})
        settings = settings.model_copy(
            update={"notifications": cfg.model_copy(update={"reports": only_weekly})}
        )
        monday = datetime(2026, 10, 19, 6, 0, tzinfo=TZ)
        t = FakeTime(monday, datetime(2026, 10, 19, 12, tzinfo=TZ))
        reader = LiteralReader()
        out = tmp_path / "reports"
        scheduler = ReportScheduler(settings, out, t.clock, reader=reader, sleep=t.sleep)

        async def main() -> None:
            task = asyncio.create_task(scheduler.run())
            while not sms.requests:
                assert not task.done(), task
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(main())
        assert reader.days == [date(2026, 10, 12)]  # the week Monday 12 - Sunday 18
        assert t.now >= datetime(2026, 10, 19, 7, 0, tzinfo=TZ)
        with box.cond:
            assert box.cond.wait_for(lambda: len(box.messages) == 1, 20)
        [mail] = box.messages
        assert mail["subject"] == f"Báo cáo tuần 12/10 – 18/10/2026 – {settings.site.name}"
        [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert pdf.get_filename() == "week-2026-10-12-vi.pdf"
        assert pdf.get_content() == (out / "week-2026-10-12-vi.pdf").read_bytes()
        assert sms.requests[0].headers["Idempotency-Key"] == "report-weekly-2026-10-12"
    finally:
        box.controller.stop()
        sms.stop()


def test_the_composition_root_runs_the_task_only_when_reports_are_configured(
    tmp_path: Path,
) -> None:
    from gateway.app import _build_reports

    settings = site(tmp_path, "mailto://127.0.0.1:9?to=a@b.vn", "http://127.0.0.1:9")
    clock = FakeTime(datetime(2026, 10, 14, 9, tzinfo=TZ), datetime(2026, 10, 14, 9, tzinfo=TZ))
    built = _build_reports(settings, clock.clock)
    assert built is not None and built.state_file == tmp_path / "reports" / "schedule.json"
    cfg = settings.notifications
    for off in (
        cfg.model_copy(update={"reports": None}),
        cfg.model_copy(update={"enabled": False}),
    ):
        assert (
            _build_reports(settings.model_copy(update={"notifications": off}), clock.clock) is None
        )
