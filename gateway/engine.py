"""The engine: ticks the floor model and the alert book with the clock. Shell module (asyncio).

The hub hands every observation to ``observe`` (synchronous, cheap: it only
updates the pure ``FloorModel`` and wakes the engine). The engine's task then
evaluates once per wake-up, at most every ``min_interval_s`` (0.1 s: a state
at most a tenth of a second old on the page, where every 10 ms had the engine
re-evaluate the whole floor some 60 times a second under a flood of sensor
messages, about 7 % of the loop measured with bench/ingest), and at least every
``tick_s`` (dwell times, staleness, re-notification):

1. ``FloorModel.evaluate(now)``: zone states; changed ones are published
   (retained MQTT, live stream, InfluxDB), at most every ``zone_publish_s`` per
   zone unless the crowd level changed; a steady zone still gets an InfluxDB
   point every ``zone_point_s``;
2. the counter seats (``gateway.seats``): a ``counter_seat`` point when a
   seat's state changes, and every ``seat_point_s`` while it holds;
3. ``FloorModel.conditions`` -> ``AlertBook.evaluate``: alert transitions,
   which are first stored in SQLite (off the loop), then published.

Acknowledge and resolve (the API) take the same lock, so transitions reach the
store, MQTT and the live stream in one order. ``Engine`` implements
``gateway.live.FloorService``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Protocol

import structlog

from gateway.alert_store import AlertStore, StoreError
from gateway.alerts import AlertBook, Transition
from gateway.floor_model import FloorModel
from gateway.live import (
    Alert,
    AlertNotFound,
    LiveEvent,
    LiveEventKind,
    ZoneState,
)
from gateway.observations import DeviceHealth, DeviceKind, Observation
from gateway.points import alert_lines, seat_lines, zone_state_lines
from gateway.seats import SeatState, SeatStatus
from gateway.settings import AlertRules, CrowdLevel
from gateway.state_writer import StateWriter
from gateway.zones import Totals, totals

log = structlog.get_logger("floorwatch.engine")

Clock = Callable[[], datetime]


class LineSink(Protocol):
    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None: ...


class Engine:
    def __init__(
        self,
        *,
        site_id: str,
        model: FloorModel,
        rules: AlertRules,
        store: AlertStore,
        writer: StateWriter,
        sink: LineSink | None,
        clock: Clock,
        spool_fill: Callable[[], float] | None = None,
        spool_warn: float = 0.5,
        tick_s: float = 1.0,
        min_interval_s: float = 0.1,
        zone_publish_s: float = 1.0,
        replay_size: int = 2000,
        subscriber_queue: int = 1000,
        level_memory_s: float = 900,
        zone_point_s: float = 60,
        day_state_s: float = 5.0,
        seat_point_s: float = 60,
    ) -> None:
        self._site_id = site_id
        self._model = model
        self._rules = rules
        self._store = store
        self._writer = writer
        self._sink = sink
        self._clock = clock
        self._spool_fill = spool_fill
        self._spool_warn = spool_warn
        self._tick_s = tick_s
        self._min_interval_s = min_interval_s
        self._zone_publish_s = zone_publish_s
        self._replay: deque[LiveEvent] = deque(maxlen=replay_size)
        self._subscriber_queue = subscriber_queue
        self._subscribers: set[asyncio.Queue[LiveEvent | None]] = set()
        self._seq = 0
        self._book: AlertBook | None = None
        self._lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._published: dict[str, tuple[object, ...]] = {}
        self._published_at: dict[str, datetime] = {}
        self._device_changes: list[DeviceHealth] = []
        self._level_memory_s = level_memory_s
        self._zone_point_s = zone_point_s
        self._pointed_at: dict[str, datetime] = {}
        self._saved_levels: dict[str, tuple[CrowdLevel, int]] = {}
        self._day_state_s = day_state_s
        self._seat_point_s = seat_point_s
        self._seat_pointed: dict[int, tuple[SeatStatus, bool | None, datetime]] = {}
        self._saved_day: str | None = None
        self._saved_day_at: datetime | None = None
        self.evaluations = 0
        self.store_errors = 0

    # ------------------------------------------------------------------ inputs

    def observe(self, obs: Observation) -> None:
        """Called by the hub (on the loop) for every observation."""
        if isinstance(obs, DeviceHealth):
            devices = self._model.state.devices
            before = devices.get(obs.device_id)
            self._model.apply(obs)
            after = devices.get(obs.device_id)
            if (
                obs.kind is not DeviceKind.GATEWAY
                and after is not None
                and after is not before  # not an event-only report (ONVIF motion, tamper)
                and (
                    before is None or (before.online, before.detail) != (after.online, after.detail)
                )
            ):
                self._device_changes.append(after)
        else:
            self._model.apply(obs)
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        restored = await self._store.open()
        self._book = AlertBook(
            renotify_s=self._rules.renotify_s,
            escalate_s=self._rules.escalate_s,
            clear_s=self._rules.clear_s,
            alerts=[*restored.recent_resolved, *restored.active],
            raises=restored.raises,
        )
        self._writer.restore(restored.active, restored.recent_resolved)
        now = self._clock()
        recent = {
            zone: (level, occupancy)
            for zone, (level, occupancy, at) in restored.levels.items()
            if (now - at).total_seconds() <= self._level_memory_s
        }
        self._model.restore_levels(recent)
        self._saved_levels = self._model.levels()
        self._restore_day_state(restored.day_state, now)
        log.info("engine.started", active_alerts=len(restored.active))
        await self.step()  # every zone has a state before the first reader asks
        self._ready.set()
        try:
            while True:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                # that arrives just as the wake-up does
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._tick_s):
                        await self._wake.wait()
                self._wake.clear()
                try:
                    await self.step()
                except Exception:  # per-evaluation guard: log, count, continue
                    log.exception("engine.step_failed")
                await asyncio.sleep(self._min_interval_s)
        finally:
            for q in list(self._subscribers):
                with contextlib.suppress(asyncio.QueueFull):
                    q.put_nowait(None)
            await asyncio.shield(self._stop_store())

    async def step(self) -> None:
        """One evaluation of the whole floor at the clock's now."""
        lock, book = self._started()
        async with lock:
            now = self._clock()
            self.evaluations += 1
            states = self._model.evaluate(now)
            lines: list[str] = []
            for state in states:
                if self._zone_due(state, now):
                    self._writer.zone(state)
                    self._emit(LiveEvent(0, LiveEventKind.ZONE, now, zone=state))
                    lines.extend(self._zone_point(state, now))
                elif self._point_due(state.zone_id, now):
                    lines.extend(self._zone_point(state, now))
            lines.extend(self._seat_points(self._model.seat_states(), now))
            changes, self._device_changes = self._device_changes, []
            for device in changes:
                self._emit(LiveEvent(0, LiveEventKind.DEVICE, device.at, device=device))
            fill = self._spool_fill() if self._spool_fill is not None else None
            conditions = self._model.conditions(now, spool_fill=fill, spool_warn=self._spool_warn)
            transitions = book.evaluate(now, conditions, self._model.unknown(now))
            await self._save_levels(now)  # before the alerts they cause are published
            await self._commit(transitions, lines)
            await self._save_day_state(now)

    # ------------------------------------------------------------------ FloorService

    def zones(self) -> Sequence[ZoneState]:
        return list(self._model.states.values())

    def totals(self) -> Totals:
        """People per floor and on the whole site (last evaluation)."""
        return totals(self._model.states.values())

    def devices(self) -> Sequence[DeviceHealth]:
        return self._model.devices()

    def seats(self) -> Sequence[SeatState]:
        """Every counter seat (counters with a seat sensor) as of the last evaluation."""
        return self._model.seat_states()

    def alerts(self, *, include_resolved: bool = False) -> Sequence[Alert]:
        if self._book is None:
            return []
        out = sorted(self._book.active.values(), key=lambda a: a.raised_at)
        if include_resolved:
            out.extend(reversed(self._book.resolved.values()))
        return out

    async def acknowledge(self, alert_id: str, *, by: str, note: str | None) -> Alert:
        await self.wait_ready()
        lock, book = self._started()
        async with lock:
            t = book.acknowledge(alert_id, by=by, note=note, now=self._clock())
            await self._commit([t], [])
            return t.alert

    async def resolve(self, alert_id: str, *, by: str, note: str | None) -> Alert:
        await self.wait_ready()
        lock, book = self._started()
        async with lock:
            t = book.resolve(alert_id, by=by, note=note, now=self._clock())
            await self._commit([t], [])
            return t.alert

    async def alert(self, alert_id: str) -> Alert:
        """One alert by id, also one resolved long ago (from the store)."""
        await self.wait_ready()
        _, book = self._started()
        try:
            return book.get(alert_id)
        except AlertNotFound:
            stored = await self._store.alert(alert_id)
            if stored is None:
                raise
            return stored

    def events_since(self, seq: int) -> Sequence[LiveEvent] | None:
        if seq > self._seq:
            return None  # a sequence of an earlier run of the gateway
        if not self._replay:
            return [] if seq >= self._seq else None
        if seq < self._replay[0].seq - 1:
            return None
        return [e for e in self._replay if e.seq > seq]

    def subscribe(self) -> AsyncIterator[LiveEvent]:
        q: asyncio.Queue[LiveEvent | None] = asyncio.Queue(self._subscriber_queue)
        self._subscribers.add(q)
        return self._iterate(q)

    @property
    def last_seq(self) -> int:
        return self._seq

    async def wait_ready(self) -> None:
        if self._ready is None:
            raise RuntimeError("the engine is not running")
        await self._ready.wait()

    # ------------------------------------------------------------------ internals

    def _started(self) -> tuple[asyncio.Lock, AlertBook]:
        if self._lock is None or self._book is None:
            raise RuntimeError("the engine is not running")
        return self._lock, self._book

    async def _iterate(self, q: asyncio.Queue[LiveEvent | None]) -> AsyncIterator[LiveEvent]:
        try:
            while True:
                event = await q.get()
                if event is None:
                    return
                yield event
        finally:
            self._subscribers.discard(q)

    async def _commit(self, transitions: list[Transition], lines: list[str]) -> None:
        """Store, then publish: a transition on MQTT is always in SQLite too."""
        if transitions:
            _, book = self._started()
            try:
                await self._store.record(transitions, book.raises)
            except StoreError as exc:
                # An alert the store cannot keep is still an alert: publish it anyway.
                self.store_errors += 1
                log.error("engine.store_failed", reason=str(exc), transitions=len(transitions))
        for t in transitions:
            self._writer.alert(t.alert, t.kind)
            self._emit(LiveEvent(0, LiveEventKind.ALERT, t.at, alert=t.alert, transition=t.kind))
            lines.extend(alert_lines(self._site_id, t.alert, t.kind))
            log.info(
                "alert.transition",
                transition=t.kind,
                alert=t.alert.id,
                severity=t.alert.severity.value,
                by=t.by,
                message=t.alert.message,
            )
        if lines and self._sink is not None:
            await self._sink.submit(lines)

    def _emit(self, event: LiveEvent) -> None:
        self._seq += 1
        event = LiveEvent(
            self._seq,
            event.kind,
            event.at,
            zone=event.zone,
            alert=event.alert,
            transition=event.transition,
            device=event.device,
        )
        self._replay.append(event)
        for q in list(self._subscribers):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                # A reader that cannot keep up is cut off; it resumes with events_since().
                self._subscribers.discard(q)
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
                q.put_nowait(None)
                log.warning("engine.subscriber_dropped", seq=self._seq)

    async def _save_levels(self, now: datetime) -> None:
        levels = self._model.levels()
        changed = {z: v for z, v in levels.items() if self._saved_levels.get(z, (None,))[0] != v[0]}
        if changed:
            try:
                await self._store.save_levels(changed, now)
            except StoreError as exc:
                self.store_errors += 1
                log.error("engine.store_failed", reason=str(exc), levels=len(changed))
                return
            self._saved_levels.update(changed)

    def _restore_day_state(self, saved: tuple[str, datetime] | None, now: datetime) -> None:
        if saved is None:
            return
        body, saved_at = saved
        try:
            data = json.loads(body)
        except ValueError as exc:
            log.error("engine.day_state_unreadable", reason=str(exc))
            return
        if not isinstance(data, dict):
            log.error("engine.day_state_unreadable", reason="not a JSON object")
            return
        result = self._model.restore_day_state(data, saved_at, now)
        if result.skipped is not None:
            log.info("engine.day_state_not_restored", reason=result.skipped, saved_at=saved_at)
        else:
            log.info(
                "engine.day_state_restored",
                waiting=result.waiting,
                services=result.queues,
                door_balances=result.balances,
                saved_at=saved_at,
            )
        self._saved_day = json.dumps(self._model.day_state(), sort_keys=True)
        self._saved_day_at = now

    async def _save_day_state(self, now: datetime, *, force: bool = False) -> None:
        """Save waiting tickets and door balances when they changed, at most every few seconds."""
        last = self._saved_day_at
        if not force and last is not None and (now - last).total_seconds() < self._day_state_s:
            return
        body = json.dumps(self._model.day_state(), sort_keys=True)
        if body == self._saved_day:
            self._saved_day_at = now  # compared again in a few seconds
            return
        try:
            await self._store.save_day_state(body, now)
        except StoreError as exc:
            self.store_errors += 1
            log.error("engine.store_failed", reason=str(exc), what="day_state")
            return
        self._saved_day, self._saved_day_at = body, now

    async def _stop_store(self) -> None:
        if self._book is not None:  # the store is open: keep the day's last changes
            try:
                await self._save_day_state(self._clock(), force=True)
            except Exception:  # stopping: log it, close the store anyway
                log.exception("engine.day_state_not_saved")
        await self._store.close()

    def _zone_point(self, state: ZoneState, now: datetime) -> list[str]:
        self._pointed_at[state.zone_id] = now
        return zone_state_lines(self._site_id, state)

    def _seat_points(self, seats: Sequence[SeatState], now: datetime) -> list[str]:
        """A seat's point when its state or reading changed, else every ``seat_point_s``."""
        lines: list[str] = []
        for seat in seats:
            last = self._seat_pointed.get(seat.counter)
            if (
                last is None
                or (last[0], last[1]) != (seat.status, seat.occupied)
                or (now - last[2]).total_seconds() >= self._seat_point_s
            ):
                self._seat_pointed[seat.counter] = (seat.status, seat.occupied, now)
                lines.extend(seat_lines(self._site_id, seat, now))
        return lines

    def _point_due(self, zone_id: str, now: datetime) -> bool:
        """A steady zone still gets a point every ``zone_point_s`` (history without gaps)."""
        last = self._pointed_at.get(zone_id)
        return last is None or (now - last).total_seconds() >= self._zone_point_s

    def _zone_due(self, state: ZoneState, now: datetime) -> bool:
        key = _zone_key(state)
        before = self._published.get(state.zone_id)
        if before == key:
            return False
        last = self._published_at.get(state.zone_id)
        level_changed = before is None or before[0] != key[0]
        if (
            not level_changed
            and last is not None
            and (now - last).total_seconds() < self._zone_publish_s
        ):
            return False
        self._published[state.zone_id] = key
        self._published_at[state.zone_id] = now
        return True


def _zone_key(s: ZoneState) -> tuple[object, ...]:
    c = s.climate
    return (
        s.level,
        s.occupancy,
        s.method,
        round(s.confidence, 2),
        s.disagreement,
        s.presence,
        s.level_of_service,
        s.waiting_tickets,
        None if s.expected_wait_s is None else round(s.expected_wait_s),
        c.temperature_c,
        c.humidity_pct,
        c.co2_ppm,
        c.pm25_ugm3,
        c.temperature_status,
        c.humidity_status,
        c.co2_status,
    )
