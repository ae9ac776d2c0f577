"""Fusion rules for binary presence (gateway.zones): never people, occupied-but-uncounted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config_loader import load_settings
from gateway.floor_model import FloorModel
from gateway.observations import PeopleCount, Presence
from gateway.settings import CrowdConfig, CrowdLevel
from gateway.zones import (
    BINARY_CONFIDENCE,
    UNCOUNTED_FACTOR,
    Fusion,
    FusionInputs,
    ZoneSpec,
    fuse,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

SPEC = ZoneSpec(
    id="hall",
    floor_id="f1",
    name="Hall",
    area_m2=100,
    capacity=80,
    crowd=CrowdConfig(),
    cameras=("cam-a",),
    presence={"pir-1": 900.0, "pir-2": 900.0},
)
BINARY_ONLY = ZoneSpec(
    id="hall",
    floor_id="f1",
    name="Hall",
    area_m2=100,
    capacity=80,
    crowd=CrowdConfig(),
    presence={"pir-1": 900.0, "pir-2": 900.0},
)


def pir(sensor: str, occupied: bool, age_s: float = 0) -> Presence:
    return Presence("hall", sensor, occupied, NOW - timedelta(seconds=age_s))


def camera(n: int) -> PeopleCount:
    return PeopleCount("hall", "cam-a", n, NOW, 0.9)


def fused(
    spec: ZoneSpec,
    counts: list[PeopleCount],
    presence: list[Presence],
    offline: frozenset[str] = frozenset(),
) -> Fusion:
    inputs = FusionInputs(
        counts={c.source_id: c for c in counts},
        offline=offline,
        presence={p.source_id: p for p in presence},
    )
    return fuse(spec, inputs, NOW)


def test_presence_alone_is_occupied_not_a_number() -> None:
    f = fused(BINARY_ONLY, [], [pir("pir-1", True), pir("pir-2", False)])
    assert (f.occupancy, f.method, f.presence, f.confidence) == (
        None,
        "binary",
        "occupied",
        BINARY_CONFIDENCE,
    )
    kinds = {(r.source_id, r.kind, r.count, r.used) for r in f.sources}
    assert kinds == {("pir-1", "binary", 1.0, True), ("pir-2", "binary", 0.0, True)}


def test_two_occupied_sensors_are_not_two_people() -> None:
    f = fused(BINARY_ONLY, [], [pir("pir-1", True), pir("pir-2", True)])
    assert (f.occupancy, f.presence) == (None, "occupied")


def test_all_fresh_sensors_vacant_is_vacant_and_stale_ones_say_nothing() -> None:
    f = fused(BINARY_ONLY, [], [pir("pir-1", False), pir("pir-2", True, age_s=901)])
    assert (f.method, f.presence) == ("binary", "vacant")
    f = fused(BINARY_ONLY, [], [pir("pir-1", True, age_s=901)])
    assert (f.method, f.presence, f.occupancy) == ("none", None, None)
    f = fused(BINARY_ONLY, [], [pir("pir-1", True)], offline=frozenset({"pir-1"}))
    assert (f.method, f.presence) == ("none", None)


def test_a_camera_count_of_zero_with_presence_occupied_is_occupied_but_uncounted() -> None:
    f = fused(SPEC, [camera(0)], [pir("pir-1", True)])
    assert (f.method, f.occupancy, f.presence) == ("camera", 0, "occupied")
    assert f.confidence == 0.9 * UNCOUNTED_FACTOR


def test_a_counted_figure_stands_and_presence_only_reports() -> None:
    f = fused(SPEC, [camera(12)], [pir("pir-1", True)])
    assert (f.method, f.occupancy, f.presence, f.confidence) == ("camera", 12, "occupied", 0.9)
    # a PIR sees part of the zone: vacant beside a count of people lowers nothing
    f = fused(SPEC, [camera(3)], [pir("pir-1", False), pir("pir-2", False)])
    assert (f.occupancy, f.presence, f.confidence) == (3, "vacant", 0.9)


def test_binary_sensors_leave_the_people_counting_group() -> None:
    # pir-1 and pir-2 are the zone's presence sensors but binary: no "presence" count group,
    # so a stale camera leaves the zone to the binary signal, not to a sum of 1s
    stale_camera = PeopleCount("hall", "cam-a", 9, NOW - timedelta(seconds=3600), 0.9)
    f = fused(SPEC, [stale_camera], [pir("pir-1", True), pir("pir-2", True)])
    assert (f.method, f.occupancy) == ("binary", None)
    assert not any(r.kind == "presence" for r in f.sources)


# --------------------------------------------------------------------------- floor model


def test_the_demo_floor_with_binary_readings_from_its_presence_sensors() -> None:
    s = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    m = FloorModel(s, start=NOW)
    for zone in ("f1-entrance", "f2-waiting"):
        m.apply(PeopleCount(zone, f"pc-{zone}", 1, NOW, binary=True))  # a decoder's reading
    later = NOW + timedelta(seconds=1)
    states = {z.zone_id: z for z in m.evaluate(later)}
    # the waiting hall's camera has not been heard: only occupied / vacant is known
    waiting = states["f2-waiting"]
    assert (waiting.method, waiting.presence, waiting.occupancy, waiting.level) == (
        "binary",
        "occupied",
        0,
        CrowdLevel.CALM,
    )
    assert "crowd_level:f2-waiting" in m.unknown(later)
    # the entrance is counted by its doors (0 at the start): occupied but uncounted
    entrance = states["f1-entrance"]
    assert (entrance.method, entrance.occupancy, entrance.presence) == ("doors", 0, "occupied")
    assert entrance.confidence < 0.3
    assert "crowd_level:f1-entrance" not in m.unknown(later)
