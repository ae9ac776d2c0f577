"""The durable outbox end to end: the real alert store (SQLite) queues, the notifier delivers
to real receivers (HTTP server, SMTP server) on loopback.

- a channel down for a while gets every message after it returns, across a restart, none twice;
- escalation stops at acknowledgement; quiet hours hold warnings until opening; one message per
  zone per window and a digest when many fire together (injected clock, real deliveries);
- the composition root wires the outbox into the alert store.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.alert_store import AlertStore
from gateway.alerts import AlertBook, Condition, Transition
from gateway.config_loader import load_settings
from gateway.live import Severity
from gateway.notify.config import NotificationSettings
from gateway.notify.notifier import Notifier
from gateway.notify.outbox import Outbox, OutboxDb, read_status
from gateway.notify.wiring import site_facts, site_names
from gateway.settings import Settings
from tests.integration.notify_support import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Ho Chi Minh City: open


def local(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC) - timedelta(hours=7)


class Clock:
    """Moved by the test."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RunningClock:
    """Real time passing (retries, backoff) from a fixed date, so the test passes any day."""

    def __init__(self, start: datetime = T0) -> None:
        self._start, self._t0 = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def site(notifications: dict[str, Any]) -> Settings:
    s = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    return s.model_copy(
        update={"notifications": NotificationSettings.model_validate(notifications)}
    )


@dataclass
class Parts:
    store: AlertStore
    book: AlertBook
    notifier: Notifier
    clock: Callable[[], datetime]

    async def record(self, transitions: list[Transition]) -> list[Transition]:
        await self.store.record(transitions, self.book.raises)
        return transitions

    async def raise_(
        self, zone: str, severity: Severity = Severity.WARNING, rule: str = "crowd_level"
    ) -> str:
        [alert_id] = await self.raise_together([zone], severity, rule)
        return alert_id

    async def raise_together(
        self, zones: list[str], severity: Severity = Severity.WARNING, rule: str = "crowd_level"
    ) -> list[str]:
        """Alerts raised in one evaluation: one transaction, as the engine records them."""
        new = [Condition(rule, z, severity, f"{z}: {rule}", 150, 144, zone_id=z) for z in zones]
        others = [
            Condition(a.rule, a.subject or "", a.severity, a.message, zone_id=a.zone_id)
            for a in self.book.active.values()
        ]
        raised = [
            t for t in self.book.evaluate(self.clock(), [*others, *new]) if t.kind == "raised"
        ]
        assert len(raised) == len(zones)
        await self.record(raised)
        return [t.alert.id for t in raised]

    async def rounds(self, n: int = 2) -> None:
        """Let the notifier look at the outbox ``n`` more times (after a kick)."""
        start = self.notifier.rounds
        self.notifier.kick()
        await until(lambda: self.notifier.rounds >= start + n, "notifier rounds")


async def until(predicate: Callable[[], bool], what: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(folder: Path, s: Settings, clock: Callable[[], datetime]) -> AsyncIterator[Parts]:
    path = folder / "alerts.sqlite3"
    outbox = Outbox(s.notifications, site_facts(s))
    store = AlertStore(path, outbox=outbox)
    restored = await store.open()
    book = AlertBook(
        renotify_s=3600,
        escalate_s=None,
        clear_s=0,
        alerts=[*restored.recent_resolved, *restored.active],
        raises=restored.raises,
    )
    notifier = Notifier(s.notifications, site_names(s), path, outbox, clock, poll_s=0.1)
    task = asyncio.create_task(notifier.run())
    try:
        await until(lambda: notifier.rounds >= 1, "notifier start")
        yield Parts(store, book, notifier, clock)
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=10)
        assert task.done()
        await store.close()


def status(folder: Path, alert_id: str) -> list[tuple[str, str, str]]:
    return [(d.channel, d.kind, d.state) for d in read_status(folder / "alerts.sqlite3", alert_id)]


# --------------------------------------------------------------------------- down, restart


ZONES = ["f2-waiting", "f1-entrance", "f1-atm", "f1-post", "f2-counters"]


