"""Ticket events posted over HTTP -> the same path as the MQTT ones, answered once durable.

Shell module (asyncio). For a request to one ticket source (``ingest.tickets``):

1. the body is split into events (``gateway.ingest_events``: one object or a
   bounded array);
2. each event is decoded by the queue_ticket decoder with the source's mapping
   (the decoder of an MQTT ``queue_ticket`` sensor, unchanged); one that does
   not fit is recorded in the dead letters under the source's id, like an MQTT
   decode error, and reported with its reason;
3. an event seen before within the window (its event id, or its content) is
   not taken again: a webhook retry is counted once. One still on its way to
   storage is waited for, not submitted twice;
4. the new events' points go to the point sink (the InfluxDB writer) in one
   submission, and the engine observes them once the sink has queued them;
5. the answer waits until the sink calls back that the points are durable
   (in InfluxDB or in the spool): the same moment an MQTT message is acked.
   When that does not happen within ``answer_within_s``, ``Unavailable`` is
   raised (503 with Retry-After). Points already queued stay queued and their
   events are remembered as pending, so the sender's retry is answered from
   them and never stores them twice; points that could not even be queued
   (the writer's memory bound reached) are forgotten, and the retry takes
   them again.

What is remembered survives a restart when the ingest has a state folder
(``gateway.ingest_seen_file``): a stored event's identity is written and
fsynced before the 2xx. Only a crash between the points becoming durable and
that write lets a retry store an event twice (and an event that carries its
own time is then the same point: InfluxDB keeps one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from gateway.dead_letters import DeadLetter, DeadLetters
from gateway.hub import Observer, PointSink
from gateway.ingest_events import BodyError, Fate, Seen, SeenEvents, event_key, split_events
from gateway.ingest_seen_file import SeenFile
from gateway.observations import DeviceHealth, Observation, TicketEvent
from gateway.points import to_lines
from gateway.settings import (
    IngestConfig,
    QueueTicketSensor,
    SensorKind,
    TicketSource,
    ValidationLimits,
)
from sensors.decoders import DecodeContext, decode
from sensors.models import DecodeError, Message

log = structlog.get_logger("floorwatch.ingest")

TOPIC_PREFIX = "http/ingest/tickets/"  # the "topic" of a posted event in the dead letters


class Unavailable(Exception):
    """The events could not be made durable in time (storage away, spool full)."""


@dataclass(frozen=True, slots=True)
class EventResult:
    index: int
    fate: Fate
    duplicate: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    source_id: str
    events: list[EventResult]

    def count(self, fate: Fate, *, duplicate: bool | None = None) -> int:
        return sum(
            1
            for e in self.events
            if e.fate is fate and (duplicate is None or e.duplicate is duplicate)
        )

    @property
    def rejected(self) -> list[EventResult]:
        return [e for e in self.events if e.fate is Fate.REJECTED]


@dataclass(slots=True)
class SourceStats:
    requests: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    rejected: int = 0
    unavailable: int = 0  # requests answered 503
    refused: int = 0  # requests whose credentials did not pass (counted by the route)


@dataclass(slots=True)
class _Source:
    sensor: QueueTicketSensor
    config: TicketSource
    seen: SeenEvents
    file: SeenFile | None = None
    loaded: bool = False
    loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: dict[bytes, asyncio.Future[None]] = field(default_factory=dict)
    stats: SourceStats = field(default_factory=SourceStats)


class TicketIngest:
    """The ticket sources of ``ingest.tickets``; ``ingest`` takes one request's body."""

    def __init__(
        self,
        config: IngestConfig,
        *,
        site_id: str,
        timezone: str,
        limits: ValidationLimits,
        sink: PointSink,
        dead_letters: DeadLetters,
        observer: Observer | None = None,
        clock: Callable[[], datetime],
        state_dir: Path | None = None,
    ) -> None:
        self._config = config
        self._site_id = site_id
        self._ctx = DecodeContext(limits=limits, timezone=ZoneInfo(timezone))
        self._sink = sink
        self._dead = dead_letters
        self._observer = observer
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._sources = {
            s.id: _Source(
                sensor=as_sensor(s),
                config=s,
                seen=SeenEvents(config.dedup_window_s, config.dedup_max_events),
                file=None
                if state_dir is None or config.dedup_window_s <= 0
                else SeenFile(state_dir / "ingest" / f"{s.id}.seen", config.dedup_max_events),
            )
            for s in config.tickets
        }

    @property
    def config(self) -> IngestConfig:
        return self._config

    def __contains__(self, source_id: str) -> bool:
        return source_id in self._sources

    def stats(self) -> dict[str, SourceStats]:
        return {k: s.stats for k, s in self._sources.items()}

    def remembered(self, source_id: str) -> int:
        return len(self._sources[source_id].seen)

    def refused(self, source_id: str) -> None:
        self._sources[source_id].stats.refused += 1

    def dead_letter(self, source_id: str, body: bytes, reason: str) -> None:
        """A body that is not events at all (not JSON, too many): kept like any bad payload."""
        self._dead.record(
            DeadLetter(TOPIC_PREFIX + source_id, reason, self._clock(), body, source_id)
        )
        log.warning("ingest.body_refused", source=source_id, reason=reason, bytes=len(body))

    async def ingest(self, source_id: str, body: bytes) -> IngestResult:
        """Take a request's events; raises BodyError (nothing taken) or Unavailable."""
        src = self._sources[source_id]
        src.stats.requests += 1
        try:
            events = split_events(body, self._config.max_events)
        except BodyError as exc:
            self.dead_letter(source_id, body, exc.reason)
            raise
        src.stats.events += len(events)
        await self._load(src)
        received = self._clock()
        now = received.timestamp()
        settled: list[tuple[bytes, Seen]] = []
        results: dict[int, EventResult] = {}
        waits: list[tuple[int, asyncio.Future[None]]] = []
        keys: list[bytes] = []
        observations: list[Observation] = []
        lines: list[str] = []
        for index, event in enumerate(events):
            try:
                key = event_key(event, src.config.event_id)
            except DecodeError as exc:
                results[index] = self._reject(src, event, received, exc.reason, index)
                continue
            known = src.seen.get(key, now)
            if known is not None or key in keys:
                future = src.pending.get(key)
                if future is not None and not future.done():
                    waits.append((index, future))
                    continue
                if known is None:  # the same event twice in this request: it is taken once
                    results[index] = EventResult(index, Fate.STORED, duplicate=True)
                    continue
                results[index] = EventResult(index, known.fate, True, known.reason)
                continue
            message = Message(TOPIC_PREFIX + source_id, event, received)
            try:
                decoded = decode(src.sensor, self._ctx, message)
            except DecodeError as exc:
                results[index] = self._reject(src, event, received, exc.reason, index)
                settled.append((key, Seen(Fate.REJECTED, now, exc.reason)))
                src.seen.put(key, settled[-1][1])
                continue
            obs: list[Observation] = [
                d for d in decoded if isinstance(d, TicketEvent | DeviceHealth)
            ]
            if not obs:
                settled.append((key, Seen(Fate.IGNORED, now)))
                src.seen.put(key, settled[-1][1])
                results[index] = EventResult(index, Fate.IGNORED)
                continue
            for o in obs:
                lines.extend(to_lines(self._site_id, o, {}))
            observations.extend(obs)
            keys.append(key)
            results[index] = EventResult(index, Fate.STORED)
        self._write_later(src, settled, now)
        deadline = asyncio.get_running_loop().time() + self._config.answer_within_s
        if keys:
            durable = await self._submit(src, keys, lines, observations, now, deadline)
            waits.append((-1, durable))
        await self._wait(src, [f for _, f in waits], deadline)
        for index, _ in waits:
            if index >= 0:
                results[index] = EventResult(index, Fate.STORED, duplicate=True)
        out = IngestResult(source_id, [results[i] for i in sorted(results)])
        src.stats.stored += out.count(Fate.STORED, duplicate=False)
        src.stats.duplicates += sum(1 for e in out.events if e.duplicate)
        src.stats.ignored += out.count(Fate.IGNORED, duplicate=False)
        return out

    def _reject(
        self, src: _Source, event: bytes, at: datetime, reason: str, index: int
    ) -> EventResult:
        sid = src.sensor.id
        self._dead.record(DeadLetter(TOPIC_PREFIX + sid, reason, at, event, sid))
        src.stats.rejected += 1
        log.warning("ingest.event_rejected", source=sid, index=index, reason=reason)
        return EventResult(index, Fate.REJECTED, reason=reason)

    async def _submit(
        self,
        src: _Source,
        keys: list[bytes],
        lines: list[str],
        observations: Sequence[Observation],
        now: float,
        deadline: float,
    ) -> asyncio.Future[None]:
        """Queue the points; a future done once they are durable. Unavailable if not queued."""
        loop = asyncio.get_running_loop()
        durable: asyncio.Future[None] = loop.create_future()
        for key in keys:
            src.seen.put(key, Seen(Fate.PENDING, now))
            src.pending[key] = durable

        def done() -> None:  # on the loop, from the writer: the points are durable
            src.seen.settle(keys)
            for key in keys:
                if src.pending.get(key) is durable:
                    del src.pending[key]
            stored = [(key, Seen(Fate.STORED, now)) for key in keys]
            self._spawn(self._write_then(src, stored, now, durable))

        submit = asyncio.ensure_future(self._sink.submit(lines, done))

        def queued(task: asyncio.Future[None]) -> None:
            if task.cancelled() or task.exception() is not None:
                for key in keys:  # not queued: the sender's retry takes them again
                    src.seen.forget(key)
                    src.pending.pop(key, None)
                if not durable.done():
                    durable.set_exception(Unavailable("the points could not be queued"))
                    durable.exception()  # retrieved: no "never retrieved" warning
                return
            if self._observer is not None:
                for o in observations:
                    self._observer.observe(o)

        submit.add_done_callback(queued)
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.shield(submit)
        except TimeoutError:
            submit.cancel()
            src.stats.unavailable += 1
            raise Unavailable("storage takes no more points now") from None
        except Exception as exc:  # the writer is closed (StorageError): we are stopping
            src.stats.unavailable += 1
            raise Unavailable(str(exc)) from exc
        return durable

    async def _load(self, src: _Source) -> None:
        """The first request of a source reads what it settled before the last restart."""
        if src.loaded or src.file is None:
            return
        async with src.loading:
            if src.loaded:
                return
            file = src.file
            now = self._clock().timestamp()
            try:
                entries = await asyncio.to_thread(file.load, now, self._config.dedup_window_s)
            except OSError as exc:
                log.error("ingest.seen_unreadable", path=str(file.path), reason=str(exc))
                entries = []
            for key, seen in entries:
                if src.seen.get(key, now) is None:
                    src.seen.put(key, seen)
            src.loaded = True
            if entries or file.skipped:
                log.info("ingest.seen_loaded", source=src.sensor.id, events=len(entries))

    async def _write(self, src: _Source, entries: list[tuple[bytes, Seen]], now: float) -> None:
        if src.file is None or not entries:
            return
        try:
            await asyncio.to_thread(src.file.append, entries, now, self._config.dedup_window_s)
        except OSError as exc:  # the events are stored; only a retry after a restart could repeat
            log.error("ingest.seen_unwritable", path=str(src.file.path), reason=str(exc))

    async def _write_then(
        self,
        src: _Source,
        entries: list[tuple[bytes, Seen]],
        now: float,
        durable: asyncio.Future[None],
    ) -> None:
        try:
            await self._write(src, entries, now)
        finally:
            if not durable.done():
                durable.set_result(None)

    def _write_later(self, src: _Source, entries: list[tuple[bytes, Seen]], now: float) -> None:
        if src.file is not None and entries:
            self._spawn(self._write(src, entries, now))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait(
        self, src: _Source, futures: list[asyncio.Future[None]], deadline: float
    ) -> None:
        if not futures:
            return
        try:
            async with asyncio.timeout_at(deadline):
                for future in futures:
                    await asyncio.shield(future)
        except (TimeoutError, Unavailable):
            src.stats.unavailable += 1
            raise Unavailable("the points are not durable yet (storage away, spool full)") from None


def as_sensor(source: TicketSource) -> QueueTicketSensor:
    """The source as the queue_ticket decoder's sensor: its id and its mapping."""
    return QueueTicketSensor(
        id=source.id,
        kind=SensorKind.QUEUE,
        topic=TOPIC_PREFIX + source.id,
        decoder="queue_ticket",
        fields=source.fields,
        events=source.events,
        services=source.services,
    )
