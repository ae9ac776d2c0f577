"""HVAC advice for known inputs: CO2 and outdoor air, comfort bands, pre-cooling, set-back."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config_loader import load_settings
from gateway.planning.hvac import (
    HvacParams,
    VentilationParams,
    ZoneConditions,
    comfort_band,
    implied_outdoor_air_m3h,
    outdoor_air_m3h,
)
from gateway.planning.hvac_rules import advice_json, advice_topic, advise
from gateway.settings import ComfortBand, Settings

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PARAMS = HvacParams()


@cache
def demo() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


def at(hour: int, minute: int = 0, day: int = 9) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=TZ)  # 9 Sep 2026: a Wednesday


def test_over_the_co2_limit_with_rising_occupancy_increases_outdoor_air() -> None:
    zone = demo().zone("f2-waiting")
    c = ZoneConditions(occupancy=90, temperature_c=27.0, humidity_pct=65, co2_ppm=1250,
                       occupancy_trend_per_h=40)  # fmt: skip
    a = advise(zone, demo().site, c, at(9, 40), PARAMS)
    assert "increase_outdoor_air" in a.codes
    action = next(x for x in a.actions if x.code == "increase_outdoor_air")
    assert action.severity == "warning"
    assert action.message.startswith("CO₂ 1.250 ppm, vượt giới hạn 1.000 ppm, với 90 người và đang")
    assert "tăng gió tươi lên ít nhất 2.250 m³/h" in action.message  # Vietnamese figures
    assert a.co2_status == "high" and a.outdoor_air_m3h == pytest.approx(90 * 25)
    assert "setback" not in a.codes


def test_over_the_limit_but_emptying_holds_rather_than_raises() -> None:
    zone = demo().zone("f2-waiting")
    c = ZoneConditions(occupancy=60, co2_ppm=1100, occupancy_trend_per_h=-30)
    a = advise(zone, demo().site, c, at(11, 10), PARAMS)
    assert "increase_outdoor_air" not in a.codes and "hold_outdoor_air" in a.codes


def test_rising_from_the_forecast_when_no_trend_is_known() -> None:
    zone = demo().zone("f2-waiting")
    c = ZoneConditions(occupancy=40, co2_ppm=950)
    rising = advise(zone, demo().site, c, at(8, 20), PARAMS, {8: 40, 9: 90})
    flat = advise(zone, demo().site, c, at(8, 20), PARAMS, {8: 40, 9: 42})
    assert "increase_outdoor_air" in rising.codes and "increase_outdoor_air" not in flat.codes


def test_an_empty_zone_after_closing_gets_a_set_back() -> None:
    zone = demo().zone("f2-waiting")
    c = ZoneConditions(occupancy=0, temperature_c=26.8, humidity_pct=64, co2_ppm=450)
    a = advise(zone, demo().site, c, at(17, 30), PARAMS)
    assert a.codes == ("setback",) and not a.open_now
    assert "ngoài giờ làm việc đến ngày làm việc tiếp theo" in a.actions[0].message
    lunch = advise(zone, demo().site, c, at(12, 0), PARAMS)
    assert "setback" in lunch.codes and "ngoài giờ làm việc đến 13:30" in lunch.actions[-1].message
    occupied = advise(zone, demo().site, ZoneConditions(occupancy=3), at(17, 30), PARAMS)
    assert "setback" not in occupied.codes


def test_pre_cooling_before_the_morning_peak() -> None:
    zone = demo().zone("f2-waiting")  # capacity 180: 30 % is 54 people
    forecast = {7: 10.0, 8: 60.0, 9: 95.0, 10: 80.0}
    warm = ZoneConditions(occupancy=0, temperature_c=30.4)
    early = advise(zone, demo().site, warm, at(6, 30), PARAMS, forecast)
    assert early.rise_at == at(8) and early.precool_start == at(7, 15)
    assert early.codes == ("precool_planned", "setback")
    now = advise(zone, demo().site, warm, at(7, 20), PARAMS, forecast)
    assert "precool" in now.codes and "setback" not in now.codes
    cool = advise(
        zone, demo().site, ZoneConditions(0, temperature_c=26.5), at(7, 20), PARAMS, forecast
    )
    assert "precool" not in cool.codes
    # Without any forecast the opening of the session stands in for the rise.
    blind = advise(zone, demo().site, warm, at(7, 0), PARAMS, None)
    assert blind.rise_at == at(7, 30) and "precool" in blind.codes


@pytest.mark.parametrize(
    ("t", "rh", "codes"),
    [(29.0, 65.0, ("cool",)), (25.0, 65.0, ("reduce_cooling",)), (27.0, 75.0, ("dehumidify",)),
     (27.0, 65.0, ())],
)  # fmt: skip
def test_comfort_band_of_a_lobby(t: float, rh: float, codes: tuple[str, ...]) -> None:
    zone = demo().zone("f2-waiting")
    a = advise(zone, demo().site, ZoneConditions(20, t, rh), at(10), PARAMS)
    assert a.codes == codes


def test_counters_get_the_office_band_unless_configured() -> None:
    counters = demo().zone("f2-counters")
    assert comfort_band(counters).temperature_c == (25.0, 27.0)
    assert comfort_band(demo().zone("f2-waiting")).temperature_c == (26.0, 28.0)
    own = counters.model_copy(update={"comfort": ComfortBand(temperature_c=(24.0, 26.0))})
    own = type(counters).model_validate(own.model_dump())
    assert comfort_band(own).temperature_c == (24.0, 26.0)
    a = advise(counters, demo().site, ZoneConditions(10, 27.5), at(10), PARAMS)
    assert a.codes == ("cool",) and a.temperature_status == "high"


def test_outdoor_air_rates() -> None:
    assert outdoor_air_m3h(100, 312, VentilationParams()) == pytest.approx(2500)
    ashrae = VentilationParams(standard="ashrae62_1")
    assert outdoor_air_m3h(100, 312, ashrae) == pytest.approx((2.5 * 100 + 0.3 * 312) * 3.6)
    # 100 people at a steady 1170 ppm (750 over outdoors): ~2500 m3/h, i.e. TCVN's 25 m3/h each.
    assert implied_outdoor_air_m3h(100, 1170, 420) == pytest.approx(2496, rel=0.01)
    assert implied_outdoor_air_m3h(0, 900, 420) is None


def test_payload_and_topic() -> None:
    zone = demo().zone("f2-waiting")
    a = advise(zone, demo().site, ZoneConditions(90, 27.0, 65, 1250, 40), at(9, 40), PARAMS)
    body = json.loads(advice_json(a))
    assert body["zone"] == "f2-waiting" and body["occupancy"] == 90
    assert body["outdoor_air"] == {"standard": "tcvn5687", "needed_m3h": 2250.0,
                                   "estimated_m3h": pytest.approx(2029.9, abs=0.1)}  # fmt: skip
    assert body["actions"][0]["code"] == "increase_outdoor_air"
    assert body["at"] == "2026-09-09T09:40:00+07:00"
    assert advice_topic("floorwatch", "demo-hcc", "f2-waiting") == (
        "floorwatch/demo-hcc/hvac/f2-waiting/advice"
    )
