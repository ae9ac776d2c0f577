"""Hourly aggregates of one center for the province: values in, closed hours out. Pure module.

``HourlyAggregator`` is fed the engine's zone states, the queue-ticket events
and the device health changes, each with its own time, and builds per local
hour of the site (``site.timezone``; identified by its start in UTC):

- per zone: the time-weighted mean of the occupancy over the part of the hour
  it was known (``covered_s``) and its maximum;
- per service group: tickets issued, tickets called, the waits of the calls
  (called - issued) as p50/p90 (nearest rank) and max, the counters open
  and the counters planned (the day's staffing plan, when given). Where the
  group's counters have seat sensors (``gateway.seats``), the counters open
  are the distinct counters whose seat was open at some time in the hour and
  their time-weighted mean (``open_by_service`` sampled by ``seats``);
  elsewhere, the distinct counters that called or served a ticket
  (planning's ``gateway.planning.staffing.counters_open``);
- per device kind: configured, reported, online at the hour's end, down at
  any time in it, and the seconds offline (per device too).

An hour is closed when time passes its end: ``close(now)`` (the clock) or an
event of a later hour. Each closed hour is returned once; ``snapshot(now)``
and ``restore`` carry the open hour, the tickets waiting with their issue
times and the last closed hour across a restart, so a restarted gateway
neither builds a closed hour again nor loses the open one. The time the
gateway was down is not covered: zone values and device states are unknown
after a restore until they are reported again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.fleet.hourly_records import (
    DeviceDown,
    HealthSummary,
    HourSummary,
    KindHour,
    ServiceHour,
    ZoneHour,
)
from gateway.live import ZoneState
from gateway.observations import DeviceHealth, DeviceKind, TicketEvent, TicketEventKind
from gateway.seats import SeatState, SeatStatus, open_by_service

HOUR = timedelta(hours=1)
STATE_VERSION = 1
#: Issue times older than this are forgotten (a ticket never called).
ISSUED_KEPT = timedelta(hours=16)
#: After a longer gap (the gateway was off) the hours between are skipped, not walked.
MAX_WALK = timedelta(hours=48)
_KINDS = (DeviceKind.CAMERA.value, DeviceKind.SENSOR.value)
_OPEN_EVENTS = (TicketEventKind.CALLED, TicketEventKind.SERVED)


@dataclass(slots=True)
class _Zone:
    area: float = 0.0  # person-seconds
    covered: float = 0.0
    peak: int | None = None
    last: tuple[datetime, int] | None = None  # since when, how many


@dataclass(slots=True)
class _Service:
    tickets: int = 0
    called: int = 0
    waits: list[float] = field(default_factory=list)
    counters: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Device:
    kind: str
    online: bool | None = None  # None: not known (not reported since start)
    since: datetime | None = None
    down_s: float = 0.0
    was_down: bool = False


def hour_start(at: datetime, tz: ZoneInfo) -> datetime:
    """The start (UTC) of the local hour ``at`` falls in."""
    local = at.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def nearest_rank(values: list[float], q: float) -> float | None:
    """The ``q`` quantile by nearest rank (a value that occurred); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class HourlyAggregator:
    """One site's hours. ``devices``: configured device id -> kind ("camera"/"sensor")."""

    def __init__(self, tz: ZoneInfo, devices: Mapping[str, str]) -> None:
        self._tz = tz
        self._configured = dict(devices)
        self._start: datetime | None = None  # the open hour
        self._zones: dict[str, _Zone] = {}
        self._services: dict[str, _Service] = {}
        self._seats: dict[str, _Zone] = {}  # service -> counters open by seat, as a step function
        self._seat_open: dict[str, set[int]] = {}  # service -> counters seen open this hour
        self._seat_now: dict[str, set[int]] = {}  # service -> counters open at the last sample
        self._devices: dict[str, _Device] = {
            d: _Device(k) for d, k in devices.items() if k in _KINDS
        }
        self._reported: set[str] = set()
        self._issued: dict[tuple[str, str], datetime] = {}
        self._plan: dict[str, dict[str, dict[int, int]]] = {}  # day -> service -> hour -> n
        self._done: list[tuple[HourSummary | None, HealthSummary | None]] = []
        self.closed_through: datetime | None = None  # start of the last closed hour

    # ------------------------------------------------------------------ inputs

    def zone(self, state: ZoneState) -> None:
        at = self._advance(state.updated_at)
        z = self._zones.setdefault(state.zone_id, _Zone())
        if z.last is not None:
            at = max(at, z.last[0])  # a late state does not go back in time
        self._integrate_zone(z, at)
        if state.method == "none":  # nobody counts it: its 0 means "not known"
            z.last = None
            return
        z.last = (at, state.occupancy)
        z.peak = state.occupancy if z.peak is None else max(z.peak, state.occupancy)

    def ticket(self, event: TicketEvent) -> None:
        self._advance(event.at)
        s = self._services.setdefault(event.service_id, _Service())
        key = (event.service_id, event.ticket)
        if event.event is TicketEventKind.ISSUED:
            s.tickets += 1
            self._issued[key] = event.at
            return
        issued = self._issued.pop(key, None)
        if event.event is TicketEventKind.CALLED:
            s.called += 1
            if issued is not None:
                s.waits.append(max(0.0, (event.at - issued).total_seconds()))
        if event.counter is not None and event.event in _OPEN_EVENTS:
            s.counters.add(event.counter)

    def device(self, health: DeviceHealth) -> None:
        if health.kind.value not in _KINDS:
            return
        at = self._advance(health.at)
        d = self._devices.setdefault(health.device_id, _Device(health.kind.value))
        if d.since is not None:
            at = max(at, d.since)
        self._integrate_device(d, at)
        self._reported.add(health.device_id)
        d.online, d.since = health.online, at
        if not health.online:
            d.was_down = True

    def seats(self, at: datetime, states: Iterable[SeatState]) -> None:
        """The counter seats as the engine sees them at ``at`` (sampled by the shell)."""
        at = self._advance(at)
        states = list(states)
        for service, n in open_by_service(states).items():
            s = self._seats.setdefault(service, _Zone())
            when = at if s.last is None else max(at, s.last[0])
            self._integrate_zone(s, when)
            s.last = (when, n)
            s.peak = n if s.peak is None else max(s.peak, n)
            self._seat_open.setdefault(service, set())
        now: dict[str, set[int]] = {}
        for seat in states:
            if seat.service_id is not None and seat.status is SeatStatus.OPEN:
                now.setdefault(seat.service_id, set()).add(seat.counter)
        for service, counters in now.items():
            self._seat_open.setdefault(service, set()).update(counters)
        self._seat_now = now

    def set_plan(self, day: date, counters: Mapping[str, Mapping[int, int]]) -> None:
        """The day's planned counters: service group -> local hour -> counters."""
        self._plan = {
            **{k: v for k, v in self._plan.items() if k >= (day - timedelta(days=1)).isoformat()},
            day.isoformat(): {s: dict(h) for s, h in counters.items()},
        }

    # ------------------------------------------------------------------ outputs

    def close(self, now: datetime) -> list[tuple[HourSummary | None, HealthSummary | None]]:
        """The hours closed by ``now`` (each once, oldest first); None where nothing was seen."""
        self._advance(now)
        done, self._done = self._done, []
        return done

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """A JSON-able state, sums brought up to ``now``; take ``close(now)`` first.

        ValueError when ``now`` closes an hour ``close`` has not handed out yet
        (it would not be in the snapshot).
        """
        at = self._advance(now)
        if self._done:
            raise ValueError("closed hours not taken: call close(now) before snapshot(now)")
        for z in [*self._zones.values(), *self._seats.values()]:
            self._integrate_zone(z, at)
        for d in self._devices.values():
            self._integrate_device(d, at)
        return {
            "v": STATE_VERSION,
            "saved_at": at.isoformat(),
            "hour": _iso(self._start),
            "closed_through": _iso(self.closed_through),
            "zones": {
                k: {"area": z.area, "covered": z.covered, "peak": z.peak}
                for k, z in sorted(self._zones.items())
            },
            "services": {
                k: {
                    "tickets": s.tickets,
                    "called": s.called,
                    "waits": list(s.waits),
                    "counters": sorted(s.counters),
                }
                for k, s in sorted(self._services.items())
            },
            "seats": {
                k: {
                    "area": s.area,
                    "covered": s.covered,
                    "peak": s.peak,
                    "open": sorted(self._seat_open.get(k, ())),
                }
                for k, s in sorted(self._seats.items())
            },
            "devices": {
                k: {"kind": d.kind, "down_s": d.down_s, "was_down": d.was_down}
                for k, d in sorted(self._devices.items())
            },
            "reported": sorted(self._reported),
            "issued": [[s, t, at.isoformat()] for (s, t), at in sorted(self._issued.items())],
            "plan": self._plan,
        }

    @classmethod
    def restore(
        cls, data: Mapping[str, Any], tz: ZoneInfo, devices: Mapping[str, str]
    ) -> HourlyAggregator:
        """An aggregator from a ``snapshot``; ValueError for one it cannot read.

        Zone values and device states are not restored: the time until they
        are reported again is not covered.
        """
        if data.get("v") != STATE_VERSION:
            raise ValueError(f"state version {data.get('v')!r}, expected {STATE_VERSION}")
        agg = cls(tz, devices)
        try:
            agg._start = _time(data["hour"])
            agg.closed_through = _time(data["closed_through"])
            for k, z in data["zones"].items():
                agg._zones[k] = _Zone(float(z["area"]), float(z["covered"]), z["peak"])
            for k, s in data["services"].items():
                agg._services[k] = _Service(
                    int(s["tickets"]),
                    int(s["called"]),
                    [float(w) for w in s["waits"]],
                    {int(c) for c in s["counters"]},
                )
            for k, s in data.get("seats", {}).items():
                agg._seats[k] = _Zone(float(s["area"]), float(s["covered"]), s["peak"])
                agg._seat_open[k] = {int(c) for c in s["open"]}
            for k, d in data["devices"].items():
                agg._devices[k] = _Device(
                    str(d["kind"]), None, None, float(d["down_s"]), bool(d["was_down"])
                )
            agg._reported = {str(d) for d in data["reported"]}
            agg._issued = {(str(s), str(t)): _parse(at) for s, t, at in data["issued"]}
            agg._plan = {
                str(day): {
                    str(s): {int(h): int(n) for h, n in hours.items()} for s, hours in plan.items()
                }
                for day, plan in data["plan"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"unreadable aggregator state: {type(exc).__name__}: {exc}") from exc
        return agg

    # ------------------------------------------------------------------ internals

    def _advance(self, at: datetime) -> datetime:
        """Close every hour that ended by ``at``; ``at`` clamped into the open hour."""
        at = at.astimezone(UTC)
        if self._start is None:
            self._start = hour_start(at, self._tz)
            if self.closed_through is not None and self._start <= self.closed_through:
                self._start = self.closed_through + HOUR
        while at >= self._start + HOUR:
            self._finish()
            nxt = self._start + HOUR
            if at - nxt > MAX_WALK:
                nxt = hour_start(at, self._tz)
                self._forget_values()
            self._start = nxt
        return max(at, self._start)

    def _finish(self) -> None:
        """Build the open hour's records and start the next hour with the values carried."""
        start = self._start
        if start is None:
            return
        end = start + HOUR
        for z in [*self._zones.values(), *self._seats.values()]:
            self._integrate_zone(z, end)
        for d in self._devices.values():
            self._integrate_device(d, end)
        self._done.append((self._hour_summary(start, end), self._health_summary(start, end)))
        self.closed_through = start
        self._zones = {
            k: _Zone(last=z.last, peak=z.last[1] if z.last else None)
            for k, z in self._zones.items()
            if z.last is not None
        }
        self._services = {}
        self._seats = {
            k: _Zone(last=s.last, peak=s.last[1] if s.last else None)
            for k, s in self._seats.items()
            if s.last is not None
        }
        self._seat_open = {k: set(v) for k, v in self._seat_now.items() if k in self._seats}
        for d in self._devices.values():
            d.down_s, d.was_down = 0.0, d.online is False
        cutoff = end - ISSUED_KEPT
        self._issued = {k: at for k, at in self._issued.items() if at >= cutoff}

    def _forget_values(self) -> None:
        self._zones = {}
        self._seats, self._seat_open, self._seat_now = {}, {}, {}
        for d in self._devices.values():
            d.online, d.since, d.was_down = None, None, False

    def _hour_summary(self, start: datetime, end: datetime) -> HourSummary | None:
        zones = {
            k: ZoneHour(round(z.area / z.covered, 3), z.peak, round(z.covered, 3))
            for k, z in sorted(self._zones.items())
            if z.covered > 0 and z.peak is not None
        }
        local = start.astimezone(self._tz)
        planned = self._plan.get(local.date().isoformat(), {})
        seated = {k: z for k, z in self._seats.items() if z.covered > 0}
        keys = set(self._services) | set(seated)
        services = {}
        for k in sorted(keys | {s for s, h in planned.items() if local.hour in h}):
            s = self._services.get(k, _Service())
            seat = seated.get(k)
            services[k] = ServiceHour(
                s.tickets,
                s.called,
                len(s.waits),
                nearest_rank(s.waits, 0.5),
                nearest_rank(s.waits, 0.9),
                max(s.waits) if s.waits else None,
                len(s.counters) if seat is None else len(self._seat_open.get(k, ())),
                planned.get(k, {}).get(local.hour),
                None if seat is None else round(seat.area / seat.covered, 3),
                "tickets" if seat is None else "seats",
            )
        if not zones and not services:
            return None
        return HourSummary(start, end, local, zones, services)

    def _health_summary(self, start: datetime, end: datetime) -> HealthSummary | None:
        if not self._reported:
            return None
        kinds = {}
        for kind in _KINDS:
            members = {k: d for k, d in self._devices.items() if d.kind == kind}
            kinds[kind] = KindHour(
                configured=sum(1 for d, k in self._configured.items() if k == kind),
                reported=sum(1 for k in members if k in self._reported),
                online=sum(1 for d in members.values() if d.online is True),
                down=sum(1 for d in members.values() if d.was_down),
                downtime_s=round(sum(d.down_s for d in members.values()), 3),
            )
        devices = {
            k: DeviceDown(d.kind, round(d.down_s, 3), d.online)
            for k, d in sorted(self._devices.items())
            if d.down_s > 0
        }
        return HealthSummary(start, end, start.astimezone(self._tz), kinds, devices)

    def _integrate_zone(self, z: _Zone, at: datetime) -> None:
        if z.last is None or self._start is None:
            return
        since, people = z.last
        dt = (at - max(since, self._start)).total_seconds()
        if dt > 0:
            z.area += people * dt
            z.covered += dt
            z.last = (at, people)

    def _integrate_device(self, d: _Device, at: datetime) -> None:
        if d.online is not False or d.since is None or self._start is None:
            return
        dt = (at - max(d.since, self._start)).total_seconds()
        if dt > 0:
            d.down_s += dt
            d.since = at


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _parse(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise TypeError(f"not a time: {raw!r}")
    at = datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise ValueError(f"a time without zone: {raw!r}")
    return at.astimezone(UTC)


def _time(raw: object) -> datetime | None:
    return None if raw is None else _parse(raw)
