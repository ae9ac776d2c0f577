"""A deterministic simulated service center: visitors, queue, climate, sensor readings.

Pure module: no I/O, no clock reads. Time is passed in: ``step(now)`` runs the
discrete-event simulation up to ``now`` and returns what the configured
sensors reported on the way, in time order.

The day of a visitor party (one ticket holder, sometimes with a companion, or
someone who only uses the post office, ATM, photocopy or canteen):

    outside door -> (side-door zone) -> entrance -> amenities before
    -> stairs door -> landing -> waiting: ticket at the kiosk
    -> called to a counter of its service -> counters zone, served
    -> landing -> stairs door -> entrance -> amenities after -> outside door

Parties that wait past their patience leave; when their ticket is called it
becomes a no-show after NO_SHOW_GRACE_MS. Counters serve until their queue is
empty, also after a session ends. Internally times are integer milliseconds
since the Unix epoch; the model starts empty at local midnight of the start day
and runs silently up to ``start``, so ``start`` only decides which readings are
returned, never what happens.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from heapq import heappop, heappush
from typing import Protocol
from zoneinfo import ZoneInfo

from gateway.observations import TicketEventKind
from gateway.settings import (
    DoorCounterSensor,
    QueueTicketSensor,
    SensorConfig,
    SensorKind,
    Settings,
    Zigbee2MqttSensor,
    ZoneConfig,
    ZoneKind,
)
from sensors.simulator.climate import Air, ClimateParams, advance, equilibrium_start, outdoor
from sensors.simulator.demand import (
    MINUTE_MS,
    ArrivalRate,
    Demand,
    Planner,
    Stop,
    VisitorPlan,
    local_ms,
    resolve_layout,
    sessions_on,
    site_demand,
)
from sensors.simulator.devices import (
    ClimateDevice,
    DoorCounterDevice,
    PresenceDevice,
    SeatDevice,
    reports_co2,
    to_dt,
)
from sensors.simulator.readings import SimReading, TicketReading

__all__ = ["CenterModel", "SimReading", "ticket_prefix"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KIOSK_MS = 20_000  # from entering the waiting zone to holding a ticket
WALK_MS = 20_000  # between neighbouring zones without a door
TO_COUNTER_MS = 30_000  # from being called to standing at the counter
NO_SHOW_GRACE_MS = 60_000  # a called ticket nobody answers is a no-show after this
CLIMATE_STEP_MS = 60_000
AC_BEFORE_MS = 30 * MINUTE_MS  # pre-cooling before the first session
AC_AFTER_MS = 15 * MINUTE_MS
REBOOT_AT = time(10, 0)  # local time of the optional door-counter reboot
HEAT_OFFSET_C = {ZoneKind.ENTRANCE: 1.2, ZoneKind.CANTEEN: 0.8}

Event = Callable[[int], None]


class Device(Protocol):
    def report(self, t_ms: int) -> SimReading: ...


def to_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("times given to the simulator must be timezone-aware")
    return (at - EPOCH) // timedelta(milliseconds=1)


def ticket_prefix(index: int) -> str:
    """Letter prefix of the index-th service: A, B, ... Z, AA, AB, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(slots=True)
class Party:
    plan: VisitorPlan
    zone: str | None = None
    ticket: Ticket | None = None
    called: bool = False


@dataclass(slots=True)
class Ticket:
    number: str
    service_id: str
    party: Party
    gone: bool = False  # the party left before the ticket was called