def test_a_channel_down_gets_every_message_after_it_returns_across_a_restart_none_twice(
    tmp_path: Path,
) -> None:
    http, smtp = HttpReceiver(), SmtpReceiver()  # both down: not started yet
    s = site(
        {
            "channels": [
                {
                    "id": "hook",
                    "type": "http",
                    "url": f"{http.url}/hook",
                    "timeout_s": 5,
                    "json_body": {"alerts": "{alert_ids}", "kind": "{kind}", "text": "{text}"},
                },
                {"id": "mail", "type": "apprise", "url": smtp.url()},
            ],
            "routes": [{"notify": ["hook", "mail"], "quiet_hours": False}],
            "group_window_s": 0,
            "digest_from": 100,
            "retry_min_s": 0.05,
            "retry_max_s": 0.2,
        }
    )
    ids: list[str] = []

    async def while_down() -> None:
        async with running(tmp_path, s, RunningClock()) as parts:
            for zone in ZONES:
                ids.append(await parts.raise_(zone))
            for alert_id in ids:  # queued in the transaction that recorded the raise
                assert sorted(status(tmp_path, alert_id)) == [
                    ("hook", "raised", "queued"),
                    ("mail", "raised", "queued"),
                ]

            def retried() -> bool:  # a channel that is down is tried with its oldest message
                rows = read_status(tmp_path / "alerts.sqlite3", ids[0])
                return all(d.attempts >= 2 for d in rows)

            await until(retried, "two failed attempts per channel")
            for d in read_status(tmp_path / "alerts.sqlite3", ids[0]):
                assert d.state == "queued"
                assert ("ConnectError" if d.channel == "hook" else "Connection error") in (
                    d.reason or ""
                )
            # the younger messages wait behind it, in order, untried
            assert {
                d.attempts for a in ids[1:] for d in read_status(tmp_path / "alerts.sqlite3", a)
            } == {0}
        # stopped: the gateway restarts with the channels back

    asyncio.run(while_down())
    http.start()
    smtp.start()
    try:

        async def back_up() -> None:
            async with running(tmp_path, s, RunningClock()) as parts:
                await until(lambda: len(http.requests) >= 5 and len(smtp.mails) >= 5, "deliveries")
                # two alerts end: their resolutions follow on both channels
                now = parts.clock()
                for alert_id in ids[:2]:
                    await parts.record([parts.book.resolve(alert_id, by="lan", note=None, now=now)])
                await until(lambda: len(http.requests) >= 7 and len(smtp.mails) >= 7, "resolutions")
                await parts.rounds(3)

        asyncio.run(back_up())
        hooks = Counter((r.json()["alerts"], r.json()["kind"]) for r in http.requests)
        assert hooks == Counter(
            {**{(a, "raised"): 1 for a in ids}, **{(a, "resolved"): 1 for a in ids[:2]}}
        )
        keys = [r.headers["Idempotency-Key"] for r in http.requests]
        assert len(set(keys)) == len(keys) == 7
        subjects = Counter(m.subject.split("]")[0] for m in smtp.mails)
        assert subjects == Counter({"[CẢNH BÁO": 5, "[ĐÃ HẾT": 2})
        for alert_id in ids:
            assert {st for _, _, st in status(tmp_path, alert_id)} == {"sent"}

        async def again() -> None:  # one more restart: nothing is sent twice
            async with running(tmp_path, s, RunningClock()) as parts:
                await parts.rounds(3)

        asyncio.run(again())
        assert len(http.requests) == 7 and len(smtp.mails) == 7
    finally:
        http.stop()
        smtp.stop()


# --------------------------------------------------------------------------- escalation


