"""Zone occupancy fusion, door balances, closing times and totals (gateway.zones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.live import ZoneClimateState, ZoneState
from gateway.observations import DoorTraffic, PeopleCount
from gateway.settings import CrowdConfig, CrowdLevel, Settings
from gateway.zones import (
    Balance,
    DoorBalances,
    DoorLink,
    FusionInputs,
    ZoneSpec,
    closed_between,
    fuse,
    is_open,
    totals,
    zone_specs,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City, a Tuesday

SPEC = ZoneSpec(
    id="hall",
    floor_id="f1",
    name="Hall",
    area_m2=100,
    capacity=80,
    crowd=CrowdConfig(),
    cameras=("cam-a", "cam-b"),
    presence={"pc-1": 90.0},
    doors=(DoorLink("d-main", +1),),
    door_sensors=("dc-main",),
    services=("land",),
)


def count(source: str, n: int, age_s: float = 0, confidence: float = 1.0) -> PeopleCount:
    return PeopleCount("hall", source, n, NOW - timedelta(seconds=age_s), confidence)


def inputs(*counts: PeopleCount, **kw: Any) -> FusionInputs:
    kw.setdefault("offline", frozenset())
    return FusionInputs(counts={c.source_id: c for c in counts}, **kw)


BAL = Balance(people=33, anchored=True, at=NOW)


@pytest.mark.parametrize(
    ("given", "method", "occupancy", "confidence"),
    [
        # both cameras fresh and confident: their sum, at the weaker confidence
        (
            inputs(count("cam-a", 20, confidence=0.9), count("cam-b", 15), count("pc-1", 30)),
            "camera",
            35,
            0.9,
        ),
        # one camera stale: presence
        (
            inputs(count("cam-a", 20), count("cam-b", 15, age_s=31), count("pc-1", 30)),
            "presence",
            30,
            0.8,
        ),
        # one camera not confident enough: presence
        (
            inputs(count("cam-a", 20), count("cam-b", 15, confidence=0.5), count("pc-1", 30)),
            "presence",
            30,
            0.8,
        ),
        # a camera reported offline (even with a fresh count): presence
        (
            inputs(
                count("cam-a", 20),
                count("cam-b", 15),
                count("pc-1", 30),
                offline=frozenset({"cam-b"}),
            ),
            "presence",
            30,
            0.8,
        ),
        # cameras and presence stale: the door balance
        (
            inputs(count("cam-a", 20, age_s=60), count("pc-1", 30, age_s=91), balance=BAL),
            "doors",
            33,
            0.6,
        ),
        # a balance never anchored is less trusted
        (inputs(balance=Balance(people=12)), "doors", 12, 0.3),
        # door counter stale: the queue's waiting tickets
        (inputs(balance=BAL, doors_offline=True, waiting_tickets=9), "queue", 9, 0.3),
        # nothing at all
        (inputs(), "none", None, 0.0),
    ],
)
def test_fusion_prefers_fresh_confident_sources(
    given: FusionInputs, method: str, occupancy: int | None, confidence: float
) -> None:
    f = fuse(SPEC, given, NOW)
    assert (f.method, f.occupancy, f.confidence) == (method, occupancy, pytest.approx(confidence))
    assert [r.source_id for r in f.sources if r.used] == (
        []
        if method == "none"
        else {
            "camera": ["cam-a", "cam-b"],
            "presence": ["pc-1"],
            "doors": ["doors"],
            "queue": ["queue"],
        }[method]
    )


def test_stale_sources_are_reported_not_used() -> None:
    f = fuse(SPEC, inputs(count("cam-a", 20, age_s=100), count("cam-b", 1), count("pc-1", 30)), NOW)
    by_id = {r.source_id: r for r in f.sources}
    assert not by_id["cam-a"].fresh and not by_id["cam-a"].used
    assert by_id["cam-b"].fresh and not by_id["cam-b"].used
    assert by_id["pc-1"].used


@pytest.mark.parametrize(
    ("camera", "presence", "waiting", "disagree"),
    [
        (40, 41, None, False),
        (40, 30, None, False),  # 10 apart: less than 30 % of 40
        (40, 20, None, True),  # 20 apart: more than 30 % and more than 5 people
        (4, 0, None, False),  # 100 % apart but only 4 people
        (40, 40, 30, False),  # fewer tickets than people: agrees (a lower bound)
        (40, 40, 80, True),  # twice as many tickets as people counted
    ],
)
def test_disagreement_beyond_the_tolerance(
    camera: int, presence: int, waiting: int | None, disagree: bool
) -> None:
    given = inputs(
        count("cam-a", camera), count("cam-b", 0), count("pc-1", presence), waiting_tickets=waiting
    )
    f = fuse(SPEC, given, NOW)
    assert f.method == "camera"
    assert f.disagreement is disagree


def test_queue_uses_people_per_ticket() -> None:
    spec = ZoneSpec("w", "f1", "W", 50, 40, CrowdConfig(people_per_ticket=1.35), services=("x",))
    assert fuse(spec, inputs(waiting_tickets=20), NOW).occupancy == 27


def test_door_balance_never_below_zero_and_anchors() -> None:
    specs = [
        SPEC,
        ZoneSpec("up", "f2", "Up", 50, 40, CrowdConfig(), doors=(DoorLink("d-main", -1),)),
    ]
    b = DoorBalances(specs)
    b.apply(DoorTraffic("d-main", "dc-main", entries=10, exits=2, at=NOW))
    assert b.balances["hall"].people == 8
    assert b.balances["up"].people == 0  # -8 clamped at zero
    b.apply(DoorTraffic("d-main", "dc-main", entries=0, exits=20, at=NOW))
    assert b.balances["hall"].people == 0
    assert b.balances["up"].people == 20
    b.anchor("hall", 42, NOW)
    assert (b.balances["hall"].people, b.balances["hall"].anchored) == (42, True)
    b.reset(["hall", "up"], NOW)
    assert b.balances["hall"].people == b.balances["up"].people == 0
    assert b.apply(DoorTraffic("d-other", "x", 1, 0, NOW)) == []


def demo_settings() -> Settings:
    from pathlib import Path

    from gateway.config_loader import load_settings

    root = Path(__file__).resolve().parents[2]
    return load_settings(root / "config" / "demo-site.yaml", {}).settings


def test_zone_specs_from_the_demo_site() -> None:
    specs = {s.id: s for s in zone_specs(demo_settings())}
    waiting = specs["f2-waiting"]
    assert set(waiting.presence) == {"pc-f2-waiting"}
    assert waiting.presence["pc-f2-waiting"] == 30 * 3  # interval x stale factor
    assert "land" in waiting.services  # a waiting zone takes every service by default
    assert specs["f2-counters"].services == ()
    assert specs["f1-entrance"].doors == (DoorLink("d-main", 1), DoorLink("d-stairs", -1))
    assert set(specs["f1-entrance"].door_sensors) == {"dc-main", "dc-stairs"}
    # door_balance: false -- the stairs counter does not close the landing
    assert specs["f2-landing"].doors == () and specs["f2-landing"].door_sensors == ()


@pytest.mark.parametrize(
    ("after", "until", "closed"),
    [
        ("2026-12-01T16:59+07:00", "2026-12-01T17:00+07:00", True),  # Tuesday closing
        ("2026-12-01T17:00+07:00", "2026-12-01T17:05+07:00", False),  # already past
        ("2026-12-01T11:00+07:00", "2026-12-01T12:00+07:00", False),  # lunch is not closing
        ("2026-12-05T11:00+07:00", "2026-12-05T12:00+07:00", True),  # Saturday closes 11:30
        ("2026-12-06T00:00+07:00", "2026-12-06T23:59+07:00", False),  # Sunday: closed all day
        ("2026-11-30T12:00+07:00", "2026-12-02T08:00+07:00", True),  # a gap over a closing
    ],
)
def test_closed_between(after: str, until: str, closed: bool) -> None:
    site = demo_settings().site
    assert (
        closed_between(site, datetime.fromisoformat(after), datetime.fromisoformat(until)) is closed
    )


def test_is_open() -> None:
    site = demo_settings().site
    assert is_open(site, datetime.fromisoformat("2026-12-01T09:00+07:00"))
    assert not is_open(site, datetime.fromisoformat("2026-12-01T12:00+07:00"))
    assert not is_open(site, datetime.fromisoformat("2026-12-06T09:00+07:00"))


def state(zone: str, floor: str, n: int) -> ZoneState:
    return ZoneState(
        zone,
        floor,
        zone,
        n,
        100,
        n / 100,
        n / 50,
        None,
        CrowdLevel.CALM,
        "presence",
        0.8,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        NOW,
    )


def test_totals_per_floor_and_site() -> None:
    t = totals([state("a", "f1", 10), state("b", "f1", 5), state("c", "f2", 7)])
    assert t.site == 22
    assert dict(t.floors) == {"f1": 15, "f2": 7}
