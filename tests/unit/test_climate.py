"""Climate per zone: latest, 5-minute means, comfort band (gateway.climate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.climate import ZoneClimate, band_status
from gateway.observations import Climate
from gateway.settings import ComfortBand

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@pytest.mark.parametrize(
    ("value", "low", "high", "status"),
    [
        (None, 26, 28, None),
        (25.9, 26, 28, "low"),
        (26, 26, 28, "ok"),
        (28, 26, 28, "ok"),
        (28.1, 26, 28, "high"),
        (1200, None, 1000, "high"),
        (400, None, 1000, "ok"),
    ],
)
def test_band_status(
    value: float | None, low: float | None, high: float, status: str | None
) -> None:
    assert band_status(value, low, high) == status


def test_latest_and_mean_over_five_minutes() -> None:
    zc = ZoneClimate(ComfortBand())
    zc.add(Climate("z", "a", at(0), temperature_c=30.0, humidity_pct=65.0))
    zc.add(Climate("z", "b", at(100), temperature_c=26.0, co2_ppm=900.0))
    zc.add(Climate("z", "a", at(200), temperature_c=28.0))
    s = zc.state(at(250))
    assert s.temperature_c == 28.0  # the latest of any sensor
    assert s.temperature_mean_5m == pytest.approx(28.0)
    assert s.temperature_status == "ok"
    assert s.humidity_pct == 65.0 and s.humidity_status == "ok"
    assert s.co2_ppm == 900.0 and s.co2_status == "ok"
    # at 350 s the first reading (30 °C) is older than 5 minutes: mean of 26 and 28
    s = zc.state(at(350))
    assert s.temperature_mean_5m == pytest.approx(27.0)
    assert s.humidity_mean_5m is None and s.humidity_status is None
    assert s.humidity_pct == 65.0  # the latest value stays known


def test_status_is_judged_on_the_mean_not_one_spike() -> None:
    zc = ZoneClimate(ComfortBand())
    for i in range(9):
        zc.add(Climate("z", "a", at(i * 30), co2_ppm=800.0))
    zc.add(Climate("z", "a", at(270), co2_ppm=2000.0))
    s = zc.state(at(280))
    assert s.co2_ppm == 2000.0
    assert s.co2_mean_5m == pytest.approx(920.0)
    assert s.co2_status == "ok"


def test_a_late_reading_does_not_replace_the_latest() -> None:
    zc = ZoneClimate(ComfortBand(temperature_c=(24, 26)))
    zc.add(Climate("z", "a", at(100), temperature_c=25.0))
    zc.add(Climate("z", "b", at(50), temperature_c=27.0))
    s = zc.state(at(110))
    assert s.temperature_c == 25.0
    assert s.temperature_mean_5m == pytest.approx(26.0)
    assert s.at == at(100)


def test_many_readings_a_second_share_a_bucket_and_old_ones_are_left_out() -> None:
    zc = ZoneClimate(ComfortBand())
    for i in range(10_000):
        zc.add(Climate("z", "a", at(i / 1000), co2_ppm=float(400 + i % 2 * 200)))
    series = zc.series["co2_ppm"]
    assert len(series.buckets) == 10
    assert zc.state(at(10)).co2_mean_5m == pytest.approx(500.0)
    zc.add(Climate("z", "b", at(10 - 400), co2_ppm=5000.0))  # older than the window: not in it
    assert zc.state(at(10)).co2_mean_5m == pytest.approx(500.0)
    assert zc.state(at(400)).co2_mean_5m is None
