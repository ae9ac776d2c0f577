"""gateway.fleet.hourly: a simulated hour of a center in, literal hourly records out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.fleet.central import merge_site_state, record_lines
from gateway.fleet.hourly import HourlyAggregator, hour_start, nearest_rank
from gateway.fleet.hourly_records import (
    DeviceDown,
    HealthSummary,
    HourSummary,
    KindHour,
    ServiceHour,
    ZoneHour,
    plan_body,
)
from gateway.fleet.messages import (
    FleetKind,
    FleetSubjects,
    decode,
    health_message,
    hourly_message,
    plan_message,
)
from gateway.live import ZoneClimateState, ZoneState
from gateway.observations import DeviceHealth, DeviceKind, TicketEvent, TicketEventKind
from gateway.planning.forecast import DayForecast, HourForecast
from gateway.planning.staffing import (
    ServiceGroup,
    StaffingParams,
    StaffingPlan,
    plan_group,
)
from gateway.seats import SeatState, SeatStatus
from gateway.settings import CrowdLevel

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
H0 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # 07:00 in Hà Nội
H1 = H0 + timedelta(hours=1)  # 08:00
H2 = H1 + timedelta(hours=1)
SUBJECTS = FleetSubjects("floorwatch", "ha-noi", "ba-dinh")
DEVICES = {"cam-1": "camera", "cam-2": "camera", "s-1": "sensor"}


def at(hour: datetime, minute: int, second: int = 0) -> datetime:
    return hour + timedelta(minutes=minute, seconds=second)


def zone(when: datetime, occupancy: int, method: str = "camera") -> ZoneState:
    return ZoneState(
        "waiting",
        "f1",
        "Khu chờ",
        occupancy,
        100,
        occupancy / 100,
        0.2,
        None,
        CrowdLevel.CALM,
        method,
        0.9,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        when,
    )


def ticket(when: datetime, number: str, kind: str, counter: int | None = None) -> TicketEvent:
    return TicketEvent("civil", number, TicketEventKind(kind), when, "kiosk", counter)


def health(when: datetime, device: str, online: bool) -> DeviceHealth:
    kind = DeviceKind.CAMERA if device.startswith("cam") else DeviceKind.SENSOR
    return DeviceHealth(device, kind, online, when)


def simulated_hour(
    agg: HourlyAggregator, *, since: datetime | None = None, until: datetime | None = None
) -> None:
    """08:00-09:00 in Hà Nội (01:00-02:00 UTC), from a few minutes before; [since, until)."""
    steps: list[tuple[datetime, Any]] = [
        (at(H0, 50), zone(at(H0, 50), 10)),
        (at(H0, 50), health(at(H0, 50), "cam-1", True)),
        (at(H0, 50), health(at(H0, 50), "cam-2", True)),
        (at(H0, 50), health(at(H0, 50), "s-1", True)),
        (at(H0, 55), ticket(at(H0, 55), "A1", "issued")),
        (at(H1, 5), ticket(at(H1, 5), "A2", "issued")),
        (at(H1, 5), ticket(at(H1, 5), "A1", "called", 1)),  # waited 600 s
        (at(H1, 10), ticket(at(H1, 10), "A3", "issued")),
        (at(H1, 15), ticket(at(H1, 15), "A1", "served", 1)),
        (at(H1, 20), ticket(at(H1, 20), "A3", "called", 1)),  # 600 s
        (at(H1, 25), ticket(at(H1, 25), "A2", "called", 2)),  # 1200 s
        (at(H1, 30), zone(at(H1, 30), 20)),
        (at(H1, 30), health(at(H1, 30), "cam-2", False)),
        (at(H1, 40), ticket(at(H1, 40), "A4", "issued")),
        (at(H1, 45), zone(at(H1, 45), 5)),
        (at(H1, 45), health(at(H1, 45), "cam-2", True)),
    ]
    for when, item in steps:
        if until is not None and when >= until:
            return
        if since is None or when >= since:
            feed(agg, item)


def feed(agg: HourlyAggregator, item: Any) -> None:
    if isinstance(item, ZoneState):
        agg.zone(item)
    elif isinstance(item, TicketEvent):
        agg.ticket(item)
    else:
        agg.device(item)


EXPECTED_HOUR = HourSummary(
    hour=H1,
    end=H2,
    local=H1.astimezone(TZ),
    zones={"waiting": ZoneHour(people_mean=11.25, people_max=20, covered_s=3600.0)},
    services={
        "civil": ServiceHour(
            tickets=3,
            called=3,
            waits=3,
            wait_p50_s=600.0,
            wait_p90_s=1200.0,
            wait_max_s=1200.0,
            counters_open=2,
            counters_planned=3,
        )
    },
)
EXPECTED_HEALTH = HealthSummary(
    hour=H1,
    end=H2,
    local=H1.astimezone(TZ),
    kinds={
        "camera": KindHour(configured=2, reported=2, online=2, down=1, downtime_s=900.0),
        "sensor": KindHour(configured=1, reported=1, online=1, down=0, downtime_s=0.0),
    },
    devices={"cam-2": DeviceDown("camera", 900.0, True)},
)


def aggregator() -> HourlyAggregator:
    agg = HourlyAggregator(TZ, DEVICES)
    agg.set_plan(date(2026, 3, 9), {"civil": {8: 3, 9: 4}})
    return agg


def test_a_simulated_hour_gives_the_expected_records() -> None:
    agg = aggregator()
    simulated_hour(agg)
    assert agg.close(at(H1, 59, 59)) == [
        (
            HourSummary(
                H0,
                H1,
                H0.astimezone(TZ),
                {"waiting": ZoneHour(10.0, 10, 600.0)},
                {"civil": ServiceHour(1, 0, 0, None, None, None, 0, None)},
            ),
            HealthSummary(
                H0,
                H1,
                H0.astimezone(TZ),
                {
                    "camera": KindHour(2, 2, 2, 0, 0.0),
                    "sensor": KindHour(1, 1, 1, 0, 0.0),
                },
                {},
            ),
        )
    ]
    assert agg.close(H2) == [(EXPECTED_HOUR, EXPECTED_HEALTH)]
    assert agg.close(H2 + timedelta(minutes=30)) == []  # each hour once
    assert agg.closed_through == H1


def test_an_hour_closes_when_the_clock_passes_its_end_not_before() -> None:
    agg = aggregator()
    simulated_hour(agg)
    agg.close(at(H1, 0))
    assert agg.close(at(H1, 59, 59)) == []
    assert [h.hour for h, _ in agg.close(H2) if h] == [H1]


def test_a_restart_mid_hour_resumes_the_open_hour_and_the_gap_is_not_covered() -> None:
    agg = aggregator()
    simulated_hour(agg, until=at(H1, 21))
    closed_before = agg.close(at(H1, 21))
    assert [h.hour for h, _ in closed_before if h] == [H0]
    saved = json.loads(json.dumps(agg.snapshot(at(H1, 21))))
    # A minute down; the engine reports the zone and the devices again at start.
    again = HourlyAggregator.restore(saved, TZ, DEVICES)
    feed(again, zone(at(H1, 22), 10))
    for device in ("cam-1", "cam-2", "s-1"):
        feed(again, health(at(H1, 22), device, True))
    simulated_hour(again, since=at(H1, 22))
    assert again.close(at(H1, 30)) == []  # hour 0 is not built again
    hourly, healthy = again.close(H2)[0]
    assert hourly is not None and healthy is not None
    # 10 people for 21 + 8 min, 20 for 15, 5 for 15; the minute down not covered
    assert hourly.zones == {"waiting": ZoneHour(11.271, 20, 3540.0)}
    assert hourly.services == EXPECTED_HOUR.services  # A2 issued before, called after: 1200 s
    assert healthy == EXPECTED_HEALTH


def test_restarted_after_the_hour_ended_closes_it_once() -> None:
    agg = aggregator()
    simulated_hour(agg)
    agg.close(at(H1, 50))
    saved = json.loads(json.dumps(agg.snapshot(at(H1, 50))))
    again = HourlyAggregator.restore(saved, TZ, DEVICES)
    done = again.close(at(H2, 10))
    assert [h.hour for h, _ in done if h] == [H1]
    hourly = done[0][0]
    assert hourly is not None
    # Up to 01:50 as saved; the last 10 minutes were not seen.
    assert hourly.zones == {"waiting": ZoneHour(12.5, 20, 3000.0)}
    assert hourly.services == EXPECTED_HOUR.services
    assert again.close(at(H2, 20)) == []


def test_a_snapshot_before_close_is_refused() -> None:
    agg = aggregator()
    simulated_hour(agg)
    with pytest.raises(ValueError, match="close"):
        agg.snapshot(H2)


def test_an_unreadable_state_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="version"):
        HourlyAggregator.restore({"v": 9}, TZ, DEVICES)
    with pytest.raises(ValueError, match="KeyError"):
        HourlyAggregator.restore({"v": 1, "hour": None}, TZ, DEVICES)


def test_a_zone_nobody_counts_is_not_averaged() -> None:
    agg = HourlyAggregator(TZ, {})
    agg.zone(zone(at(H1, 0), 10))
    agg.zone(zone(at(H1, 30), 0, method="none"))
    hourly, _ = agg.close(H2)[0]
    assert hourly is not None and hourly.zones == {"waiting": ZoneHour(10.0, 10, 1800.0)}


def test_a_long_gap_skips_the_hours_between() -> None:
    agg = HourlyAggregator(TZ, {})
    agg.zone(zone(at(H1, 0), 10))
    done = agg.close(H1 + timedelta(days=5))
    # the open hour closes; the days after it are skipped, the zone's value forgotten
    assert [h.hour for h, _ in done if h] == [H1]
    assert agg.close(H1 + timedelta(days=5, hours=1)) == [(None, None)]


def test_nearest_rank_takes_values_that_occurred() -> None:
    assert nearest_rank([], 0.5) is None
    assert nearest_rank([300.0], 0.9) == 300.0
    assert nearest_rank([600.0, 1200.0, 600.0, 60.0], 0.5) == 600.0
    assert nearest_rank([float(i) for i in range(1, 11)], 0.9) == 9.0


def test_hours_are_the_sites_local_hours() -> None:
    india = ZoneInfo("Asia/Kolkata")  # +05:30: local hours start at :30 UTC
    assert hour_start(datetime(2026, 3, 9, 3, 10, tzinfo=UTC), india) == datetime(
        2026, 3, 9, 2, 30, tzinfo=UTC
    )
    assert hour_start(at(H1, 59), TZ) == H1


# --------------------------------------------------------------------------- messages


def test_the_hourly_message_has_its_hour_as_id_and_the_literal_payload() -> None:
    message = hourly_message(SUBJECTS, EXPECTED_HOUR)
    assert message.subject == "floorwatch.ha-noi.ba-dinh.hourly"
    assert message.msg_id == "floorwatch.ha-noi.ba-dinh:hourly:2026-03-09T01:00:00+00:00"
    assert json.loads(message.payload) == {
        "v": 1,
        "province": "ha-noi",
        "site": "ba-dinh",
        "kind": "hourly",
        "hourly": {
            "hour": "2026-03-09T01:00:00+00:00",
            "end": "2026-03-09T02:00:00+00:00",
            "local": "2026-03-09T08:00:00+07:00",
            "zones": {"waiting": {"people_mean": 11.25, "people_max": 20, "covered_s": 3600.0}},
            "services": {
                "civil": {
                    "tickets": 3,
                    "called": 3,
                    "waits": 3,
                    "wait_p50_s": 600.0,
                    "wait_p90_s": 1200.0,
                    "wait_max_s": 1200.0,
                    "counters_open": 2,
                    "counters_planned": 3,
                    "counters_open_mean": None,
                    "counters_source": "tickets",
                }
            },
        },
    }
    assert hourly_message(SUBJECTS, EXPECTED_HOUR) == message  # built again: the same


def test_the_health_message_and_its_points() -> None:
    message = health_message(SUBJECTS, EXPECTED_HEALTH)
    assert message.msg_id == "floorwatch.ha-noi.ba-dinh:health:2026-03-09T01:00:00+00:00"
    record = decode("floorwatch", message.subject, message.payload)
    assert record.kind is FleetKind.HEALTH and record.at == H1
    ns = "1773018000000000000"
    assert record_lines(record) == [
        "device_hourly,kind=camera,province=ha-noi,site=ba-dinh configured=2i,reported=2i,"
        f"online=2i,down=1i,downtime_s=900.0 {ns}",
        "device_hourly,kind=sensor,province=ha-noi,site=ba-dinh configured=1i,reported=1i,"
        f"online=1i,down=0i,downtime_s=0.0 {ns}",
        "device_downtime,device=cam-2,kind=camera,province=ha-noi,site=ba-dinh "
        f"downtime_s=900.0,online=true {ns}",
    ]


def test_hourly_points_are_keyed_by_the_message_only() -> None:
    message = hourly_message(SUBJECTS, EXPECTED_HOUR)
    record = decode("floorwatch", message.subject, message.payload)
    ns = "1773018000000000000"
    lines = [
        "zone_hourly,province=ha-noi,site=ba-dinh,zone=waiting "
        f"people_mean=11.25,people_max=20i,covered_s=3600.0 {ns}",
        "service_hourly,province=ha-noi,service=civil,site=ba-dinh tickets=3i,called=3i,"
        "waits=3i,wait_p50_s=600.0,wait_p90_s=1200.0,wait_max_s=1200.0,counters_open=2i,"
        f'counters_planned=3i,counters_source="tickets" {ns}',
    ]
    assert record_lines(record) == lines
    again = decode("floorwatch", message.subject, message.payload)
    assert record_lines(again) == lines
    state = merge_site_state(None, record)
    assert state["hours"] == {"hourly": "2026-03-09T01:00:00+00:00"}
    assert state["kinds"]["hourly"]["id"] == "2026-03-09T01:00:00+00:00"
    older = decode("floorwatch", *_older_hour(message.subject, message.payload))
    assert merge_site_state(state, older)["hours"] == state["hours"]


def _older_hour(subject: str, payload: bytes) -> tuple[str, bytes]:
    data = json.loads(payload)
    data["hourly"]["hour"] = "2026-03-09T00:00:00+00:00"
    return subject, json.dumps(data).encode()


def test_an_hourly_message_without_its_maps_is_refused() -> None:
    data = json.loads(hourly_message(SUBJECTS, EXPECTED_HOUR).payload)
    del data["hourly"]["services"]
    with pytest.raises(ValueError, match="'services'"):
        decode("floorwatch", "floorwatch.ha-noi.ba-dinh.hourly", json.dumps(data).encode())


def plan(arrivals: float) -> StaffingPlan:
    group = ServiceGroup("civil", "Tư pháp", 4, 600.0, "config", 0)
    forecast = DayForecast(
        date(2026, 3, 9),
        "civil",
        (HourForecast(8, 60, arrivals), HourForecast(9, 60, arrivals / 2)),
        (),
        "same weekday",
        (),
    )
    params = StaffingParams()
    return StaffingPlan(date(2026, 3, 9), params, (plan_group(group, forecast, params),), "tickets")


def test_the_plan_id_follows_its_figures_not_when_it_was_computed() -> None:
    first = plan_body(plan(12.0), TZ, at(H0, 0))
    again = plan_body(plan(12.0), TZ, at(H1, 30))
    changed = plan_body(plan(30.0), TZ, at(H1, 30))
    assert first["id"] == again["id"] != changed["id"]
    assert first["id"].startswith("2026-03-09:") and len(first["id"]) == len("2026-03-09:") + 12
    message = plan_message(SUBJECTS, first)
    assert message.msg_id == f"floorwatch.ha-noi.ba-dinh:plan:{first['id']}"
    record = decode("floorwatch", message.subject, message.payload)
    lines = record_lines(record)
    hour = first["groups"]["civil"]["hours"][0]
    assert hour["hour"] == "2026-03-09T01:00:00+00:00" and hour["local_hour"] == 8
    assert lines[0].startswith(
        "staffing_plan,province=ha-noi,service=civil,site=ba-dinh "
        f"counters={hour['counters']}i,needed={hour['needed']}i,available=4i,short=false,"
    )
    assert [line.rsplit(" ", 1)[1] for line in lines] == [
        "1773018000000000000",
        "1773021600000000000",
    ]
    assert merge_site_state(None, record)["plan"] == {
        "at": "2026-03-09T00:00:00+00:00",
        "day": "2026-03-09",
        "id": first["id"],
    }


def seat(counter: int, status: SeatStatus) -> SeatState:
    return SeatState(counter, "civil", status, None, status is SeatStatus.OPEN, None)


def test_with_seat_sensors_the_counters_open_are_the_seats() -> None:
    """Counters 1 and 2 watched: 1 open all hour, 2 from 08:30 to 08:45, 3 never seen."""
    agg = aggregator()
    simulated_hour(agg)  # tickets at counters 1 and 2
    agg.seats(at(H1, 0), [seat(1, SeatStatus.OPEN), seat(2, SeatStatus.CLOSED)])
    agg.seats(at(H1, 30), [seat(1, SeatStatus.OPEN), seat(2, SeatStatus.OPEN)])
    agg.seats(at(H1, 45), [seat(1, SeatStatus.OPEN), seat(2, SeatStatus.UNKNOWN)])
    hourly, _ = agg.close(H2)[-1]
    assert hourly is not None and hourly.hour == H1
    assert hourly.services["civil"] == ServiceHour(
        tickets=3,
        called=3,
        waits=3,
        wait_p50_s=600.0,
        wait_p90_s=1200.0,
        wait_max_s=1200.0,
        counters_open=2,
        counters_planned=3,
        counters_open_mean=1.25,  # 1 for 45 min, 2 for 15
        counters_source="seats",
    )
    # the next hour carries the seats' last picture: one open
    agg.seats(at(H2, 30), [seat(1, SeatStatus.CLOSED), seat(2, SeatStatus.CLOSED)])
    nxt, _ = agg.close(H2 + timedelta(hours=1))[-1]
    assert nxt is not None
    assert nxt.services["civil"].counters_open == 1
    assert nxt.services["civil"].counters_open_mean == 0.5
    assert nxt.services["civil"].counters_source == "seats"
