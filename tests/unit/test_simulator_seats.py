"""The simulator's counter seats: a PIR per counter of the demo, open while the center is."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.config_loader import load_settings
from gateway.floor_model import FloorModel
from gateway.observations import PeopleCount
from gateway.seats import SeatStatus, counters_open
from gateway.settings import ValidationLimits
from sensors.decoders import DecodeContext, decode
from sensors.models import Message
from sensors.simulator.model import CenterModel
from sensors.simulator.payloads import encode, topic_for
from sensors.simulator.readings import SeatReading

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 11, 23, tzinfo=TZ)


def test_every_demo_counter_has_a_seat_sensor_whose_payload_decodes_to_binary_presence() -> None:
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    counters = sorted(c for s in settings.services for c in s.counters)
    seats = {s.counter: s for s in settings.sensors if s.counter is not None}
    assert sorted(seats) == counters
    seat = seats[7]
    reading = SeatReading(seat.id, datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("UTC")), True)
    payload = encode(seat, reading, TZ)
    assert payload == b'{"presence":true,"ts":"2026-11-23T02:00:00Z"}'
    ctx = DecodeContext(limits=ValidationLimits(), timezone=TZ)
    (obs, *_) = decode(seat, ctx, Message(topic_for(seat), payload, reading.at))
    assert obs == PeopleCount("f2-counters", "seat-07", 1, reading.at, binary=True)


def test_a_simulated_monday_opens_the_counters_with_the_center_and_closes_them_at_lunch() -> None:
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    model = CenterModel(settings, 11, MONDAY)
    floor = FloorModel(settings, start=MONDAY)
    ctx = DecodeContext(limits=ValidationLimits(), timezone=TZ)
    sensors = {s.id: s for s in settings.sensors}
    open_at: dict[time, int] = {}
    missed = 0  # vacant reports while the clerk sits still
    now = MONDAY + timedelta(hours=6)
    while now < MONDAY + timedelta(hours=15):
        now += timedelta(minutes=1)
        for r in model.step(now):
            if isinstance(r, SeatReading):
                missed += not r.occupied and time(8) <= r.at.astimezone(TZ).time() < time(11)
                sensor = sensors[r.sensor_id]
                payload = encode(sensor, r, TZ)
                for obs in decode(sensor, ctx, Message(topic_for(sensor), payload, r.at)):
                    assert isinstance(obs, PeopleCount)  # a seat's reading: no door counts
                    floor.apply(obs)
        floor.evaluate(now)
        open_at[now.astimezone(TZ).time()] = len(counters_open(floor.seat_states()))
    # Monday: 07:30-11:30 and 13:30-17:00 (docs/simulator.md); a clerk missed by the PIR
    # now and then does not close a counter
    assert missed > 10
    assert open_at[time(7, 0)] == 0
    assert open_at[time(9, 0)] == open_at[time(10, 30)] == 23
    assert open_at[time(12, 30)] == 0  # lunch: vacant for five minutes, then closed
    assert open_at[time(14, 30)] == 23
    assert all(s.status is SeatStatus.OPEN for s in floor.seat_states())