def test_escalation_goes_to_the_next_channel_unless_acknowledged(tmp_path: Path) -> None:
    http = HttpReceiver().start()
    s = site(
        {
            "channels": [
                {
                    "id": "sup",
                    "type": "http",
                    "url": f"{http.url}/sup",
                    "json_body": {"a": "{alert_ids}", "k": "{kind}", "t": "{text}"},
                },
                {
                    "id": "lead",
                    "type": "http",
                    "url": f"{http.url}/lead",
                    "json_body": {"a": "{alert_ids}", "k": "{kind}", "t": "{text}"},
                },
            ],
            "roles": {"supervisor": ["sup"], "shift_lead": ["lead"]},
            "routes": [
                {
                    "escalation": [
                        {"after_min": 0, "notify": ["supervisor"]},
                        {"after_min": 10, "notify": ["shift_lead"]},
                    ]
                }
            ],
            "group_window_s": 0,
        }
    )
    clock = Clock()

    def got(path: str) -> list[tuple[str, str]]:
        return [(r.json()["a"], r.json()["k"]) for r in http.requests if r.path == path]

    async def scenario() -> None:
        async with running(tmp_path, s, clock) as parts:
            a = await parts.raise_("f2-waiting")
            b = await parts.raise_("f1-entrance")
            await until(lambda: len(got("/sup")) == 2, "first step")
            clock.advance(300)
            await parts.record([parts.book.acknowledge(a, by="lan", note=None, now=clock())])
            clock.advance(299)
            await parts.rounds()
            assert got("/lead") == []  # not yet due
            clock.advance(1)
            await parts.rounds()
            await until(lambda: len(got("/lead")) == 1, "escalation")
            assert got("/lead") == [(b, "escalated")]
            assert "chưa ai xác nhận sau 10 phút" in http.requests[-1].json()["t"]
            [skipped] = [
                d for d in read_status(tmp_path / "alerts.sqlite3", a) if d.channel == "lead"
            ]
            assert skipped.state == "skipped"
            assert skipped.reason == "acknowledged by lan before this step was due"
            clock.advance(120)
            for alert_id in (a, b):
                await parts.record([parts.book.resolve(alert_id, by="hoa", note=None, now=clock())])
            await until(lambda: len(http.requests) == 6, "resolutions")
            await parts.rounds()
            # a: resolution only where it was sent (sup); b: on both steps' channels
            assert sorted(got("/sup")) == sorted(
                [(a, "raised"), (b, "raised"), (a, "resolved"), (b, "resolved")]
            )
            assert got("/lead") == [(b, "escalated"), (b, "resolved")]
            assert ("lead", "resolved", "skipped") in status(tmp_path, a)

    try:
        asyncio.run(scenario())
    finally:
        http.stop()


# --------------------------------------------------------------------------- quiet hours, grouping


def test_quiet_hours_hold_warnings_and_zones_are_grouped_per_window(tmp_path: Path) -> None:
    http = HttpReceiver().start()
    s = site(
        {
            "channels": [
                {
                    "id": "sup",
                    "type": "http",
                    "url": f"{http.url}/sup",
                    "json_body": {"a": "{alert_ids}", "title": "{title}", "body": "{body}"},
                }
            ],
            "routes": [{"notify": ["sup"]}],
            "group_window_s": 300,
            "digest_from": 3,
        }
    )
    clock = Clock(local(1, 20))  # Tuesday 20:00: closed

    def alerts_in(i: int) -> set[str]:
        return set(http.requests[i].json()["a"].split(","))

    async def scenario() -> None:
        async with running(tmp_path, s, clock) as parts:
            warn = await parts.raise_("f2-waiting")
            await parts.rounds()
            assert http.requests == []  # held until opening
            [(d)] = read_status(tmp_path / "alerts.sqlite3", warn)
            assert (d.state, d.due_at) == ("queued", local(2, 7, 30))
            crit = await parts.raise_("f1-entrance", Severity.CRITICAL, "capacity")
            await until(lambda: len(http.requests) == 1, "critical at night")
            assert alerts_in(0) == {crit}
            assert http.requests[0].json()["title"].startswith("[KHẨN CẤP] Sảnh")
            clock.now = local(2, 7, 30)  # Wednesday opening
            await parts.rounds()
            await until(lambda: len(http.requests) == 2, "held warning at opening")
            assert alerts_in(1) == {warn}
            # a second alert of the same zone within the window waits for the window's end
            clock.advance(60)
            co2 = await parts.raise_("f2-waiting", rule="co2_high")
            await parts.rounds()
            assert len(http.requests) == 2
            clock.advance(239)
            await parts.rounds()
            assert len(http.requests) == 2
            clock.advance(1)
            await parts.rounds()
            await until(lambda: len(http.requests) == 3, "window's end")
            assert alerts_in(2) == {co2}
            # many zones at once: one digest
            many = await parts.raise_together(["f1-atm", "f1-post", "f1-canteen"])
            await until(lambda: len(http.requests) == 4, "digest")
            assert alerts_in(3) == set(many)
            assert " 3 cảnh báo – " in http.requests[3].json()["title"]
            await parts.rounds()
            assert len(http.requests) == 4

    try:
        asyncio.run(scenario())
    finally:
        http.stop()


