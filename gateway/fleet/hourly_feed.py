"""The hourly feed: feeds the aggregator, queues closed hours and the day's plan. Shell module.

``HourlyFeed`` follows the engine's live stream (zone states, device health
changes) and hears the hub's ticket events (``observe``, a second observer
beside the engine), and feeds them to ``gateway.fleet.hourly.HourlyAggregator``.
Every ``tick_s`` it samples the counter seats (``seats``: the engine's seat
states, gateway.seats), asks the aggregator for the hours the clock has closed
and offers their ``hourly`` and ``health`` messages to the uplink. At start and
after each local midnight it computes the day's staffing plan in a thread
(``plan_of``, gateway.planning) and offers it as a ``plan`` message.

Its state goes to ``path`` (JSON, replaced atomically): the aggregator's
snapshot and the messages offered but not yet acknowledged by JetStream
(``acked`` is the uplink's acknowledgement hook). At start they are read back:
the open hour resumes, closed hours are never built twice, and the messages
not acknowledged are offered again, as saved (same ids, same bytes).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from gateway.fleet.hourly import HourlyAggregator
from gateway.fleet.hourly_records import plan_body, plan_counters
from gateway.fleet.messages import (
    FleetMessage,
    FleetSubjects,
    health_message,
    hourly_message,
    plan_message,
)
from gateway.live import LiveEvent, LiveEventKind, ZoneState
from gateway.observations import DeviceHealth, Observation, TicketEvent
from gateway.planning.staffing import StaffingPlan
from gateway.seats import SeatState

log = structlog.get_logger("floorwatch.fleet")

PLAN_RETRY = timedelta(minutes=5)


def read_state(path: Path) -> dict[str, Any] | None:
    """The saved state; None when there is none or it cannot be read (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("fleet.hourly_state_unreadable", path=str(path), reason=str(exc))
        return None
    return data if isinstance(data, dict) else None


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Replace the state file atomically, flushed to disk."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(state, fh, sort_keys=True, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _encode(m: FleetMessage) -> dict[str, str]:
    return {
        "subject": m.subject,
        "msg_id": m.msg_id,
        "payload": base64.b64encode(m.payload).decode(),
    }


def _decode(raw: Mapping[str, Any]) -> FleetMessage:
    return FleetMessage(
        str(raw["subject"]), str(raw["msg_id"]), base64.b64decode(str(raw["payload"]))
    )


class HourlyFeed:
    """Constructor stores; ``run()`` feeds and closes hours until cancelled."""

    def __init__(
        self,
        *,
        subjects: FleetSubjects,
        tz: ZoneInfo,
        devices: Mapping[str, str],
        path: Path,
        clock: Callable[[], datetime],
        events: Callable[[], AsyncIterator[LiveEvent]],
        offer: Callable[[FleetMessage], None],
        plan_of: Callable[[date], StaffingPlan | None] | None = None,
        current: Callable[[], tuple[Sequence[ZoneState], Sequence[DeviceHealth]]] | None = None,
        seats: Callable[[], Sequence[SeatState]] | None = None,
        tick_s: float = 5.0,
        save_s: float = 30.0,
    ) -> None:
        self._subjects = subjects
        self._tz = tz
        self._devices = dict(devices)
        self._path = path
        self._clock = clock
        self._events = events
        self._offer = offer
        self._plan_of = plan_of
        self._current = current
        self._seats = seats
        self._tick_s = tick_s
        self._save_s = save_s
        self.aggregator: HourlyAggregator | None = None
        self._early: list[TicketEvent] = []  # ticket events before run() restored the state
        self._unacked: dict[str, FleetMessage] = {}  # msg id -> message, in offer order
        self._dirty = False
        self.closed = 0  # hours closed in this run

    # ------------------------------------------------------------------ hooks

    def observe(self, obs: Observation) -> None:
        """The hub's observer (on the loop): ticket events go to the aggregator."""
        if not isinstance(obs, TicketEvent):
            return
        if self.aggregator is None:
            self._early.append(obs)
        else:
            self.aggregator.ticket(obs)

    def acked(self, message: FleetMessage) -> None:
        """The uplink's ack hook: an hourly, health or plan message is stored."""
        if self._unacked.pop(message.msg_id, None) is not None:
            self._dirty = True

    @property
    def unacked(self) -> tuple[FleetMessage, ...]:
        return tuple(self._unacked.values())

    # ------------------------------------------------------------------ run

    async def run(self) -> None:
        state = await asyncio.to_thread(read_state, self._path)
        self.aggregator = self._restore(state)
        for obs in self._early:
            self.aggregator.ticket(obs)
        self._early = []
        for message in list(self._unacked.values()):
            self._offer(message)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._follow(), name="fleet-hourly-follow")
                tg.create_task(self._tick_forever(), name="fleet-hourly-tick")
                if self._plan_of is not None:
                    tg.create_task(self._plans(self._plan_of), name="fleet-plan")
        finally:
            if self.aggregator is not None:
                with contextlib.suppress(OSError):
                    write_state(self._path, self._state(self._clock()))  # at stop: on the loop

    def _restore(self, state: dict[str, Any] | None) -> HourlyAggregator:
        if state is not None:
            try:
                agg = HourlyAggregator.restore(state["aggregator"], self._tz, self._devices)
                self._unacked = {m.msg_id: m for m in (_decode(r) for r in state["unacked"])}
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("fleet.hourly_state_unreadable", path=str(self._path), reason=str(exc))
            else:
                log.info(
                    "fleet.hourly_restored",
                    closed_through=agg.closed_through,
                    unacked=len(self._unacked),
                )
                return agg
        return HourlyAggregator(self._tz, self._devices)

    def _state(self, now: datetime) -> dict[str, Any]:
        """What is saved: hours closed by ``now`` are offered first (so none is left out)."""
        self._close_hours(now)
        return {
            "aggregator": self._agg().snapshot(now),
            "unacked": [_encode(m) for m in self._unacked.values()],
        }

    def _agg(self) -> HourlyAggregator:
        if self.aggregator is None:
            raise RuntimeError("the hourly feed is not running")
        return self.aggregator

    def _close_hours(self, now: datetime) -> int:
        """Offer the messages of the hours closed by ``now``; how many hours."""
        done = self._agg().close(now)
        for hourly, health in done:
            messages = []
            if hourly is not None:
                messages.append(hourly_message(self._subjects, hourly))
            if health is not None:
                messages.append(health_message(self._subjects, health))
            for message in messages:
                self._queue(message)
            log.info("fleet.hourly_closed", records=len(messages))
        self.closed += len(done)
        return len(done)

    def _queue(self, message: FleetMessage) -> None:
        self._unacked[message.msg_id] = message
        self._dirty = True
        self._offer(message)

    async def _follow(self) -> None:
        while True:
            events = self._events()
            # A zone's state is emitted when it changes: a steady zone's value, and the
            # devices', come from the engine's present picture (again after a cut-off).
            if self._current is not None:
                zones, devices = self._current()
                for state in zones:
                    self._agg().zone(state)
                for device in devices:
                    self._agg().device(device)
            async for event in events:
                agg = self._agg()
                if event.kind is LiveEventKind.ZONE and event.zone is not None:
                    agg.zone(event.zone)
                elif event.kind is LiveEventKind.DEVICE and event.device is not None:
                    agg.device(event.device)
            await asyncio.sleep(self._tick_s)  # cut off (fell behind): follow again

    async def _tick_forever(self) -> None:
        last_save = self._clock()
        while True:
            await asyncio.sleep(self._tick_s)
            now = self._clock()
            if self._seats is not None:  # the counter seats, sampled every tick
                self._agg().seats(now, self._seats())
            closed = self._close_hours(now)
            if closed or self._dirty or (now - last_save).total_seconds() >= self._save_s:
                state = self._state(now)  # built on the loop, written in a thread
                try:
                    await asyncio.to_thread(write_state, self._path, state)
                except OSError as exc:  # a full disk: keep publishing, try again next tick
                    log.warning(
                        "fleet.hourly_state_not_saved", path=str(self._path), reason=str(exc)
                    )
                    continue
                self._dirty = False
                last_save = now

    async def _plans(self, plan_of: Callable[[date], StaffingPlan | None]) -> None:
        """The day's plan at start and after each local midnight; retried on failure."""
        while True:
            now = self._clock()
            day = now.astimezone(self._tz).date()
            try:
                plan = await asyncio.to_thread(plan_of, day)
            except Exception as exc:  # the per-round guard (InfluxDB away, history unreadable)
                log.warning("fleet.plan_failed", day=day.isoformat(), reason=str(exc))
                await self._until(now + PLAN_RETRY)
                continue
            if plan is not None:
                self._agg().set_plan(plan.day, plan_counters(plan))
                body = plan_body(plan, self._tz, now)
                self._queue(plan_message(self._subjects, body))
                log.info("fleet.plan_published", day=day.isoformat(), id=body["id"])
            midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), self._tz)
            await self._until(midnight)

    async def _until(self, due: datetime) -> None:
        """Sleep until the clock reaches ``due``, re-reading the clock every tick."""
        while True:
            left = (due - self._clock()).total_seconds()
            if left <= 0:
                return
            await asyncio.sleep(min(left, self._tick_s))
