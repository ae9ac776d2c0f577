"""The demo: crowd timers follow its speed (device timers and thresholds stay); each run is a new day."""

from __future__ import annotations

from pathlib import Path

from gateway.config_loader import load_settings
from gateway.demo import CROWD_TIMERS, new_day, scale_timers
from gateway.settings import Settings
from tests.integration.gateway_proc import DEMO


def _site_with_timers() -> Settings:
    """The demo site with literal timers, so the expected values below are literal too."""
    site = load_settings(DEMO, {}).settings
    alerts = site.alerts.model_copy(
        update={
            "crowd_dwell_s": 0,  # no extra hold
            "climate_dwell_s": 600.0,
            "waiting_dwell_s": 120.0,
            "capacity_dwell_s": 30.0,  # half a second at 60x: held at the 1 s floor
            "clear_s": 45.0,
            "renotify_s": 600.0,
            "escalate_s": 1800.0,
            "counter_idle_s": 90.0,
            "device_dwell_s": 120.0,
            "waiting_target_s": 900.0,
        }
    )
    dwell = {"f2-waiting": 90.0}  # the others: 60 s
    zones = [
        z.model_copy(
            update={"crowd": z.crowd.model_copy(update={"dwell_s": dwell.get(z.id, 60.0)})}
        )
        for z in site.zones
    ]
    return site.model_copy(update={"alerts": alerts, "zones": zones})


def test_crowd_timers_follow_the_simulated_clock() -> None:
    site = _site_with_timers()
    fast = scale_timers(site, 60.0)
    assert set(CROWD_TIMERS) == {
        "crowd_dwell_s",
        "climate_dwell_s",
        "waiting_dwell_s",
        "capacity_dwell_s",
        "clear_s",
        "renotify_s",
        "escalate_s",
        "counter_idle_s",
    }
    assert {name: getattr(fast.alerts, name) for name in CROWD_TIMERS} == {
        "crowd_dwell_s": 0.0,
        "climate_dwell_s": 10.0,
        "waiting_dwell_s": 2.0,
        "capacity_dwell_s": 1.0,
        "clear_s": 1.0,
        "renotify_s": 10.0,
        "escalate_s": 30.0,
        "counter_idle_s": 1.5,
    }
    assert {z.id: z.crowd.dwell_s for z in fast.zones} == {
        z.id: 1.5 if z.id == "f2-waiting" else 1.0 for z in site.zones
    }
    # what measures the equipment or a threshold is left alone
    assert fast.alerts.device_dwell_s == 120.0
    assert fast.alerts.waiting_target_s == 900.0
    assert [z.crowd.occupancy for z in fast.zones] == [z.crowd.occupancy for z in site.zones]


def test_real_time_changes_nothing() -> None:
    site = load_settings(DEMO, {}).settings
    same = scale_timers(site, 1.0)
    assert same.alerts == site.alerts
    assert same.zones == site.zones


def test_each_demo_run_is_a_new_day_for_the_alert_store(tmp_path: Path) -> None:
    state = tmp_path / "gateway"
    (state / "spool").mkdir(parents=True)
    for name in ("alerts.sqlite3", "alerts.sqlite3-wal", "alerts.sqlite3-shm"):
        (state / name).write_bytes(b"last run")
    (state / "spool" / "000001.lp").write_text("climate co2=500 1\n")
    (state / "dead-letters.jsonl").write_text("{}\n")
    gone = new_day(state)
    assert sorted(p.name for p in gone) == [
        "alerts.sqlite3",
        "alerts.sqlite3-shm",
        "alerts.sqlite3-wal",
    ]
    assert sorted(str(p.relative_to(state)) for p in state.rglob("*") if p.is_file()) == [
        "dead-letters.jsonl",
        "spool/000001.lp",
    ]
    assert new_day(tmp_path / "never-ran") == []
