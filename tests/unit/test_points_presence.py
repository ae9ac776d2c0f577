"""gateway.points: a binary presence reading is its own ``presence`` point beside its count."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.observations import PeopleCount
from gateway.points import to_lines

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
NS = 1796608800000000000


def test_binary_presence_is_stored_as_presence_and_as_a_count() -> None:
    occupied = PeopleCount("counter-07", "pr-counter-07", 1, AT, binary=True)
    vacant = PeopleCount("counter-07", "pr-counter-07", 0, AT, binary=True)
    assert to_lines("hcc", occupied, {}) == [
        f"zone_occupancy,site=hcc,source=pr-counter-07,zone=counter-07 count=1i,confidence=1.0 {NS}",
        f"presence,sensor=pr-counter-07,site=hcc,zone=counter-07 occupied=true {NS}",
    ]
    assert to_lines("hcc", vacant, {})[1] == (
        f"presence,sensor=pr-counter-07,site=hcc,zone=counter-07 occupied=false {NS}"
    )


def test_a_count_is_not_presence() -> None:
    lines = to_lines("hcc", PeopleCount("waiting", "pc-waiting", 37, AT), {})
    assert [line.split(",", 1)[0] for line in lines] == ["zone_occupancy"]
