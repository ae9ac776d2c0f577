"""Counter seats (gateway.seats): debounce, stale -> unknown, counters open; the config check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.config_loader import load_settings
from gateway.floor_model import FloorModel
from gateway.observations import DeviceHealth, DeviceKind, PeopleCount, Presence
from gateway.seats import (
    SeatBook,
    SeatSpec,
    SeatState,
    SeatStatus,
    counters_open,
    open_by_service,
    seat_specs,
)
from gateway.settings import PresenceSensor, SeatTimings, Settings
from gateway.site_checks import seat_errors, seat_warnings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 local
TIMINGS = SeatTimings(open_after_s=10, vacant_after_s=300)
OPEN, CLOSED, UNKNOWN = SeatStatus.OPEN, SeatStatus.CLOSED, SeatStatus.UNKNOWN


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def seen(sensor: str, occupied: bool, s: float, counter: int = 7) -> Presence:
    return Presence("f2-counters", sensor, occupied, at(s), counter)


def book(*sensors: str, max_age: float = 900.0) -> SeatBook:
    return SeatBook([SeatSpec(7, "civil", dict.fromkeys(sensors or ("seat-7",), max_age))], TIMINGS)


def run(b: SeatBook, script: Sequence[tuple[float, Presence]], end: float) -> list[SeatStatus]:
    """Apply the readings at their times, evaluating every second; the status each second."""
    pending = sorted(script, key=lambda item: item[0], reverse=True)
    out = []
    for second in range(int(end) + 1):
        while pending and pending[-1][0] <= second:
            b.apply(pending.pop()[1])
        (state,) = b.evaluate(at(second))
        out.append(state.status)
    return out


def test_nothing_heard_is_unknown_not_closed() -> None:
    b = book()
    (state,) = b.evaluate(at(0))
    assert (state.status, state.since, state.occupied, state.at) == (UNKNOWN, None, None, None)
    assert counters_open([state]) == []


def test_a_seat_opens_once_occupied_for_open_after_s() -> None:
    statuses = run(book(), [(0, seen("seat-7", True, 0))], end=12)
    assert statuses[:10] == [UNKNOWN] * 10 and statuses[10:] == [OPEN] * 3


def test_a_pir_that_saw_nobody_for_30_s_does_not_close_the_counter() -> None:
    script = [
        (0, seen("seat-7", True, 0)),
        (60, seen("seat-7", False, 60)),  # the PIR's own timeout: the clerk sits still
        (90, seen("seat-7", True, 90)),  # moves again
    ]
    statuses = run(book(), script, end=500)
    assert set(statuses[10:]) == {OPEN}


def test_a_seat_vacant_for_vacant_after_s_is_closed_since_the_clerk_left() -> None:
    b = book()
    statuses = run(b, [(0, seen("seat-7", True, 0)), (100, seen("seat-7", False, 100))], end=401)
    assert statuses[399] == OPEN and statuses[400] == CLOSED
    (state,) = b.states
    assert state.since == at(100)  # the clerk left at 100, confirmed at 400
    assert state.occupied is False


def test_a_vacant_heartbeat_does_not_restart_the_vacant_delay() -> None:
    # Zigbee sensors repeat their state with each battery / link report
    script = [
        (0, seen("seat-7", True, 0)),
        (100, seen("seat-7", False, 100)),
        (250, seen("seat-7", False, 250)),
        (390, seen("seat-7", False, 390)),
    ]
    statuses = run(book(), script, end=401)
    assert statuses[400] == CLOSED


def test_somebody_passing_a_closed_counter_does_not_open_it() -> None:
    script = [
        (0, seen("seat-7", False, 0)),
        (400, seen("seat-7", True, 400)),
        (405, seen("seat-7", False, 405)),
    ]
    statuses = run(book(), script, end=700)
    assert statuses[300:] == [CLOSED] * 401


def test_a_stale_seat_sensor_makes_the_seat_unknown_and_a_new_reading_brings_it_back() -> None:
    b = book(max_age=900)
    b.apply(seen("seat-7", True, 0))
    assert b.evaluate(at(20))[0].status is OPEN
    assert b.evaluate(at(900))[0].status is OPEN
    (state,) = b.evaluate(at(901))
    assert (state.status, state.since, state.occupied, state.at) == (UNKNOWN, at(901), None, at(0))
    b.apply(seen("seat-7", True, 1000))
    assert b.evaluate(at(1005))[0].status is UNKNOWN  # occupied again, not yet for 10 s
    assert b.evaluate(at(1010))[0].status is OPEN


def test_an_offline_seat_sensor_is_unknown() -> None:
    b = book()
    b.apply(seen("seat-7", True, 0))
    assert b.evaluate(at(20))[0].status is OPEN
    assert b.evaluate(at(21), frozenset({"seat-7"}))[0].status is UNKNOWN


def test_two_sensors_on_one_seat_either_keeps_it_open() -> None:
    b = book("seat-7a", "seat-7b")
    b.apply(seen("seat-7a", True, 0))
    b.apply(seen("seat-7b", False, 0))
    assert b.evaluate(at(10))[0].status is OPEN
    b.apply(seen("seat-7a", False, 50))  # the chair PIR times out, the desk radar too:
    assert b.evaluate(at(349))[0].status is OPEN
    assert b.evaluate(at(350))[0].status is CLOSED  # vacant since the last one let go


def test_a_late_redelivered_reading_does_not_undo_a_newer_one() -> None:
    b = book()
    b.apply(seen("seat-7", True, 100))
    b.apply(seen("seat-7", False, 50))  # redelivered after the newer reading
    assert b.evaluate(at(110))[0].status is OPEN


def test_a_sensor_watching_no_seat_is_not_taken() -> None:
    assert book().apply(seen("lobby-pir", True, 0)) is False


def test_counters_open_and_per_service() -> None:
    seats = [
        SeatState(1, "land", OPEN, T0, True, T0),
        SeatState(2, "land", CLOSED, T0, False, T0),
        SeatState(5, "civil", UNKNOWN, None, None, None),
        SeatState(3, "land", OPEN, T0, False, T0),  # vacant for a moment: still open
    ]
    assert counters_open(seats) == [1, 3]
    assert open_by_service(seats) == {"land": 2, "civil": 0}


# --------------------------------------------------------------------------- settings


def demo(*sensors: PresenceSensor) -> Settings:
    """The demo site with its own seat sensors (one per counter) replaced by ``sensors``."""
    s = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    others = [x for x in s.sensors if x.counter is None]
    return s.model_copy(update={"sensors": [*others, *sensors]})


def seat_sensor(sensor_id: str, counter: int, **kw: object) -> PresenceSensor:
    return PresenceSensor.model_validate(
        {
            "id": sensor_id,
            "kind": "presence",
            "decoder": "presence",
            "topic": f"seats/{sensor_id}",
            "zone": "f2-counters",
            "occupied_count": 1,
            "counter": counter,
            "interval_s": 60,
            **kw,
        }
    )


def test_the_config_check_names_a_counter_no_service_has() -> None:
    s = demo(seat_sensor("seat-7", 7), seat_sensor("seat-99", 99))
    errors = seat_errors(s)
    assert len(errors) == 1
    loc, message = errors[0]
    assert loc == ("sensors", len(s.sensors) - 1, "counter")
    assert message.startswith("counter 99 is in no service group (services[].counters: 1, 2, 3")


def test_the_config_check_wants_a_presence_sensor_on_a_seat() -> None:
    s = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    climate = s.sensors[[x.kind.value for x in s.sensors].index("climate")]
    bad = climate.model_copy(update={"counter": 3})
    errors = seat_errors(s.model_copy(update={"sensors": [bad]}))
    assert [m for _, m in errors] == [
        "only a presence sensor watches a counter seat (this one is climate)"
    ]


def test_seat_specs_group_sensors_per_counter_with_their_service_and_stale_age() -> None:
    s = demo(
        seat_sensor("seat-7", 7), seat_sensor("seat-7b", 7, interval_s=30), seat_sensor("seat-1", 1)
    )
    assert seat_specs(s) == [
        SeatSpec(1, "land", {"seat-1": 180.0}),
        SeatSpec(7, "civil", {"seat-7": 180.0, "seat-7b": 90.0}),
    ]


# --------------------------------------------------------------------------- floor model


def test_a_seat_sensor_feeds_its_counter_not_its_zone() -> None:
    s = demo(seat_sensor("seat-7", 7))
    m = FloorModel(s, start=T0)
    m.apply(PeopleCount("f2-counters", "seat-7", 1, at(0), binary=True))  # a decoder's reading
    states = {z.zone_id: z for z in m.evaluate(at(30))}
    zone = states["f2-counters"]
    assert all(r.source_id != "seat-7" for r in zone.sources)
    assert zone.presence is None
    (seat,) = m.seat_states()
    assert (seat.counter, seat.service_id, seat.status) == (7, "civil", OPEN)
    m.apply(DeviceHealth("seat-7", DeviceKind.SENSOR, False, at(40), detail="offline"))
    m.evaluate(at(41))
    assert m.seat_states()[0].status is UNKNOWN


@pytest.mark.parametrize("vacant_after_s", [120.0, 600.0])
def test_the_vacant_delay_is_the_sites_setting(vacant_after_s: float) -> None:
    s = demo(seat_sensor("seat-7", 7, interval_s=600)).model_copy(
        update={"seats": SeatTimings(vacant_after_s=vacant_after_s)}
    )
    m = FloorModel(s, start=T0)
    m.apply(Presence("f2-counters", "seat-7", True, at(0), 7))
    m.evaluate(at(20))
    m.apply(Presence("f2-counters", "seat-7", False, at(30), 7))
    m.evaluate(at(30 + vacant_after_s - 1))
    assert m.seat_states()[0].status is OPEN
    m.evaluate(at(30 + vacant_after_s))
    assert m.seat_states()[0].status is CLOSED


def test_a_vacant_delay_past_a_seat_sensors_stale_age_is_a_warning() -> None:
    s = demo(seat_sensor("seat-7", 7, interval_s=60), seat_sensor("seat-1", 1, interval_s=600))
    warnings = seat_warnings(s)  # 60 s x 3 = 180 s < the default 300 s vacant delay
    assert [(loc[-1], m.split(":")[0]) for loc, m in warnings] == [
        (
            "interval_s",
            "seats.vacant_after_s (300 s) is longer than this seat sensor's stale age (180 s)",
        )
    ]


def test_the_expected_wait_divides_by_the_open_seats_when_every_seat_is_known() -> None:
    from gateway.observations import TicketEvent, TicketEventKind

    # civil: counters 5, 6, 7 (service time 600 s)
    s = demo(*(seat_sensor(f"seat-{n}", n, interval_s=600) for n in (5, 6, 7)))
    m = FloorModel(s, start=T0)
    for i in range(6):
        m.apply(TicketEvent("civil", f"B{i:03d}", TicketEventKind.ISSUED, at(0), "qms"))
    m.apply(TicketEvent("civil", "B900", TicketEventKind.CALLED, at(1), "qms", counter=5))
    m.evaluate(at(2))
    (civil,) = [w for w in m.service_waits(at(2)) if w.service_id == "civil"]
    assert civil.open_counters == 1  # no seat heard: the counters that called
    for n, occupied in ((5, True), (6, True), (7, False)):
        m.apply(Presence("f2-counters", f"seat-{n}", occupied, at(10), n))
    m.evaluate(at(25))  # 5 and 6 open; 7 not yet closed (vacant for 15 s): unknown
    (civil,) = [w for w in m.service_waits(at(25)) if w.service_id == "civil"]
    assert civil.open_counters == 1
    m.evaluate(at(310))  # 7 closed: every seat known, two open
    (civil,) = [w for w in m.service_waits(at(310)) if w.service_id == "civil"]
    assert (civil.open_counters, civil.expected_wait_s) == (2, 6 * 600 / 2)
