"""The demo shortens crowd timers by its speed; device timers and thresholds stay."""

from __future__ import annotations

import pytest

from gateway.config_loader import load_settings
from gateway.demo import CROWD_TIMERS, scale_timers
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
