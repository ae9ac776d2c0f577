"""The simulated center: determinism, the day's figures, conservation, climate, devices."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config_loader import load_settings
from gateway.observations import TicketEventKind
from gateway.settings import Settings
from sensors.simulator.model import CenterModel, ticket_prefix
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    SimReading,
    TicketReading,
)

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 11, 23, tzinfo=TZ)
SATURDAY = datetime(2026, 11, 28, tzinfo=TZ)
SUNDAY = datetime(2026, 11, 22, tzinfo=TZ)
OUTSIDE_DOORS = ("d-main", "d-side")


@cache
def settings() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


@dataclass
class Day:
    """One simulated local day, sampled every minute."""

    model: CenterModel
    readings: list[SimReading] = field(default_factory=list)
    minutes: list[datetime] = field(default_factory=list)
    occupancy: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    co2: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    entries: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def presence(self) -> list[PresenceReading]:
        return [r for r in self.readings if isinstance(r, PresenceReading)]

    def tickets(self, event: TicketEventKind) -> list[TicketReading]:
        return [r for r in self.readings if isinstance(r, TicketReading) and r.event is event]


@cache
def simulate_day(seed: int, day: datetime, counter_reboot: bool = False) -> Day:
    model = CenterModel(settings(), seed, day, counter_reboot=counter_reboot)
    run = Day(model)
    now = day
    while now < day + timedelta(days=1):
        now += timedelta(minutes=1)
        run.readings.extend(model.step(now))
        run.minutes.append(now)
        for zone, count in model.occupancy.items():
            run.occupancy[zone].append(count)
            run.co2[zone].append(model.air(zone).co2_ppm)
        for door in OUTSIDE_DOORS:
            run.entries[door].append(model.door_passages[door][0])
    return run


def local(t: datetime) -> time:
    return t.astimezone(TZ).time()


# --------------------------------------------------------------------------- determinism


def window(seed: int, start: datetime, end: datetime, step: timedelta) -> list[SimReading]:
    model = CenterModel(settings(), seed, start)
    out: list[SimReading] = []
    now = start
    while now < end:
        now = min(end, now + step)
        out.extend(model.step(now))
    return out


def test_same_seed_same_readings_another_seed_others() -> None:
    start, end = MONDAY.replace(hour=8), MONDAY.replace(hour=10)
    first = window(7, start, end, timedelta(minutes=1))
    assert first == window(7, start, end, timedelta(minutes=1))
    assert len(first) > 1000
    assert first != window(8, start, end, timedelta(minutes=1))


def test_step_size_does_not_change_the_readings() -> None:
    start, end = MONDAY.replace(hour=9), MONDAY.replace(hour=11)
    fine = window(3, start, end, timedelta(seconds=1))
    assert fine == window(3, start, end, timedelta(minutes=17))
    assert fine == window(3, start, end, end - start)


def test_start_selects_readings_it_does_not_change_the_day() -> None:
    early = window(5, MONDAY.replace(hour=7), MONDAY.replace(hour=12), timedelta(minutes=5))
    late = window(5, MONDAY.replace(hour=10), MONDAY.replace(hour=12), timedelta(minutes=5))
    assert late == [r for r in early if r.at >= MONDAY.replace(hour=10)]
    assert all(r.at >= MONDAY.replace(hour=10) for r in late)


def test_readings_come_in_time_order() -> None:
    readings = simulate_day(7, MONDAY).readings
    assert all(a.at <= b.at for a, b in zip(readings, readings[1:], strict=False))


def test_time_cannot_go_backwards() -> None:
    model = CenterModel(settings(), 1, MONDAY.replace(hour=9))
    model.step(MONDAY.replace(hour=10))
    with pytest.raises(ValueError, match="backwards"):
        model.step(MONDAY.replace(hour=9, minute=30))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CenterModel(settings(), 1, datetime(2026, 11, 23, 9, 0))


# --------------------------------------------------------------------------- the day's figures


@pytest.mark.parametrize(("seed", "day"), [(7, MONDAY), (8, MONDAY + timedelta(days=2))])
def test_a_weekday_issues_about_535_tickets(seed: int, day: datetime) -> None:
    issued = simulate_day(seed, day).tickets(TicketEventKind.ISSUED)
    assert 535 * 0.9 <= len(issued) <= 535 * 1.1


def test_every_ticket_is_called_then_served_or_a_no_show() -> None:
    run = simulate_day(7, MONDAY)
    issued = {r.ticket for r in run.tickets(TicketEventKind.ISSUED)}
    called = [r.ticket for r in run.tickets(TicketEventKind.CALLED)]
    served = [r.ticket for r in run.tickets(TicketEventKind.SERVED)]
    no_show = [r.ticket for r in run.tickets(TicketEventKind.NO_SHOW)]
    assert sorted(called) == sorted(issued)
    assert sorted(served + no_show) == sorted(issued)
    assert 0 < len(no_show) < 0.1 * len(issued)


def test_ticket_numbers_run_per_service_letter_from_001() -> None:
    run = simulate_day(7, MONDAY)
    prefixes = {s.id: ticket_prefix(i) for i, s in enumerate(settings().services)}
    by_service: dict[str, list[str]] = defaultdict(list)
    for r in run.tickets(TicketEventKind.ISSUED):
        by_service[r.service_id].append(r.ticket)
    for service, tickets in by_service.items():
        assert tickets == [f"{prefixes[service]}{n:03d}" for n in range(1, len(tickets) + 1)]
    assert prefixes["land"] == "A"
    assert ticket_prefix(25) == "Z"
    assert ticket_prefix(26) == "AA"


def test_land_and_police_are_the_heavy_services() -> None:
    issued = simulate_day(7, MONDAY).tickets(TicketEventKind.ISSUED)
    share: dict[str, int] = defaultdict(int)
    for r in issued:
        share[r.service_id] += 1
    top3 = sorted(share, key=share.__getitem__, reverse=True)[:3]
    assert {"land", "police"} & set(top3)
    assert share["land"] > share["construction"]
    assert share["police"] > share["labour"]


def test_a_counter_serves_one_ticket_at_a_time_for_its_service() -> None:
    counters = {c: s.id for s in settings().services for c in s.counters}
    open_ticket: dict[int, str | None] = defaultdict(lambda: None)
    for r in simulate_day(7, MONDAY).readings:
        if not isinstance(r, TicketReading) or r.event is TicketEventKind.ISSUED:
            continue
        assert r.counter is not None
        assert counters[r.counter] == r.service_id
        if r.event is TicketEventKind.CALLED:
            assert open_ticket[r.counter] is None, f"counter {r.counter} called twice"
            open_ticket[r.counter] = r.ticket
        else:
            assert open_ticket[r.counter] == r.ticket
            open_ticket[r.counter] = None


def test_no_tickets_and_no_arrivals_in_the_lunch_break_or_when_closed() -> None:
    run = simulate_day(7, MONDAY)
    sessions = [(time(7, 30), time(11, 30)), (time(13, 30), time(17, 0))]
    for r in run.tickets(TicketEventKind.ISSUED):
        assert any(a <= local(r.at) < b for a, b in sessions), r
    for door in OUTSIDE_DOORS:
        totals = run.entries[door]
        for i in range(1, len(totals)):
            t = local(run.minutes[i])
            closed = t <= time(7, 30) or time(11, 30) < t <= time(13, 30) or t > time(17, 0)
            if closed:
                assert totals[i] == totals[i - 1], f"{door} entry at {t}"


def test_arrivals_peak_in_the_morning_and_the_afternoon() -> None:
    per_hour: dict[int, int] = defaultdict(int)
    for r in simulate_day(7, MONDAY).tickets(TicketEventKind.ISSUED):
        per_hour[r.at.astimezone(TZ).hour] += 1
    morning_peak = max(range(7, 12), key=per_hour.__getitem__)
    afternoon_peak = max(range(13, 17), key=per_hour.__getitem__)
    assert 8 <= morning_peak <= 10
    assert 14 <= afternoon_peak <= 15
    assert per_hour[morning_peak] > 2 * per_hour[7]
    assert per_hour[12] == 0


def test_peak_waiting_occupancy_is_realistic() -> None:
    run = simulate_day(7, MONDAY)
    waiting = run.occupancy["f2-waiting"]
    peak = max(waiting)
    assert 60 <= peak <= 200
    at = local(run.minutes[waiting.index(peak)])
    assert time(8, 30) <= at <= time(11, 30) or time(14, 0) <= at <= time(16, 30)
    present = [sum(z[i] for z in run.occupancy.values()) for i in range(len(run.minutes))]
    assert 100 <= max(present) <= 250


def test_occupancy_is_never_negative() -> None:
    run = simulate_day(7, MONDAY)
    for zone, series in run.occupancy.items():
        assert min(series) >= 0, zone
    assert all(r.count >= 0 for r in run.presence())


def test_everyone_leaves_by_the_end_of_the_day() -> None:
    model = simulate_day(7, MONDAY).model
    assert set(model.occupancy.values()) == {0}
    entries = sum(model.door_passages[d][0] for d in OUTSIDE_DOORS)
    exits = sum(model.door_passages[d][1] for d in OUTSIDE_DOORS)
    assert entries == exits > 535
    stairs_in, stairs_out = model.door_passages["d-stairs"]
    assert stairs_in == stairs_out > 535


def test_companions_count_as_people_not_tickets() -> None:
    run = simulate_day(7, MONDAY)
    went_up = run.model.door_passages["d-stairs"][0]
    tickets = len(run.tickets(TicketEventKind.ISSUED))
    assert tickets * 1.15 < went_up < tickets * 1.5


def test_sunday_is_empty_but_the_devices_still_report() -> None:
    run = simulate_day(7, SUNDAY)
    assert not [r for r in run.readings if isinstance(r, TicketReading)]
    assert all(max(series) == 0 for series in run.occupancy.values())
    assert run.model.door_passages["d-main"] == [0, 0]
    waiting_air = [r for r in run.readings if r.sensor_id == "cl-f2-waiting"]
    assert len(waiting_air) in (24 * 60, 24 * 60 + 1)
    counts = [r.count for r in run.presence()]
    assert max(counts) <= 2


def test_saturday_morning_is_quieter() -> None:
    run = simulate_day(7, SATURDAY)
    issued = run.tickets(TicketEventKind.ISSUED)
    assert 100 <= len(issued) <= 300
    assert all(local(r.at) < time(11, 30) for r in issued)


# --------------------------------------------------------------------------- climate


def pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    vy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return cov / (vx * vy)


def test_co2_rises_with_occupancy() -> None:
    run = simulate_day(7, MONDAY)
    people = [float(n) for n in run.occupancy["f2-waiting"]]
    co2 = run.co2["f2-waiting"]
    assert pearson(people, co2) > 0.8
    assert max(co2) > 700
    assert min(co2) >= 419
    night = co2[: 6 * 60]
    assert max(night) < 450
    busy = people.index(max(people))
    assert co2[busy] > night[-1] + 250


def test_climate_readings_are_plausible_for_a_vietnamese_lobby() -> None:
    run = simulate_day(7, MONDAY)
    climate = [r for r in run.readings if isinstance(r, ClimateReading)]
    for r in climate:
        assert 55 <= r.humidity_pct <= 80
        assert 5 <= r.pm25_ugm3 <= 45
        assert 24 <= r.temperature_c <= 34
        if local(r.at) >= time(9) and local(r.at) <= time(16, 30):
            assert 25.5 <= r.temperature_c <= 29.0, r  # the AC holds the hall near 26-27 °C
    waiting = [r for r in climate if r.sensor_id == "cl-f2-waiting"]
    afternoon_off = [r.temperature_c for r in waiting if local(r.at) >= time(22)]
    assert min(afternoon_off) > 28.0  # the AC is off: the hall drifts to outdoor values
    assert all(r.co2_ppm is not None for r in waiting)
    assert all(r.co2_ppm is None for r in climate if r.sensor_id == "cl-f1-entrance")


def test_zigbee_battery_drains_slowly() -> None:
    readings = [
        r
        for r in simulate_day(7, MONDAY).readings
        if isinstance(r, ClimateReading) and r.battery_pct is not None
    ]
    assert {r.sensor_id for r in readings} == {"cl-f1-canteen"}
    levels = [r.battery_pct for r in readings if r.battery_pct is not None]
    assert all(a >= b for a, b in zip(levels, levels[1:], strict=False))
    assert 0 <= levels[0] - levels[-1] <= 2


# --------------------------------------------------------------------------- devices


def test_every_sensor_reports_at_its_interval() -> None:
    run = simulate_day(7, MONDAY)
    for sensor in settings().sensors:
        if sensor.kind.value == "queue":
            continue
        times = [r.at for r in run.readings if r.sensor_id == sensor.id]
        expected = round(86400 / sensor.interval_s)
        assert len(times) in (expected, expected + 1), sensor.id  # 00:00 and 24:00 both in
        gaps = {(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)}
        assert gaps == {sensor.interval_s}, sensor.id


def door_reports(run: Day, sensor_id: str) -> list[DoorCountReading]:
    return [r for r in run.readings if isinstance(r, DoorCountReading) and r.sensor_id == sensor_id]


def test_cumulative_counters_count_up_with_a_sequence() -> None:
    run = simulate_day(7, MONDAY)
    reports = door_reports(run, "dc-main")
    assert all(r.cumulative for r in reports)
    assert all(b.seq == a.seq + 1 for a, b in zip(reports, reports[1:], strict=False))
    assert all(
        b.entries >= a.entries and b.exits >= a.exits
        for a, b in zip(reports, reports[1:], strict=False)
    )
    entries = reports[-1].entries - reports[0].entries
    assert entries == run.model.door_passages["d-main"][0] > 0


def test_delta_counters_add_up_to_the_true_passages() -> None:
    run = simulate_day(7, MONDAY)
    reports = door_reports(run, "dc-side")
    assert not any(r.cumulative for r in reports)
    assert all(b.seq == a.seq + 1 for a, b in zip(reports, reports[1:], strict=False))
    assert sum(r.entries for r in reports) == run.model.door_passages["d-side"][0]
    assert sum(r.exits for r in reports) == run.model.door_passages["d-side"][1]


def test_optional_counter_reboot_restarts_totals_and_loses_nothing() -> None:
    run = simulate_day(7, MONDAY, counter_reboot=True)
    assert len(run.model.reboots) == 1
    assert local(run.model.reboots[0]) >= time(10, 0)
    reports = door_reports(run, "dc-main")
    drops = [i for i in range(1, len(reports)) if reports[i].entries < reports[i - 1].entries]
    assert len(drops) == 1
    after = reports[drops[0]]
    assert after.seq == 1
    assert after.entries < 50
    # the totals before the reboot plus the totals since add up to the truth
    entries = reports[drops[0] - 1].entries - reports[0].entries + reports[-1].entries
    assert entries == run.model.door_passages["d-main"][0]
    assert simulate_day(7, MONDAY).model.reboots == []


def test_presence_sensors_follow_the_true_count_with_small_noise() -> None:
    model = CenterModel(settings(), 7, MONDAY.replace(hour=9))
    errors: list[int] = []
    now = MONDAY.replace(hour=9)
    while now < MONDAY.replace(hour=11):
        now += timedelta(seconds=30)
        for r in model.step(now):
            if isinstance(r, PresenceReading) and r.sensor_id == "pc-f2-waiting":
                errors.append(r.count - model.occupancy["f2-waiting"])
    assert len(errors) == 240
    assert max(abs(e) for e in errors) <= 10
    assert sum(abs(e) for e in errors) / len(errors) < 3
