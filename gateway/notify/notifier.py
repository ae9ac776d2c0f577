"""The delivery loop: outbox entries -> messages -> channels, with retries. Shell module (asyncio).

One task forms messages from due entries (grouping, digests, the checks of
``routing.keep``) whenever the alert store queued something, a held group's
window ends or an escalation step falls due (and at least every ``poll_s``).
One task per channel sends that channel's messages oldest first; a failure
puts the channel's queue back by the capped exponential backoff, so messages
keep their order and a channel that is down does not hold the others up.
Every database call runs on the notifier's own worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import structlog

from gateway.notify.channels import ChannelError, Outgoing, Sender, sender
from gateway.notify.config import NotificationSettings
from gateway.notify.outbox import MessageRow, Outbox, OutboxDb
from gateway.notify.texts import SiteNames

T = TypeVar("T")
log = structlog.get_logger("floorwatch.notify")
Clock = Callable[[], datetime]
PRUNE_EVERY_S = 3600


class Notifier:
    def __init__(
        self,
        cfg: NotificationSettings,
        names: SiteNames,
        path: Path,
        outbox: Outbox,
        clock: Clock,
        *,
        senders: Mapping[str, Sender] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self._cfg = cfg
        self._names = names
        self._db = OutboxDb(path)
        self._outbox = outbox
        self._clock = clock
        self._senders = dict(senders) if senders is not None else None
        self._poll_s = poll_s
        self._executor: ThreadPoolExecutor | None = None
        self._form_wake: asyncio.Event | None = None
        self._channel_wake: dict[str, asyncio.Event] = {}
        self.rounds = 0  # looks at the outbox so far (tests wait on it)
        self.sent = 0
        self.failures = 0
        self.expired = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify-outbox")
        self._form_wake = asyncio.Event()
        senders = self._senders or {c.id: sender(c) for c in self._cfg.channels}
        self._channel_wake = {c: asyncio.Event() for c in senders}
        self._outbox.listen(lambda: _call_soon(loop, self.kick))
        try:
            await self._run(self._db.open)
            log.info("notify.started", channels=sorted(senders))
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._form_loop(set(senders)), name="notify-form")
                for channel_id, s in senders.items():
                    tg.create_task(self._send_loop(channel_id, s), name=f"notify-{channel_id}")
        finally:
            for s in senders.values():
                with contextlib.suppress(Exception):
                    await asyncio.shield(s.close())
            with contextlib.suppress(Exception):
                await asyncio.shield(self._run(self._db.close))
            self._executor.shutdown(wait=True)
            self._executor = None

    def kick(self) -> None:
        """Look at the outbox now (something was queued, or a test moved the clock)."""
        if self._form_wake is not None:
            self._form_wake.set()
        for event in self._channel_wake.values():
            event.set()

    # ------------------------------------------------------------------ loops

    async def _form_loop(self, channels: set[str]) -> None:
        if self._form_wake is None:
            raise RuntimeError("the notifier is not running")
        pruned_at: datetime | None = None
        while True:
            now = self._clock()
            if pruned_at is None or (now - pruned_at).total_seconds() >= PRUNE_EVERY_S:
                pruned_at = now
                try:
                    gone = await self._run(partial(self._db.prune, now))
                except Exception:
                    log.exception("notify.prune_failed")
                else:
                    if gone:
                        log.info("notify.pruned", entries=gone)
            try:
                formed, wake, skipped = await self._run(
                    partial(self._db.form, now, self._cfg, self._names, channels)
                )
            except Exception:  # per-round guard: log, retry at the next round
                log.exception("notify.form_failed")
                formed, wake, skipped = 0, None, []
            for alert_id, channel, reason in skipped:
                log.info("notify.skipped", alert=alert_id, channel=channel, reason=reason)
            self.rounds += 1
            if formed:
                for event in self._channel_wake.values():
                    event.set()
            await _wait(self._form_wake, _delay(now, wake, self._poll_s))

    async def _send_loop(self, channel_id: str, s: Sender) -> None:
        event = self._channel_wake[channel_id]
        while True:
            now = self._clock()
            try:
                due, next_at = await self._run(partial(self._db.next_messages, channel_id, now))
            except Exception:
                log.exception("notify.read_failed", channel=channel_id)
                due, next_at = [], None
            if not due:
                await _wait(event, _delay(now, next_at, self._poll_s))
            for msg in due:
                if self._clock() >= msg.expires_at:  # e.g. after a long stop: too old to use
                    last = msg.reason or "never attempted"
                    await self._failed(msg, f"too old to send (last: {last})", msg.delivered, True)
                elif not await self._deliver(s, msg):
                    break  # the channel's queue now waits for the retry

    async def _deliver(self, s: Sender, msg: MessageRow) -> bool:
        outgoing = Outgoing(
            key=msg.key,
            title=msg.title,
            body=msg.body,
            severity=msg.severity,
            kind=msg.kind,
            alert_ids=msg.alert_ids,
            zone=msg.zone,
            site=self._names.site,
        )
        try:
            await s.send(outgoing, msg.delivered)
        except ChannelError as exc:
            await self._failed(msg, exc.reason, msg.delivered | exc.delivered)
            return False
        except Exception as exc:  # per-message guard: a broken channel never stops the loop
            log.exception("notify.channel_crashed", channel=msg.channel, message=msg.key)
            await self._failed(msg, f"{type(exc).__name__}: {exc}"[:300], msg.delivered)
            return False
        await self._run(lambda: self._db.sent(msg.key, self._clock()))
        self.sent += 1
        log.info(
            "notify.sent",
            channel=msg.channel,
            message=msg.key,
            alerts=msg.alert_ids,
            kind=msg.kind,
            attempts=msg.attempts + 1,
        )
        return True

    async def _failed(
        self, msg: MessageRow, reason: str, delivered: frozenset[int], expire: bool = False
    ) -> None:
        now = self._clock()
        expired, next_at = await self._run(
            lambda: self._db.failed(msg, now, reason, delivered, self._cfg, expire=expire)
        )
        if expired:
            self.expired += 1
            log.error(
                "notify.expired",
                channel=msg.channel,
                message=msg.key,
                alerts=msg.alert_ids,
                attempts=msg.attempts + 1,
                reason=reason,
            )
        else:
            self.failures += 1
            log.warning(
                "notify.failed",
                channel=msg.channel,
                message=msg.key,
                attempt=msg.attempts + 1,
                retry_at=next_at.isoformat(),
                reason=reason,
            )

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the notifier is not running")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)


def _delay(now: datetime, wake: datetime | None, cap: float) -> float:
    if wake is None:
        return cap
    return min(cap, max(0.0, (wake - now).total_seconds()))


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    event.clear()


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping
        loop.call_soon_threadsafe(fn)
