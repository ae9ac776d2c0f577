"""The site uplink: the engine's live events to the province's NATS JetStream. Shell module.

``FleetUplink.run()`` follows the engine's live stream, turns each event into a
``FleetMessage`` (gateway.fleet.messages) and publishes it to JetStream, one at
a time and in order, waiting for the stream's ack. A message whose publish
fails (no server, a timeout, no stream) stays at the head of the queue and is
sent again with the same ``Nats-Msg-Id`` after a capped exponential backoff:
if the first attempt did land, JetStream stores it once.

Nothing here blocks the event loop: events go into a bounded in-memory queue
(``fleet.queue_size``); when NATS is away longer than the queue holds, the
oldest messages are dropped, counted and logged (``fleet.queue_overflow``) and
the zones' and devices' current states are queued again on reconnection, so
the central view catches up with the present. Alert transitions are events,
not states: ``on_dropped`` hears of every dropped message, and once the
queue has drained ``resend_dropped`` is asked what to send again
(gateway.fleet.alert_resend: each affected alert's latest transition). Durable store-and-forward
through long WAN outages is the job of the site's own nats-server (a leaf node
with JetStream on local disk), not of this queue: docs/fleet.md.

The connection takes ``fleet.tls_ca_file`` and a client certificate where
given (gateway.fleet.nats_tls). A server whose certificate is not trusted
(no CA given, the wrong one, a wrong name) refuses the connection like an
absent one: logged with the reason (``fleet.connect_failed``), tried again
with the backoff, the queue kept.

At start, ``backlog`` (the alert transitions the last run may have lost,
gateway.fleet.alert_resend) is queued ahead of everything; ``on_acked`` hears
of every message JetStream acknowledged (new or duplicate), so the alert
cursor and the hourly feed know what is safely stored. Others queue messages
with ``offer`` (the hourly feed).

Every ``fleet.heartbeat_s`` (and at start) a heartbeat is queued: the
``clock``'s time, the uptime since ``run()``, the queue's depth and, with
``devices``, the devices online vs configured. At most one waits in the
queue (a newer one replaces it), so an outage does not pile them up; the
province page tells a silent gateway from unchanged zones by it. The
center's own certificates (``certificates``; by default the files the site
file names, read in a thread before each beat:
gateway.fleet.nats_tls.site_certificates) go with a heartbeat at start, when
they change and once an hour
(gateway.fleet.site_certs.report_due): a replaced or dropped heartbeat that
carried them hands them on to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from gateway.fleet.messages import (
    FleetMessage,
    FleetSubjects,
    Heartbeat,
    heartbeat_message,
    message_for,
)
from gateway.fleet.nats_tls import login_options, site_certificates
from gateway.fleet.site_certs import SiteCertificate, report_due
from gateway.fleet.stopping import stop_if_asked
from gateway.live import LiveEvent
from gateway.settings import FleetConfig

log = structlog.get_logger("floorwatch.fleet")

CONNECT_TIMEOUT_S = 2
# nats-py's own (re)connection attempts: forever, one a second. nats-py 2.16 retries a
# first connection too (each failure goes to error_cb), so _connect's loop only sees
# what it gives up on (e.g. a bad URL).
RECONNECT_WAIT_S = 1
CLOSE_TIMEOUT_S = 5.0
# On stop, how long the queue may take to go out before the gateway exits.
DRAIN_S = 3.0

# What a failed publish or connect raises: the client's errors (timeouts, no
# responders, a closed connection, JetStream's API errors) and the socket's.
_FAILURES = (nats.errors.Error, OSError, TimeoutError)


class StreamMissing(Exception):
    """The stream does not exist and fleet.create_stream is off, or another stream of
    the site's server took a message (it stays queued)."""


@dataclass(slots=True)
class UplinkStats:
    """Counters since start: what the uplink did with the events it saw."""

    queued: int = 0  # messages taken into the queue
    published: int = 0  # acknowledged by JetStream as new
    duplicates: int = 0  # acknowledged as already stored (a retry or a republished state)
    failures: int = 0  # failed publish attempts (and connects nats-py gave up on)
    client_errors: int = 0  # what the client reported: failed (re)connects, a lost socket
    dropped: int = 0  # oldest messages dropped because the queue was full
    heartbeats: int = 0  # heartbeats queued
    connected: bool = False


