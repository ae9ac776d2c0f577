"""The fleet demo's province and its light simulated centers (pure: scene times passed in)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.fleet.demo_center import SimulatedCenter
from gateway.fleet.demo_sites import WARDS, center_settings, demo_centers
from gateway.fleet.messages import FleetKind, FleetSubjects, decode

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 12, 4, 7, 0, tzinfo=TZ)  # a Friday


def test_the_province_is_the_city_center_then_wards_and_communes_of_3_to_6_counters() -> None:
    centers = demo_centers(12, seed=7)
    assert centers[0].site_id == "thanh-pho-hue" and centers[0].counters == 23
    assert all(3 <= c.counters <= 6 for c in centers[1:])
    assert len({c.counters for c in centers[1:]}) > 1  # sizes vary
    assert len({c.key for c in centers}) == 12
    assert all(c.name.startswith("Trung tâm Phục vụ hành chính công") and c.area for c in centers)
    assert demo_centers(12, seed=7) == centers  # the seed decides
    assert [c.counters for c in demo_centers(12, seed=8)] != [c.counters for c in centers]
    big = demo_centers(len(WARDS) + 3, seed=7)
    assert len({c.key for c in big}) == len(big)  # names repeat with a number, keys never
    with pytest.raises(ValueError, match="at least one"):
        demo_centers(0, seed=7)


def test_every_center_loads_as_a_site_file_with_its_counters() -> None:
    for c in demo_centers(6, seed=7):
        s = center_settings(c)
        assert s.site.id == c.site_id
        assert len({n for svc in s.services for n in svc.counters}) == c.counters
        assert len(s.cameras) == c.cameras


def play(site_index: int, hours: float, seed: int = 7) -> tuple[SimulatedCenter, list]:  # type: ignore[type-arg]
    c = demo_centers(site_index + 1, seed=seed)[site_index]
    subjects = FleetSubjects("floorwatch", c.province, c.site_id)
    sim = SimulatedCenter(center_settings(c), subjects, c.seed, START)
    out = []
    for minute in range(int(hours * 60) + 1):
        out += sim.step(START + timedelta(minutes=minute))
    return sim, [decode("floorwatch", m.subject, m.payload) for m in out]


def test_the_city_center_turns_crowded_on_the_morning_rush_and_calms_down() -> None:
    sim, records = play(0, 11)
    alerts = [r for r in records if r.kind is FleetKind.ALERT and r.body["rule"] == "crowd_level"]
    transitions = [r.transition for r in alerts]
    assert transitions[0] == "raised" and "resolved" in transitions
    raised = alerts[0]
    assert raised.body["rule"] == "crowd_level" and raised.body["id"].startswith("crowd_level:")
    levels = {r.body["level"] for r in records if r.kind is FleetKind.ZONE}
    assert {"calm", "busy", "crowded"} <= levels
    assert raised.at.astimezone(TZ).hour in range(8, 12)  # the morning rush
    # one hourly and one health record per closed local hour, 07:00 .. 17:00
    hours = [r.body["local"] for r in records if r.kind is FleetKind.HOURLY]
    assert hours == [f"2026-12-04T{h:02d}:00:00+07:00" for h in range(7, 18)]
    assert sum(r.kind is FleetKind.HEALTH for r in records) == 11
    busiest = max(
        (r for r in records if r.kind is FleetKind.HOURLY),
        key=lambda r: sum(z["people_mean"] for z in r.body["zones"].values()),
    )
    assert any(s["tickets"] > 0 and s["waits"] > 0 for s in busiest.body["services"].values())


def test_a_commune_center_stays_below_crowded_and_sends_states_only_on_change() -> None:
    _, records = play(1, 4)
    zones = [r for r in records if r.kind is FleetKind.ZONE]
    assert zones and not any(
        r.kind is FleetKind.ALERT and r.body["rule"] == "crowd_level" for r in records
    )
    keys = [
        (
            r.body["level"],
            r.body["occupancy"],
            r.body["waiting_tickets"],
            r.body["climate"]["temperature_c"],
        )
        for r in zones
    ]
    assert len(keys) < 4 * 60 * 12  # far fewer than one per 5 s sample
    times = [r.at for r in zones]
    assert times == sorted(times)


def test_a_long_wait_raises_the_gateways_waiting_time_warning() -> None:
    # the gateway's rule (waiting_conditions) and lifecycle (AlertBook) with the site's
    # alerts: settings: over waiting_target_s (900 s) for waiting_dwell_s (120 s)
    _, records = play(1, 4)
    rules = center_settings(demo_centers(2, seed=7)[1]).alerts
    waits = [r for r in records if r.kind is FleetKind.ALERT and r.body["rule"] == "waiting_time"]
    assert waits, "a commune's morning queue raises no wait alert"
    first = waits[0]
    assert first.transition == "raised" and first.body["severity"] == "warning"
    assert first.body["id"].startswith("waiting_time:") and first.body["id"].endswith(":1")
    assert first.body["threshold"] == rules.waiting_target_s
    assert first.body["value"] > rules.waiting_target_s
    assert "phiếu đang chờ" in first.body["message"]
    over = [
        r.at
        for r in records
        if r.kind is FleetKind.ZONE and (r.body["expected_wait_s"] or 0) > rules.waiting_target_s
    ]
    assert first.at - over[0] >= timedelta(seconds=rules.waiting_dwell_s)
    by_id: dict[str, list[tuple[str, datetime, str]]] = {}
    for r in waits:
        by_id.setdefault(r.body["id"], []).append((r.transition, r.at, r.body["severity"]))
    for steps in by_id.values():
        assert steps[0][0] == "raised"
        assert all(kind == "renotified" for kind, _, _ in steps[1:-1])
        assert steps[-1][0] in ("renotified", "resolved", "raised")
        gaps = [b[1] - a[1] for a, b in zip(steps, steps[1:], strict=False) if b[0] != "resolved"]
        assert all(g == timedelta(seconds=rules.renotify_s) for g in gaps)  # every 10 minutes
        assert {sev for _, _, sev in steps} == {"warning"}  # nobody acknowledges: no escalation
    assert any(steps[-1][0] == "resolved" for steps in by_id.values())


def test_the_wait_alert_follows_the_sites_own_target() -> None:
    c = demo_centers(2, seed=7)[1]
    settings = center_settings(c)
    patient = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"waiting_target_s": 6 * 3600})}
    )
    sim = SimulatedCenter(
        patient, FleetSubjects("floorwatch", c.province, c.site_id), c.seed, START
    )
    out = sim.step(START + timedelta(hours=4))
    assert not any(m.subject.endswith(".alert") for m in out)


def test_same_seed_same_messages_and_a_device_outage_goes_down_and_up() -> None:
    for index in range(6):
        c = demo_centers(index + 1, seed=7)[index]
        a = SimulatedCenter(
            center_settings(c), FleetSubjects("floorwatch", "hue", c.site_id), c.seed, START
        )
        if a.outage is not None:
            break
    else:
        pytest.fail("no center of the first six has a device outage with seed 7")
    b = SimulatedCenter(
        center_settings(c), FleetSubjects("floorwatch", "hue", c.site_id), c.seed, START
    )
    end = START + timedelta(hours=11)
    ma, mb = a.step(end), b.step(end)
    assert [(m.msg_id, m.payload) for m in ma] == [(m.msg_id, m.payload) for m in mb]
    device = [
        json.loads(m.payload)["device"]
        for m in ma
        if m.subject.endswith(".device")
        and json.loads(m.payload)["device"]["device_id"] == a.outage.device_id
    ]
    assert [d["online"] for d in device] == [True, False, True]