class CenterModel:
    """The simulated center of ``settings``; same seed and start day, same readings."""

    def __init__(
        self,
        settings: Settings,
        seed: int,
        start: datetime,
        *,
        demand: Demand | None = None,
        climate: ClimateParams | None = None,
        counter_reboot: bool = False,
        pin_day: bool = False,
    ) -> None:
        self._settings = settings
        self._seed = seed
        # The start day's visitors drawn from the seed alone, not its date: the
        # same seed plays the same day whatever the calendar says (the demo).
        self._pinned_day: date | None = (
            start.astimezone(ZoneInfo(settings.site.timezone)).date() if pin_day else None
        )
        self._tz = ZoneInfo(settings.site.timezone)
        self._demand = demand or site_demand(settings)
        self._climate_params = climate or ClimateParams()
        self._layout = resolve_layout(settings, self._demand)
        self._rate = ArrivalRate(settings, self._tz, self._demand)
        self._planner = Planner(settings, self._layout, self._demand)
        self._zones: dict[str, ZoneConfig] = {z.id: z for z in settings.zones}
        self._doors = {d.id: d for d in settings.doors}
        self._start_ms = to_ms(start)
        self._heap: list[tuple[int, int, Event]] = []
        self._order = 0
        self._out: list[SimReading] = []
        # truth
        self.occupancy: dict[str, int] = dict.fromkeys(self._zones, 0)
        self.peak_occupancy: dict[str, int] = dict.fromkeys(self._zones, 0)
        self.door_passages: dict[str, list[int]] = {d: [0, 0] for d in self._doors}
        self.ticket_events: dict[TicketEventKind, int] = dict.fromkeys(TicketEventKind, 0)
        self.reboots: list[datetime] = []
        self._air: dict[str, Air] = {}
        # queue system
        self._services = {s.id: s for s in settings.services}
        self._prefix = {s.id: ticket_prefix(i) for i, s in enumerate(settings.services)}
        self._ticket_no: dict[str, int] = dict.fromkeys(self._services, 0)
        self._queues: dict[str, deque[Ticket]] = {s: deque() for s in self._services}
        self._busy: dict[int, bool] = {c: False for s in settings.services for c in s.counters}
        self._sessions: list[tuple[int, int]] = []
        self._queue_sensor = next(
            (s.id for s in settings.sensors if isinstance(s, QueueTicketSensor)), None
        )
        self._door_devices: dict[str, list[DoorCounterDevice]] = {}
        self._counter_reboot = counter_reboot
        self._rebooted: set[date] = set()
        self._reboot_sensor = next(
            (
                s.id
                for s in settings.sensors
                if isinstance(s, DoorCounterSensor) and s.mode == "cumulative"
            ),
            None,
        )
        origin_day = start.astimezone(self._tz).date()
        self._now_ms = local_ms(origin_day, time(0), self._tz)
        self._init_air()
        self._at(self._now_ms, self._new_day)
        self._at(self._now_ms, self._climate_tick)
        for index, sensor in enumerate(settings.sensors):
            self._init_sensor(index, sensor)
        self._run_until(self._start_ms - 1)
        self._out.clear()

    # ------------------------------------------------------------------ public

    @property
    def now(self) -> datetime:
        return to_dt(self._now_ms)

    def step(self, now: datetime) -> list[SimReading]:
        """Advance to ``now`` (inclusive); the readings reported since the last step."""
        now_ms = to_ms(now)
        if now_ms < self._now_ms:
            raise ValueError(f"time went backwards: {now.isoformat()} < {self.now.isoformat()}")
        self._run_until(now_ms)
        out, self._out = self._out, []
        return out

    def next_time(self) -> datetime | None:
        """When the next internal event happens (a lower bound for the next reading)."""
        return to_dt(self._heap[0][0]) if self._heap else None

    def air(self, zone_id: str) -> Air:
        """The zone's true air (before sensor noise)."""
        return self._air[zone_id]

    # ------------------------------------------------------------------ engine

    def _at(self, t_ms: int, event: Event) -> None:
        self._order += 1
        heappush(self._heap, (t_ms, self._order, event))

    def _run_until(self, until_ms: int) -> None:
        while self._heap and self._heap[0][0] <= until_ms:
            t_ms, _, event = heappop(self._heap)
            self._now_ms = t_ms
            event(t_ms)
        self._now_ms = max(self._now_ms, until_ms)

    def _emit(self, reading: SimReading, t_ms: int) -> None:
        if t_ms >= self._start_ms:
            self._out.append(reading)

    def _local_day(self, t_ms: int) -> date:
        return to_dt(t_ms).astimezone(self._tz).date()

    def _new_day(self, t_ms: int) -> None:
        day = self._local_day(t_ms)
        self._sessions = sessions_on(self._settings, day, self._tz)
        self._ticket_no = dict.fromkeys(self._services, 0)
        key = "pinned" if day == self._pinned_day else day.isoformat()
        rng = random.Random(f"{self._seed}:{key}:visitors")
        extra = self._demand.errand_share
        arrivals = self._rate.arrivals(day, rng, extra)
        for n, arrive_ms in enumerate(arrivals):
            errand = rng.random() < extra / (1 + extra)
            plan = self._planner.plan(n, arrive_ms, errand, rng)
            party = Party(plan)
            self._at(arrive_ms, partial(self._arrive, party))
        next_day = date.fromordinal(day.toordinal() + 1)
        self._at(local_ms(next_day, time(0), self._tz), self._new_day)

    def _in_session(self, t_ms: int) -> bool:
        return any(a <= t_ms < b for a, b in self._sessions)

    # ------------------------------------------------------------------ people

    def _move(self, party: Party, zone: str | None) -> None:
        size = party.plan.size
        if party.zone is not None:
            self.occupancy[party.zone] -= size
        party.zone = zone
        if zone is not None:
            self.occupancy[zone] += size
            self.peak_occupancy[zone] = max(self.peak_occupancy[zone], self.occupancy[zone])

    def _pass_door(self, party: Party, door_id: str, entering: bool) -> None:
        door = self._doors[door_id]
        size = party.plan.size
        self.door_passages[door_id][0 if entering else 1] += size
        for device in self._door_devices.get(door_id, []):
            device.count(entering, size)
        self._move(party, door.into_zone if entering else door.from_zone)

    def _arrive(self, party: Party, t: int) -> None:
        plan = party.plan
        self._pass_door(party, plan.entry_door, entering=True)
        if party.zone != self._layout.entrance:
            self._at(t + plan.pass_ms, lambda t2: self._enter_lobby(party, t2))
        else:
            self._enter_lobby(party, t)

    def _enter_lobby(self, party: Party, t: int) -> None:
        self._move(party, self._layout.entrance)
        after_stops = self._go_up if party.plan.service_id is not None else self._leave
        self._at(
            t + party.plan.lobby_ms,
            lambda t2: self._visit(party, t2, party.plan.before, after_stops),
        )

    def _visit(
        self, party: Party, t: int, stops: tuple[Stop, ...], then: Callable[[Party, int], None]
    ) -> None:
        """Stop at each amenity in turn, coming back to the entrance in between."""
        if not stops:
            self._move(party, self._layout.entrance)
            self._at(t + WALK_MS, lambda t2: then(party, t2))
            return
        stop, rest = stops[0], stops[1:]
        self._move(party, stop.zone_id)
        self._at(t + stop.dwell_ms, lambda t2: self._visit(party, t2, rest, then))

    def _go_up(self, party: Party, t: int) -> None:
        layout = self._layout
        if layout.stairs_door is None or layout.stairs_into == layout.waiting:
            if layout.stairs_door is not None:
                self._pass_door(party, layout.stairs_door, entering=True)
            self._reach_waiting(party, t)
            return
        self._pass_door(party, layout.stairs_door, entering=True)
        self._at(t + party.plan.pass_ms, lambda t2: self._reach_waiting(party, t2))

    def _reach_waiting(self, party: Party, t: int) -> None:
        self._move(party, self._layout.waiting)
        self._at(t + KIOSK_MS, lambda t2: self._take_ticket(party, t2))

    def _take_ticket(self, party: Party, t: int) -> None:
        service_id = party.plan.service_id
        if service_id is None or not self._in_session(t):
            self._come_down(party, t)  # the kiosk is closed
            return
        self._ticket_no[service_id] += 1
        number = f"{self._prefix[service_id]}{self._ticket_no[service_id]:03d}"
        ticket = Ticket(number, service_id, party)
        party.ticket = ticket
        self._ticket_event(t, TicketEventKind.ISSUED, ticket, None)
        self._queues[service_id].append(ticket)
        self._at(t + party.plan.patience_ms, lambda t2: self._lose_patience(party, t2))
        self._dispatch(service_id, t)

    def _lose_patience(self, party: Party, t: int) -> None:
        if party.called or party.ticket is None:
            return
        party.ticket.gone = True
        self._come_down(party, t)

    def _come_down(self, party: Party, t: int) -> None:
        """From the hall back to the entrance, then the after-stops and out."""
        layout = self._layout
        stops = party.plan.after if party.called else ()
        if layout.stairs_door is None:
            self._visit(party, t, stops, self._leave)
            return
        if layout.stairs_into is not None and layout.stairs_into != party.zone:
            self._move(party, layout.stairs_into)
        stairs = layout.stairs_door

        def down(t2: int) -> None:
            self._pass_door(party, stairs, entering=False)
            self._visit(party, t2, stops, self._leave)

        self._at(t + party.plan.pass_ms, down)

    def _leave(self, party: Party, t: int) -> None:
        door = self._doors[party.plan.exit_door]
        if door.into_zone != party.zone:
            self._move(party, door.into_zone)
            self._at(
                t + party.plan.pass_ms,
                lambda _t2: self._pass_door(party, door.id, entering=False),
            )
        else:
            self._pass_door(party, door.id, entering=False)

    # ------------------------------------------------------------------ counters

    def _dispatch(self, service_id: str, t: int) -> None:
        queue = self._queues[service_id]
        for counter in self._services[service_id].counters:
            if not queue:
                return
            if self._busy[counter]:
                continue
            ticket = queue.popleft()
            self._busy[counter] = True
            self._ticket_event(t, TicketEventKind.CALLED, ticket, counter)
            if ticket.gone:
                self._at(t + NO_SHOW_GRACE_MS, partial(self._no_show, ticket, counter))
            else:
                ticket.party.called = True
                self._at(t + TO_COUNTER_MS, partial(self._serve, ticket, counter))

    def _no_show(self, ticket: Ticket, counter: int, t: int) -> None:
        self._ticket_event(t, TicketEventKind.NO_SHOW, ticket, counter)
        self._free(counter, t)

    def _serve(self, ticket: Ticket, counter: int, t: int) -> None:
        party = ticket.party
        self._move(party, self._layout.counters)

        def done(t2: int) -> None:
            self._ticket_event(t2, TicketEventKind.SERVED, ticket, counter)
            self._at(t2 + party.plan.backoffice_ms, partial(self._free, counter))
            if party.plan.results_wait_ms:
                self._move(party, self._layout.waiting)
                self._at(t2 + party.plan.results_wait_ms, partial(self._come_down, party))
            else:
                self._come_down(party, t2)

        self._at(t + party.plan.service_ms, done)

    def _free(self, counter: int, t: int) -> None:
        self._busy[counter] = False
        for service in self._settings.services:
            if counter in service.counters:
                self._dispatch(service.id, t)

    def _ticket_event(
        self, t: int, kind: TicketEventKind, ticket: Ticket, counter: int | None
    ) -> None:
        self.ticket_events[kind] += 1
        if self._queue_sensor is not None:
            reading = TicketReading(
                self._queue_sensor, to_dt(t), kind, ticket.number, ticket.service_id, counter
            )
            self._emit(reading, t)

    # ------------------------------------------------------------------ climate

    def _init_air(self) -> None:
        hour = self._local_hour(self._now_ms)
        start = equilibrium_start(outdoor(hour, self._climate_params))
        self._air = dict.fromkeys(self._zones, start)

    def _local_hour(self, t_ms: int) -> float:
        local = to_dt(t_ms).astimezone(self._tz)
        return local.hour + local.minute / 60 + local.second / 3600

    def _ac_on(self, t_ms: int) -> bool:
        if not self._sessions:
            return False
        return self._sessions[0][0] - AC_BEFORE_MS <= t_ms < self._sessions[-1][1] + AC_AFTER_MS

    def _climate_tick(self, t: int) -> None:
        out = outdoor(self._local_hour(t), self._climate_params)
        ac_on = self._ac_on(t)
        staff = len(self._busy) if self._in_session(t) else sum(self._busy.values())
        for zone_id, zone in self._zones.items():
            people = self.occupancy[zone_id]
            if zone_id == self._layout.counters:
                people += staff
            self._air[zone_id] = advance(
                self._air[zone_id],
                dt_s=CLIMATE_STEP_MS / 1000,
                people=people,
                area_m2=zone.area_m2,
                ac_on=ac_on,
                out=out,
                params=self._climate_params,
                heat_offset_c=HEAT_OFFSET_C.get(zone.kind, 0.0),
            )
        self._at(t + CLIMATE_STEP_MS, self._climate_tick)

    # ------------------------------------------------------------------ sensors

    def _init_sensor(self, index: int, sensor: SensorConfig) -> None:
        if sensor.kind is SensorKind.QUEUE:
            return  # reports events as they happen
        rng = random.Random(f"{self._seed}:{sensor.id}:sensor")
        interval_ms = max(1000, int(sensor.interval_s * 1000))
        phase_ms = (index * 7_000) % interval_ms
        device: Device
        if sensor.kind is SensorKind.DOOR_COUNTER:
            cumulative = not isinstance(sensor, DoorCounterSensor) or sensor.mode == "cumulative"
            reboot = self._reboot_due if sensor.id == self._reboot_sensor else None
            door = DoorCounterDevice.running_for_weeks(sensor.id, cumulative, rng, reboot)
            self._door_devices.setdefault(sensor.door or "", []).append(door)
            device = door
        elif sensor.kind is SensorKind.PRESENCE and sensor.counter is not None:
            # a counter seat: its clerk is at the counter while the center is open
            device = SeatDevice(sensor.id, self._in_session, rng)
        elif sensor.kind is SensorKind.PRESENCE:
            device = PresenceDevice(sensor.id, sensor.zone or "", self.occupancy, rng)
        else:
            zone_id = sensor.zone or self._layout.entrance
            device = ClimateDevice(
                sensor.id,
                partial(self.air, zone_id),
                has_co2=reports_co2(sensor, self._zones[zone_id]),
                battery=isinstance(sensor, Zigbee2MqttSensor),
                origin_ms=self._now_ms,
                rng=rng,
            )

        def tick(t: int) -> None:
            self._emit(device.report(t), t)
            self._at(t + interval_ms, tick)

        self._at(self._now_ms + phase_ms, tick)

    def _reboot_due(self, t_ms: int) -> bool:
        """The optional counter reboot: once a day, after the first report from REBOOT_AT."""
        if not self._counter_reboot:
            return False
        day = self._local_day(t_ms)
        if day in self._rebooted or t_ms < local_ms(day, REBOOT_AT, self._tz):
            return False
        self._rebooted.add(day)
        if t_ms >= self._start_ms:
            self.reboots.append(to_dt(t_ms))
        return True