def test_the_composition_root_wires_the_outbox(tmp_path: Path) -> None:
    from gateway.app import build_gateway

    s = site(
        {
            "channels": [{"id": "hook", "type": "http", "url": "http://127.0.0.1:9/"}],
            "routes": [{"notify": ["hook"]}],
        }
    )
    s = s.model_copy(update={"gateway": s.gateway.model_copy(update={"state_dir": tmp_path})})

    async def build() -> tuple[bool, bool]:
        gw = build_gateway(s)
        bare = build_gateway(s.model_copy(update={"notifications": NotificationSettings()}))
        return gw.notifier is not None, bare.notifier is None

    assert asyncio.run(build()) == (True, True)


# --------------------------------------------------------------------------- expiry


def test_a_message_never_delivered_expires_with_its_reason(tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    from tests.integration.notify_support import free_port

    s = site(
        {
            "channels": [
                {
                    "id": "dead",
                    "type": "http",
                    "url": f"http://127.0.0.1:{free_port()}/",
                    "timeout_s": 5,
                }
            ],
            "routes": [{"notify": ["dead"]}],
            "group_window_s": 0,
            "retry_min_s": 10,
            "retry_max_s": 20,
            "expire_s": 60,
        }
    )
    clock = Clock()

    def attempts(alert_id: str) -> int:
        [d] = read_status(tmp_path / "alerts.sqlite3", alert_id)
        return d.attempts

    async def scenario() -> str:
        async with running(tmp_path, s, clock) as parts:
            alert_id = await parts.raise_("f2-waiting")
            await until(lambda: attempts(alert_id) == 1, "first attempt")
            clock.advance(10)  # the retry at +10 fails: the next at +30
            parts.notifier.kick()
            await until(lambda: attempts(alert_id) == 2, "second attempt")
            clock.advance(20)  # +30 fails: the next at +50, within expire_s
            parts.notifier.kick()
            await until(lambda: attempts(alert_id) == 3, "third attempt")
            clock.advance(20)  # +50 fails: the next would be at +70, past expire_s (60)
            parts.notifier.kick()
            await until(lambda: parts.notifier.expired == 1, "expiry")
            return alert_id

    with capture_logs() as logs:
        alert_id = asyncio.run(scenario())
    [d] = read_status(tmp_path / "alerts.sqlite3", alert_id)
    assert (d.state, d.attempts) == ("failed", 4)
    assert d.reason is not None and d.reason.startswith("expired after 4 attempts: ConnectError")
    [expired] = [e for e in logs if e["event"] == "notify.expired"]
    assert expired["log_level"] == "error" and expired["alerts"] == alert_id
    assert expired["reason"].startswith("ConnectError")
    assert len([e for e in logs if e["event"] == "notify.failed"]) == 3
    # finished rows are kept 30 days, then pruned; queued ones never
    db = OutboxDb(tmp_path / "alerts.sqlite3")
    db.open()
    try:
        assert db.prune(T0 + timedelta(days=29)) == 0
        assert len(read_status(tmp_path / "alerts.sqlite3", alert_id)) == 1
        assert db.prune(T0 + timedelta(days=31)) == 1
        assert read_status(tmp_path / "alerts.sqlite3", alert_id) == []
        left = db._conn().execute("SELECT count(*) FROM notify_messages").fetchone()[0]
        assert left == 0
    finally:
        db.close()


# --------------------------------------------------------------------------- isolation


def test_a_fault_in_planning_never_costs_the_alert_its_record(tmp_path: Path) -> None:
    from gateway.notify.routing import SiteFacts

    class Broken(dict[str, str]):
        def get(self, *_: object) -> str:  # type: ignore[override]
            raise RuntimeError("a bug in routing")

    s = site(
        {
            "channels": [{"id": "hook", "type": "http", "url": "http://127.0.0.1:9/"}],
            "routes": [{"match": {"floors": ["f2"]}, "notify": ["hook"]}],
        }
    )
    outbox = Outbox(s.notifications, SiteFacts(s.site, Broken()))

    async def scenario() -> tuple[bool, int]:
        store = AlertStore(tmp_path / "alerts.sqlite3", outbox=outbox)
        await store.open()
        book = AlertBook(renotify_s=600, escalate_s=None, clear_s=60)
        c = Condition("co2_high", "f2-waiting", Severity.WARNING, "CO₂ cao", zone_id="f2-waiting")
        [t] = book.evaluate(T0, [c])
        await store.record([t], book.raises)
        stored = await store.alert(t.alert.id)
        await store.close()
        return stored is not None, len(read_status(tmp_path / "alerts.sqlite3", t.alert.id))

    assert asyncio.run(scenario()) == (True, 0)
    assert outbox.failures == 1
