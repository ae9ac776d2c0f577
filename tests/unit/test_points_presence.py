"""gateway.points: binary presence is its own ``presence`` point, never a people count."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.live import ZoneClimateState, ZoneState
from gateway.observations import PeopleCount, Presence
from gateway.points import seat_lines, to_lines, zone_state_lines
from gateway.seats import SeatState, SeatStatus
from gateway.settings import CrowdLevel

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
NS = 1796608800000000000


def test_a_decoders_binary_reading_is_stored_as_presence_only() -> None:
    occupied = PeopleCount("counter-07", "pr-counter-07", 1, AT, binary=True)
    vacant = PeopleCount("counter-07", "pr-counter-07", 0, AT, binary=True)
    assert to_lines("hcc", occupied, {}) == [
        f"presence,sensor=pr-counter-07,site=hcc,zone=counter-07 occupied=true {NS}",
    ]
    assert to_lines("hcc", vacant, {}) == [
        f"presence,sensor=pr-counter-07,site=hcc,zone=counter-07 occupied=false {NS}"
    ]


def test_a_presence_observation_carries_its_counter_as_a_tag() -> None:
    seat = Presence("f2-counters", "seat-7", True, AT, counter=7)
    assert to_lines("hcc", seat, {}) == [
        f"presence,counter=7,sensor=seat-7,site=hcc,zone=f2-counters occupied=true {NS}"
    ]
    lobby = Presence("lobby", "pir-1", False, AT)
    assert to_lines("hcc", lobby, {}) == [
        f"presence,sensor=pir-1,site=hcc,zone=lobby occupied=false {NS}"
    ]


def test_a_count_is_not_presence() -> None:
    lines = to_lines("hcc", PeopleCount("waiting", "pc-waiting", 37, AT), {})
    assert [line.split(",", 1)[0] for line in lines] == ["zone_occupancy"]


def test_seat_lines_store_open_as_an_integer_and_nothing_to_average_while_unknown() -> None:
    def seat(status: SeatStatus, occupied: bool | None) -> SeatState:
        return SeatState(7, "civil", status, AT, occupied, AT)

    assert seat_lines("hcc", seat(SeatStatus.OPEN, True), AT) == [
        f'counter_seat,counter=7,service=civil,site=hcc state="open",open=1i,occupied=true {NS}'
    ]
    # vacant for a moment but not yet closed: still open, the reading says vacant
    assert seat_lines("hcc", seat(SeatStatus.OPEN, False), AT) == [
        f'counter_seat,counter=7,service=civil,site=hcc state="open",open=1i,occupied=false {NS}'
    ]
    assert seat_lines("hcc", seat(SeatStatus.CLOSED, False), AT) == [
        f'counter_seat,counter=7,service=civil,site=hcc state="closed",open=0i,occupied=false {NS}'
    ]
    assert seat_lines("hcc", seat(SeatStatus.UNKNOWN, None), AT) == [
        f'counter_seat,counter=7,service=civil,site=hcc state="unknown" {NS}'
    ]


def _zone(method: str, presence: str | None, occupancy: int = 0) -> ZoneState:
    return ZoneState(
        zone_id="lobby",
        floor_id="f1",
        name="Lobby",
        occupancy=occupancy,
        capacity=10,
        capacity_ratio=occupancy / 10,
        density_per_m2=occupancy / 20,
        level_of_service=None,
        level=CrowdLevel.CALM,
        method=method,
        confidence=0.5,
        sources=(),
        disagreement=False,
        climate=ZoneClimateState(),
        waiting_tickets=None,
        expected_wait_s=None,
        updated_at=AT,
        presence=presence,
    )


def test_a_zone_known_only_as_occupied_stores_no_count() -> None:
    assert zone_state_lines("hcc", _zone("binary", "occupied")) == [
        "zone_occupancy,site=hcc,source=fused,zone=lobby"
        f' occupied=true,confidence=0.5,level="calm",method="binary" {NS}'
    ]


def test_a_counted_zone_stores_its_presence_beside_its_count() -> None:
    (line,) = zone_state_lines("hcc", _zone("camera", "occupied", 0))
    assert "count=0i" in line and line.endswith(f",occupied=true {NS}")
    (line,) = zone_state_lines("hcc", _zone("camera", None, 3))
    assert "occupied" not in line
