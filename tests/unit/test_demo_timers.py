"""The demo: crowd timers follow its speed (device timers and thresholds stay); each run is a new day."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config_loader import load_settings
from gateway.demo import CROWD_TIMERS, new_day, scale_timers
from tests.integration.gateway_proc import DEMO


def test_crowd_timers_follow_the_simulated_clock() -> None:
    site = load_settings(DEMO, {}).settings
    fast = scale_timers(site, 60.0)
    for name in CROWD_TIMERS:
        before, after = getattr(site.alerts, name), getattr(fast.alerts, name)
        if before is None or before == 0:
            assert after == before, name  # "no extra hold" stays none
        else:
            assert after == pytest.approx(max(1.0, before / 60.0)), name
    waiting = next(z for z in fast.zones if z.id == "f2-waiting")
    assert waiting.crowd.dwell_s == pytest.approx(1.0)  # 60 s of crowd at 60x
    # what measures the equipment or a threshold is left alone
    assert fast.alerts.device_dwell_s == site.alerts.device_dwell_s
    assert fast.alerts.waiting_target_s == site.alerts.waiting_target_s
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
