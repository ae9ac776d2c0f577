"""The day the demo plays crowds its waiting hall on every date, for any seed.

The e2e test of ``script/demo`` waits for the morning rush to crowd a zone; it
once failed on 27 calendar days of 2026 because the simulator drew the played
day's visitors from its date. The demo now pins the played day to its seed
(``pin_day``) and plays a busy day sized by the site: these tests replay the
simulator's ground truth as the demo sets it up, with no server and no clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.config_loader import load_settings
from gateway.demo import demo_demand, summary_zones
from gateway.settings import Settings
from sensors.simulator.demand import Demand, usual_tickets
from sensors.simulator.model import CenterModel
from tests.integration.gateway_proc import DEMO

WAITING = "f2-waiting"
# The camera's counting error and the fusion may take a few people off the
# truth: the played day must clear "crowded" by this factor, not by luck.
MARGIN = 1.15


@pytest.fixture(scope="module")
def site() -> Settings:
    return load_settings(DEMO, {}).settings


def crowded_at(site: Settings, zone_id: str) -> float:
    zone = next(z for z in site.zones if z.id == zone_id)
    return zone.crowd.occupancy.crowded * zone.capacity


def morning_peak(site: Settings, seed: int, start: datetime, demand: Demand) -> int:
    """The most people the waiting hall holds from ``start`` to 11:30 (the morning rush)."""
    model = CenterModel(site, seed, start, demand=demand, pin_day=True)
    model.step(datetime.combine(start.date(), time(11, 30), tzinfo=start.tzinfo))
    return model.peak_occupancy[WAITING]


def weekdays(first: date, last: date) -> list[date]:
    days = (first + timedelta(days=k) for k in range((last - first).days + 1))
    return [d for d in days if d.weekday() < 5]


def test_the_demo_site_crowds_at_a_known_threshold(site: Settings) -> None:
    assert crowded_at(site, WAITING) == pytest.approx(144.0)  # 0.8 x 180 seats and standing room


def test_the_played_day_crowds_on_every_weekday_start_of_a_year(site: Settings) -> None:
    tz = ZoneInfo(site.site.timezone)
    played = demo_demand(site, None).played  # script/demo without --visitors
    seed = 7  # script/demo's default (gateway.cli)
    peaks = {
        day: morning_peak(site, seed, datetime.combine(day, time(7, 0), tzinfo=tz), played)
        for day in weekdays(date(2026, 1, 1), date(2026, 12, 31))
    }
    assert len(peaks) == 261
    # one day whatever the date: the seed pins it (the date once decided it)
    assert len(set(peaks.values())) == 1, sorted(set(peaks.values()))
    assert min(peaks.values()) >= MARGIN * crowded_at(site, WAITING)


def test_any_seed_crowds_the_waiting_hall(site: Settings) -> None:
    tz = ZoneInfo(site.site.timezone)
    start = datetime(2026, 12, 4, 7, 0, tzinfo=tz)
    played = demo_demand(site, None).played
    peaks = [morning_peak(site, seed, start, played) for seed in range(60)]
    assert min(peaks) >= MARGIN * crowded_at(site, WAITING), sorted(peaks)[:5]


def test_without_the_pin_the_date_decides(site: Settings) -> None:
    """What the pin fixes: unpinned, the same seed gives other crowds on other dates."""
    tz = ZoneInfo(site.site.timezone)
    played = demo_demand(site, None).played
    peaks = set()
    for day in weekdays(date(2026, 11, 30), date(2026, 12, 4)):
        start = datetime.combine(day, time(7, 0), tzinfo=tz)
        model = CenterModel(site, 7, start, demand=played)
        model.step(datetime.combine(day, time(11, 30), tzinfo=tz))
        peaks.add(model.peak_occupancy[WAITING])
    assert len(peaks) > 1


def test_the_demo_is_sized_by_the_site(site: Settings) -> None:
    # the demo site: 23 counters, a usual weekday of 535 ticket holders, a busy day 1.5x
    assert usual_tickets(site) == pytest.approx(535.0)
    demand = demo_demand(site, None)
    assert demand.played.tickets_per_weekday == pytest.approx(802.5)
    assert demand.usual.tickets_per_weekday == pytest.approx(535.0)
    # a 4-counter commune center: a usual day of about 93
    small = site.model_copy(
        update={"services": [site.services[0].model_copy(update={"counters": [1, 2, 3, 4]})]}
    )
    assert usual_tickets(small) == pytest.approx(93.04, abs=0.01)
    assert demo_demand(small, None).played.tickets_per_weekday == pytest.approx(139.57, abs=0.01)
    # --visitors sets the played day, and the history's usual day with it
    given = demo_demand(site, 200.0)
    assert given.played.tickets_per_weekday == 200.0
    assert given.usual.tickets_per_weekday == pytest.approx(133.33, abs=0.01)


def test_the_summary_line_shows_the_sites_own_zones(site: Settings) -> None:
    assert summary_zones(site) == {"f1-entrance", "f2-waiting", "f2-counters"}
    commune = load_settings(DEMO.parent / "commune-center.yaml", {}, need_secrets=False).settings
    assert summary_zones(commune) == {"f1-hall"}
