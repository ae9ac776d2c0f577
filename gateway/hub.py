"""The hub: raw inbound messages -> observations -> the engine and points.

Shell module (asyncio). Messages arrive in batches from the bounded
InboundBuffer; each is routed to its sensors' decoders; observations update the
engine (its floor picture) and become line-protocol points; the batch's points are submitted
to the point sink with a callback that acknowledges the batch's messages once
the points are durable (``_acknowledge``: runs of durable batches, the door
counters' state saved off the loop first). A message that cannot be decoded goes to the
dead-letter record and is acknowledged in order with its batch: never a crash,
never a silent drop.

Nothing here may hold the event loop (the API answers on it): a batch is
decoded in slices of at most ``SLICE_MESSAGES`` messages or ``SLICE_BYTES`` of
payload, yielding to the loop between them; a payload over
``validation.max_payload_bytes`` is dead-lettered without being parsed; dead letters are
written to their file off the loop, a few times a second, in one write; and
decode failures are logged once per topic per minute within an overall budget
(``LogThrottle``), so a flood on 50,000 topics is a few lines, not 50,000.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog

from gateway.counter_store import CounterStore
from gateway.dead_letters import DeadLetter, DeadLetters
from gateway.inbox import ObservationInbox
from gateway.observations import DeviceHealth, DeviceKind, Observation
from gateway.points import ZoneGeometry, to_lines
from gateway.settings import SensorConfig, ValidationLimits
from gateway.throttle import LogThrottle
from sensors.decoders import DecodeContext, decode
from sensors.dedup import DuplicateFilter
from sensors.door_counts import DoorCounterTracker
from sensors.models import DecodeError, DoorCounterReading, Message
from sensors.mqtt_source import Inbound, InboundBuffer
from sensors.staleness import StalenessTracker
from sensors.topics import TopicRouter

log = structlog.get_logger("floorwatch.hub")

BATCH_MAX = 2000
SLICE_MESSAGES = 100  # decoded between two yields to the event loop
SLICE_BYTES = 64 * 1024  # or this much payload, whichever comes first
DEAD_LETTER_FLUSH_S = 0.25


class Observer(Protocol):
    def observe(self, obs: Observation) -> None: ...


class PointSink(Protocol):
    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None: ...


Clock = Callable[[], datetime]


@dataclass(slots=True)
class HubStats:
    messages: int = 0
    observations: int = 0
    decode_errors: int = 0
    oversized: int = 0
    unrouted: int = 0
    duplicates: int = 0
    internal_errors: int = 0
    points: int = 0


class Hub:
    def __init__(
        self,
        *,
        site_id: str,
        timezone: str,
        sensors: Sequence[SensorConfig],
        zones: Mapping[str, ZoneGeometry],
        limits: ValidationLimits,
        stale_factor: float,
        buffer: InboundBuffer,
        sink: PointSink,
        ack: Callable[[list[Inbound]], None],
        dead_letters: DeadLetters,
        counters: CounterStore,
        clock: Clock,
        health_interval_s: float,
        observer: Observer | None = None,
        inbox: ObservationInbox | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._site_id = site_id
        self._router: TopicRouter[SensorConfig] = TopicRouter((s.topic, s) for s in sensors)
        self._zones = zones
        self._ctx = DecodeContext(limits=limits, timezone=ZoneInfo(timezone))
        self._buffer = buffer
        self._sink = sink
        self._ack = ack
        self._dead = dead_letters
        self._counters = counters
        self._clock = clock
        self._health_interval_s = health_interval_s
        self._observer = observer
        self._inbox = inbox
        self._tracker = DoorCounterTracker()
        self._repeats = DuplicateFilter(limits.duplicate_window_s)
        self._stale_start = clock()
        self._staleness = StalenessTracker(
            {s.id: s.interval_s * stale_factor for s in sensors}, start=self._stale_start
        )
        self._expected = {s.id: s.interval_s for s in sensors}
        self._monotonic = monotonic  # the log throttle's clock
        self._throttle = LogThrottle(60.0, per_interval=60, burst=10)
        self._durable: list[tuple[list[Inbound], object | None]] = []  # to acknowledge
        self._durable_ready = asyncio.Event()
        self.stats = HubStats()

    @property
    def dead_letters(self) -> DeadLetters:
        return self._dead

    @property
    def filters(self) -> list[str]:
        return self._router.filters

    async def run(self) -> None:
        snapshot = self._counters.load()
        if snapshot is not None:
            self._tracker.restore(snapshot)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._consume(), name="hub-consume")
                tg.create_task(self._watch(), name="hub-watch")
                tg.create_task(self._flush_dead_letters(), name="hub-dead-letters")
                tg.create_task(self._acknowledge(), name="hub-acks")
                if self._inbox is not None:
                    tg.create_task(self._drain(self._inbox), name="hub-inbox")
        finally:
            await asyncio.shield(asyncio.to_thread(self._write_dead_letters))

    # ------------------------------------------------------------------ messages

    async def _consume(self) -> None:
        while True:
            items = await self._buffer.get_batch(BATCH_MAX)
            lines: list[str] = []
            door_seen = False
            for part in _slices(items):
                part_lines, part_door = self.process(part)
                lines += part_lines
                door_seen |= part_door
                await asyncio.sleep(0)  # let the API and the other tasks run
            snapshot = self._tracker.snapshot() if door_seen else None
            await self._sink.submit(lines, self._on_durable(items, snapshot))

    async def _flush_dead_letters(self) -> None:
        """Write queued dead letters to their file off the loop, a few times a second."""
        while True:
            await asyncio.sleep(DEAD_LETTER_FLUSH_S)
            if self._dead.queued:
                await asyncio.to_thread(self._write_dead_letters)

    def _write_dead_letters(self) -> None:
        try:
            self._dead.flush()
        except OSError as exc:  # a full or read-only disk: keep running, say so
            allowed, _ = self._throttle.allow("\0dead-letter-file", self._monotonic())
            if allowed:
                log.error("hub.dead_letters_unwritable", path=str(self._dead.path), reason=str(exc))

    async def _drain(self, inbox: ObservationInbox) -> None:
        """Observations from other threads (camera workers): engine, points.

        They come with no MQTT message to acknowledge; their points go to the
        writer like every other (durable in InfluxDB or the spool).
        """
        while True:
            batch = await inbox.get_batch(BATCH_MAX)
            lines: list[str] = []
            for obs in batch:
                try:
                    self._emit(obs, lines)
                except Exception:  # per-observation guard: log, count, continue
                    self.stats.internal_errors += 1
                    log.exception("hub.observation_failed", kind=type(obs).__name__)
            self.stats.points += len(lines)
            if lines:
                await self._sink.submit(lines)

    def _on_durable(self, items: list[Inbound], snapshot: object | None) -> Callable[[], None]:
        def done() -> None:
            self._durable.append((items, snapshot))
            self._durable_ready.set()

        return done

    async def _acknowledge(self) -> None:
        """Acknowledge durable batches, in order, a run of them at a time.

        The door counters' state of the latest batch of the run that has one is
        saved (fsynced, off the loop) before any of the run is acknowledged:
        after a crash the broker redelivers only messages the saved state has
        already counted or has yet to count, and ``DoorCounterTracker`` takes a
        redelivered total as a repeat. One save per run instead of one per
        batch, and none on the loop. A save that fails leaves its run
        unacknowledged (the broker redelivers it), as a failed write does.
        """
        while True:
            await self._durable_ready.wait()
            self._durable_ready.clear()
            run, self._durable = self._durable, []
            snapshot = next((s for _, s in reversed(run) if s is not None), None)
            if snapshot is not None:
                try:
                    await asyncio.to_thread(self._counters.save, snapshot)
                except OSError as exc:
                    self.stats.internal_errors += 1
                    log.error(
                        "hub.counters_unwritable",
                        path=str(self._counters.path),
                        reason=str(exc),
                        unacknowledged=sum(len(items) for items, _ in run),
                    )
                    continue
            self._ack([item for items, _ in run for item in items])

    def process(self, items: Sequence[Inbound]) -> tuple[list[str], bool]:
        """Decode a batch; return its points and whether a door counter moved."""
        lines: list[str] = []
        door_seen = False
        for item in items:
            self.stats.messages += 1
            try:
                door_seen |= self._process_one(item, lines)
            except Exception as exc:  # per-message guard: log, count, continue
                self.stats.internal_errors += 1
                self._dead_letter(item, None, f"internal error: {type(exc).__name__}: {exc}")
                log.exception("hub.message_failed", topic=item.topic)
        self.stats.points += len(lines)
        return lines, door_seen

    def _process_one(self, item: Inbound, lines: list[str]) -> bool:
        sensors = self._router.route(item.topic)
        if not sensors:
            self.stats.unrouted += 1
            self._dead_letter(item, None, "no sensor is configured for this topic")
            return False
        limit = self._ctx.limits.max_payload_bytes
        if len(item.payload) > limit:
            self.stats.oversized += 1
            reason = (
                f"payload of {len(item.payload)} bytes is over the limit of {limit} (not parsed)"
            )
            for sensor in sensors:
                self.stats.decode_errors += 1
                self._dead_letter(item, sensor.id, reason)
            return False
        message = Message(item.topic, item.payload, item.received_at)
        door_seen = False
        for sensor in sensors:
            try:
                decoded = decode(sensor, self._ctx, message)
            except DecodeError as exc:
                self.stats.decode_errors += 1
                self._dead_letter(item, sensor.id, exc.reason)
                continue
            for health in self._staleness.seen(sensor.id, item.received_at):
                self._emit(health, lines)
            if self._repeats.seen(sensor.id, item.topic, item.payload, item.received_at):
                self.stats.duplicates += 1  # a good reading again within the window: one reading
                continue
            for d in decoded:
                if isinstance(d, DoorCounterReading):
                    door_seen = True
                    traffic = self._tracker.update(d)
                    if traffic is None:
                        self.stats.duplicates += 1
                        continue
                    self._emit(traffic, lines)
                else:
                    self._emit(d, lines)
        return door_seen

    def _emit(self, obs: Observation, lines: list[str]) -> None:
        self.stats.observations += 1
        lines.extend(to_lines(self._site_id, obs, self._zones))
        if self._observer is not None:
            self._observer.observe(obs)

    def _dead_letter(self, item: Inbound, sensor_id: str | None, reason: str) -> None:
        self._dead.record(DeadLetter(item.topic, reason, item.received_at, item.payload, sensor_id))
        allowed, held = self._throttle.allow(item.topic, self._monotonic())
        if allowed:
            log.warning(
                "sensor.decode_failed",
                topic=item.topic,
                sensor=sensor_id,
                reason=reason,
                suppressed_since_last=held,
                suppressed_all_topics=self._throttle.line_logged(),
                total_for_topic=self._dead.count_for(item.topic),
                total=self._dead.total,
            )

    # ------------------------------------------------------------------ periodic

    async def _watch(self) -> None:
        """Staleness of sensors and the gateway's own health, every few seconds."""
        next_health = 0.0
        while True:
            now = self._clock()
            lines: list[str] = []
            for health in self._staleness.check(now):
                log.warning(
                    "sensor.stale" if not health.online else "sensor.recovered",
                    sensor=health.device_id,
                    detail=health.detail,
                )
                self._emit(health, lines)
            if time.monotonic() >= next_health:
                next_health = time.monotonic() + self._health_interval_s
                self._emit(self.gateway_health(now), lines)
            if lines:
                await self._sink.submit(lines)
            await asyncio.sleep(min(1.0, self._health_interval_s))

    def gateway_health(self, now: datetime) -> DeviceHealth:
        s = self.stats
        detail = (
            f"messages={s.messages} decode_errors={s.decode_errors} duplicates={s.duplicates}"
            f" queue={len(self._buffer)} dead_letters={self._dead.total}"
        )
        return DeviceHealth(
            device_id="gateway", kind=DeviceKind.GATEWAY, online=True, at=now, detail=detail
        )


def _slices(items: Sequence[Inbound]) -> list[Sequence[Inbound]]:
    """Consecutive parts of ``items`` of at most SLICE_MESSAGES messages or SLICE_BYTES."""
    parts: list[Sequence[Inbound]] = []
    start = size = 0
    for i, item in enumerate(items):
        if i > start and (i - start >= SLICE_MESSAGES or size + len(item.payload) > SLICE_BYTES):
            parts.append(items[start:i])
            start, size = i, 0
        size += len(item.payload)
    if start < len(items):
        parts.append(items[start:])
    return parts