class FleetUplink:
    """Publishes one site's fleet messages to JetStream; run it as a task of the gateway."""

    def __init__(
        self,
        config: FleetConfig,
        subjects: FleetSubjects,
        events: Callable[[], AsyncIterator[LiveEvent]],
        snapshot: Callable[[], Iterable[FleetMessage]] = list,
        *,
        backlog: Callable[[], Awaitable[Sequence[FleetMessage]]] | None = None,
        on_acked: Callable[[FleetMessage], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        devices: Callable[[], tuple[int, int]] | None = None,
        on_dropped: Callable[[FleetMessage], None] | None = None,
        resend_dropped: Callable[[], Awaitable[Sequence[FleetMessage]]] | None = None,
        certificates: Callable[[], Sequence[SiteCertificate]] | None = None,
    ) -> None:
        self._config = config
        self._subjects = subjects
        self._events = events
        self._snapshot = snapshot
        self._backlog = backlog
        self._on_acked = on_acked
        self._clock = clock or _utc_now
        self._devices = devices  # () -> (online, configured)
        self._on_dropped = on_dropped
        self._resend_dropped = resend_dropped
        self._resend_due = False  # a message was dropped: ask resend_dropped once drained
        self._started: datetime | None = None
        self._beat: FleetMessage | None = None  # the heartbeat waiting in the queue, if any
        # () -> the center's certificates (blocking reads): by default the site file's
        self._certificates = certificates or partial(site_certificates, config)
        self._beat_certs = False  # the waiting heartbeat carries the certificates
        self._certs_sent: tuple[SiteCertificate, ...] | None = None  # as last put in a beat
        self._certs_sent_at: datetime | None = None
        self._queue: deque[FleetMessage] = deque()
        self._wake = asyncio.Event()
        self._catch_up = False  # queue the current states again once connected
        self.stats = UplinkStats()

    @property
    def pending(self) -> int:
        """Messages waiting to be published."""
        return len(self._queue)

    def pending_messages(self) -> tuple[FleetMessage, ...]:
        """The messages waiting, oldest first."""
        return tuple(self._queue)

    def offer(self, message: FleetMessage) -> None:
        """Queue a message (never blocks); a full queue drops its oldest one."""
        if len(self._queue) >= self._config.queue_size:
            self._dropped(self._queue.popleft())
            self.stats.dropped += 1
            self._catch_up = True
            if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
                log.warning(
                    "fleet.queue_overflow",
                    dropped=self.stats.dropped,
                    queue_size=self._config.queue_size,
                )
        self._queue.append(message)
        self.stats.queued += 1
        self._wake.set()

    def offer_first(self, messages: Sequence[FleetMessage]) -> None:
        """Queue messages ahead of everything waiting, in their order (the start's backlog)."""
        room = max(0, self._config.queue_size - len(self._queue))
        kept = list(messages)[:room]
        if len(kept) < len(messages):
            for lost in list(messages)[room:]:
                self._dropped(lost)
            self.stats.dropped += len(messages) - len(kept)
            log.warning("fleet.queue_overflow", dropped=self.stats.dropped, backlog=len(messages))
        self._queue.extendleft(reversed(kept))
        self.stats.queued += len(kept)
        self._wake.set()

    def heartbeat(self, certificates: Sequence[SiteCertificate] | None = None) -> FleetMessage:
        """Queue a heartbeat now (replacing one still waiting) and return it; with
        ``certificates`` (as read now) it carries them when they are due."""
        now = self._clock()
        if self._started is None:
            self._started = now
        waiting = self._beat
        replaced = False
        if waiting is not None and len(self._queue) > 1 and self._queue[0] is not waiting:
            # not the head: that one may be in flight (it leaves the queue once acked)
            replaced = waiting in self._queue
            self._queue = deque(m for m in self._queue if m is not waiting)
        if replaced and self._beat_certs:
            self._certs_sent = None  # what it carried did not go: the next one carries them
        certs = tuple(certificates) if certificates is not None else None
        carry = certs is not None and report_due(certs, self._certs_sent, self._certs_sent_at, now)
        if carry:
            self._certs_sent, self._certs_sent_at = certs, now
        online, configured = self._devices() if self._devices is not None else (None, None)
        beat = Heartbeat(
            at=now,
            uptime_s=max(0.0, (now - self._started).total_seconds()),
            queue=len(self._queue),
            devices_online=online,
            devices_configured=configured,
            certificates=certs if carry else None,
        )
        message = heartbeat_message(self._subjects, beat, self._config.heartbeat_s or 60.0)
        self._beat, self._beat_certs = message, carry
        self.stats.heartbeats += 1
        self.offer(message)
        return message

    async def run(self) -> None:
        """Follow the engine and publish until cancelled."""
        self._started = self._clock()
        log.info(
            "fleet.started",
            url=self._config.url,
            subjects=self._subjects.site_wildcard,
            stream=self._config.stream,
        )
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._follow(), name="fleet-follow")
            tg.create_task(self._publish_forever(), name="fleet-publish")
            if self._backlog is not None:
                tg.create_task(self._queue_backlog(self._backlog), name="fleet-backlog")
            if self._config.heartbeat_s > 0:
                tg.create_task(self._beat_forever(), name="fleet-heartbeat")

    # ------------------------------------------------------------------ internals

    def _dropped(self, message: FleetMessage) -> None:
        self._resend_due = True
        if message is self._beat and self._beat_certs:
            self._certs_sent = None  # the certificates did not go: the next heartbeat carries them
        if self._on_dropped is not None:
            try:
                self._on_dropped(message)
            except Exception:  # the per-message guard: a listener's fault stops no queueing
                log.exception("fleet.drop_listener_failed", subject=message.subject)

    async def _follow(self) -> None:
        while True:
            async for event in self._events():
                message = message_for(self._subjects, event)
                if message is not None:
                    self.offer(message)
            # The engine cut us off (we fell behind): follow again, and let the
            # current states make up for what was missed.
            log.warning("fleet.events_resubscribed")
            self._queue_snapshot()
            await asyncio.sleep(self._config.retry_min_s)

    async def _beat_forever(self) -> None:
        while True:
            certs = None
            try:
                certs = await asyncio.to_thread(self._certificates)
            except Exception:  # the per-beat guard: the heartbeat goes without them
                log.exception("fleet.certificates_unread")
            self.heartbeat(certs)
            await asyncio.sleep(self._config.heartbeat_s)

    async def _queue_backlog(
        self, backlog: Callable[[], Awaitable[Sequence[FleetMessage]]]
    ) -> None:
        messages = await backlog()
        if messages:
            self.offer_first(messages)

    def _queue_snapshot(self) -> None:
        for message in self._snapshot():
            self.offer(message)

    async def _publish_forever(self) -> None:
        nc = await self._connect()
        stream_ready = False
        try:
            delay = self._config.retry_min_s
            while True:
                if nc.is_closed:  # nats-py reconnects by itself; a new client only for a closed one
                    nc = await self._connect()
                    stream_ready = False
                try:
                    js = nc.jetstream(timeout=self._config.publish_timeout_s)
                    if not stream_ready:
                        await self._ensure_stream(js)
                        stream_ready = True
                        self._queue_snapshot()
                    while True:
                        await self._publish_head(js)
                        delay = self._config.retry_min_s
                        stop_if_asked()  # a stop that came with the ack (stopping.py)
                except (*_FAILURES, StreamMissing) as exc:
                    self.stats.failures += 1
                    log.warning(
                        "fleet.publish_failed",
                        reason=_reason(exc),
                        pending=len(self._queue),
                        retry_in_s=delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._config.retry_max_s)
        finally:
            if stream_ready and self._queue and nc.is_connected:
                await self._drain(nc)
            self.stats.connected = False
            await _close(nc)

    async def _drain(self, nc: NatsClient) -> None:
        """On stop: publish what is queued, for at most DRAIN_S (then it is lost, and logged)."""
        js = nc.jetstream(timeout=self._config.publish_timeout_s)

        async def drain() -> None:
            while self._queue:
                await self._publish_head(js)

        try:
            await asyncio.wait_for(drain(), DRAIN_S)
        except (*_FAILURES, TimeoutError) as exc:
            log.warning("fleet.drain_incomplete", reason=_reason(exc), lost=len(self._queue))

    async def _publish_head(self, js: JetStreamContext) -> None:
        while not self._queue:
            if self._resend_due and self._resend_dropped is not None:
                # drained after drops: what the drops took away, as it stands now
                self._resend_due = False
                for again in await self._resend_dropped():
                    self.offer(again)
                continue
            self._wake.clear()
            await self._wake.wait()
        if self._catch_up:
            self._queue_snapshot()
            # drops the snapshot itself caused call for no second one
            self._catch_up = False
        message = self._queue[0]
        # Not ``stream=`` (the Nats-Expected-Stream header): sourcing copies headers, and a
        # central partition of another name would refuse the message (topology.
        # central_stream_config). The ack says which stream took it: another one is a
        # misconfigured server, and the message stays queued, as a refused one would.
        ack = await js.publish(
            message.subject,
            message.payload,
            timeout=self._config.publish_timeout_s,
            headers=message.headers,
        )
        if ack.stream != self._config.stream:
            raise StreamMissing(
                f"{message.subject} was stored by stream {ack.stream}, not {self._config.stream}:"
                " the site's server has another stream on these subjects"
            )
        # The head may have been dropped meanwhile by an overflow: remove only ours.
        if self._queue and self._queue[0] is message:
            self._queue.popleft()
        if ack.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.published += 1
        if self._on_acked is not None:
            try:
                self._on_acked(message)
            except Exception:  # the per-message guard: a listener's fault stops no publishing
                log.exception("fleet.ack_listener_failed", subject=message.subject)

    async def _connect(self) -> NatsClient:
        """A connected client; waits (without end) for the server to be there."""
        delay = self._config.retry_min_s
        while True:
            try:
                nc = await self._open()
            except _FAILURES as exc:
                self.stats.failures += 1
                log.warning("fleet.connect_failed", reason=_reason(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._config.retry_max_s)
                continue
            self.stats.connected = True
            log.info("fleet.connected", url=self._config.url)
            return nc

    async def _open(self) -> NatsClient:
        async def disconnected() -> None:
            self.stats.connected = False
            log.warning("fleet.disconnected", pending=len(self._queue))

        async def reconnected() -> None:
            self.stats.connected = True
            log.info("fleet.reconnected", pending=len(self._queue))

        # nats-py 2.16, after a failed TLS handshake on a first connection, waits without
        # end for the broken socket to close and never tries again: a TLS refusal (an
        # unknown CA, a wrong name) ends this attempt, and _connect retries with backoff.
        tls_refused: asyncio.Future[ssl.SSLError] = asyncio.get_running_loop().create_future()

        async def error(exc: Exception) -> None:
            # nats-py retries (re)connects every RECONNECT_WAIT_S and reports each failure
            # here: the first of a run is worth a warning, the rest a debug line.
            self.stats.client_errors += 1
            level = log.debug if self.stats.client_errors % 60 != 1 else log.warning
            level("fleet.client_error", reason=_reason(exc), errors=self.stats.client_errors)
            if isinstance(exc, ssl.SSLError) and not tls_refused.done():
                tls_refused.set_result(exc)

        connecting = asyncio.ensure_future(self._nats_connect(error, disconnected, reconnected))
        try:
            await asyncio.wait((connecting, tls_refused), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError, *_FAILURES):
                    await connecting
            tls_refused.cancel()  # a later TLS error (a reconnect) is only logged
        if connecting.cancelled():
            raise tls_refused.result()
        return connecting.result()

    async def _nats_connect(
        self,
        error: Callable[[Exception], Awaitable[None]],
        disconnected: Callable[[], Awaitable[None]],
        reconnected: Callable[[], Awaitable[None]],
    ) -> NatsClient:
        cfg = self._config
        return await nats.connect(
            servers=[cfg.url],
            name=f"floorwatch-{self._subjects.province}-{self._subjects.site}",
            connect_timeout=CONNECT_TIMEOUT_S,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT_S,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
            # replies (acks) under the site's own prefix: its user may read only those
            inbox_prefix=self._subjects.inbox_prefix,
            **login_options(cfg),  # credentials and fleet TLS (none unless given)
        )

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        cfg = self._config
        try:
            await js.stream_info(cfg.stream)
            return
        except nats.js.errors.NotFoundError:
            if not cfg.create_stream:
                raise StreamMissing(
                    f"stream {cfg.stream} does not exist and fleet.create_stream is off"
                ) from None
        await js.add_stream(
            name=cfg.stream,
            subjects=[self._subjects.site_wildcard],
            duplicate_window=cfg.duplicate_window_s,
            max_age=cfg.max_age_days * 86400,
        )
        log.info("fleet.stream_created", stream=cfg.stream, subjects=self._subjects.site_wildcard)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _close(nc: NatsClient) -> None:
    with contextlib.suppress(*_FAILURES, asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(nc.close()), CLOSE_TIMEOUT_S)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
