"""HVAC advice per zone: comfort band, CO2 vs occupancy, outdoor air, pre-cooling, set-back. Pure.

Inputs are values: the zone's config, its present conditions, the occupancy
forecast of the day and the local time. The advice is a frozen record with a
JSON payload for ``floorwatch/<site>/hvac/<zone>/advice`` (docs/planning.md).

Comfort bands follow TCVN 5687 for air-conditioned public buildings: lobbies
and waiting halls 26-28 °C, offices (counters) 25-27 °C, 60-70 % RH. A zone's
``comfort`` in the site file overrides it; a counters or service zone without
one gets the office band.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

from gateway.planning.forecast import WEEKDAYS
from gateway.settings import ComfortBand, SiteConfig, ZoneConfig, ZoneKind

CO2_PER_PERSON_M3H = 0.0052 * 3.6  # 0.0052 L/s exhaled by a seated adult (ASHRAE 62.1 App. D)
OFFICE_BAND = ComfortBand(temperature_c=(25.0, 27.0), humidity_pct=(60.0, 70.0))
OFFICE_KINDS = (ZoneKind.COUNTERS, ZoneKind.SERVICE)
RISING_PER_H = 5.0  # occupancy trend (people/hour) that counts as rising
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
Severity = Literal["info", "warning"]


@dataclass(frozen=True, slots=True)
class VentilationParams:
    standard: Literal["tcvn5687", "ashrae62_1"] = "tcvn5687"
    tcvn_m3h_per_person: float = 25.0
    ashrae_ls_per_person: float = 2.5
    ashrae_ls_per_m2: float = 0.3
    outdoor_co2_ppm: float = 420.0


@dataclass(frozen=True, slots=True)
class HvacParams:
    ventilation: VentilationParams = VentilationParams()
    precool_lead_min: float = 45.0
    precool_occupancy_ratio: float = 0.3
    setback_c: float = 2.0


@dataclass(frozen=True, slots=True)
class ZoneConditions:
    """What is known of a zone now (None: no reading)."""

    occupancy: int
    temperature_c: float | None = None
    humidity_pct: float | None = None
    co2_ppm: float | None = None
    occupancy_trend_per_h: float | None = None  # people per hour; > 0 rising


@dataclass(frozen=True, slots=True)
class Action:
    code: (
        str  # stable: increase_outdoor_air, cool, reduce_cooling, dehumidify, precool, setback, ...
    )
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class HvacAdvice:
    zone_id: str
    at: datetime
    occupancy: int
    open_now: bool
    band: ComfortBand
    conditions: ZoneConditions
    temperature_status: str | None  # "low", "ok", "high"; None without a reading
    humidity_status: str | None
    co2_status: str | None
    outdoor_air_m3h: float  # what the present occupancy needs, by the configured standard
    outdoor_air_standard: str
    outdoor_air_estimate_m3h: float | None  # what the CO2 level implies is supplied (steady state)
    precool_start: datetime | None
    rise_at: datetime | None  # when the forecast occupancy rises past the pre-cool threshold
    actions: tuple[Action, ...] = field(default=())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(a.code for a in self.actions)


# --------------------------------------------------------------------------- pieces


def comfort_band(zone: ZoneConfig) -> ComfortBand:
    """The zone's band: its own ``comfort`` if set, else TCVN 5687 by zone kind."""
    if "comfort" not in zone.model_fields_set and zone.kind in OFFICE_KINDS:
        return OFFICE_BAND
    return zone.comfort


def outdoor_air_m3h(people: int, area_m2: float, vent: VentilationParams) -> float:
    """Outdoor air the zone needs: TCVN 25 m3/h/person, or ASHRAE Rp·P + Ra·A (L/s -> m3/h)."""
    if vent.standard == "tcvn5687":
        return people * vent.tcvn_m3h_per_person
    return (vent.ashrae_ls_per_person * people + vent.ashrae_ls_per_m2 * area_m2) * 3.6


def implied_outdoor_air_m3h(people: int, co2_ppm: float, outdoor_ppm: float) -> float | None:
    """Outdoor air a steady CO2 level implies: Q = N G / (C - C_out)."""
    rise = co2_ppm - outdoor_ppm
    if people <= 0 or rise <= 20:
        return None
    return people * CO2_PER_PERSON_M3H * 1e6 / rise


def band_status(value: float | None, low: float, high: float) -> str | None:
    if value is None:
        return None
    return "low" if value < low else "high" if value > high else "ok"


def sessions_on(site: SiteConfig, day: date) -> list[tuple[time, time]]:
    weekday = WEEKDAYS[day.weekday()]
    out = [(s.start, s.end) for r in site.opening_hours if weekday in r.days for s in r.sessions]
    return sorted(out)


def is_open(site: SiteConfig, now: datetime) -> bool:
    t = now.timetz().replace(tzinfo=None)
    return any(a <= t < b for a, b in sessions_on(site, now.date()))


def rise_time(
    now: datetime,
    forecast_by_hour: Mapping[int, float],
    capacity: int,
    ratio: float,
    site: SiteConfig,
) -> datetime | None:
    """The next time today the forecast occupancy reaches ``ratio`` x capacity.

    Without a forecast, the next opening of a session today stands in for it.
    ``now`` is local time; so is the answer.
    """
    threshold = ratio * capacity
    start_hour = now.hour
    if forecast_by_hour:
        for hour in sorted(h for h in forecast_by_hour if h >= start_hour):
            if forecast_by_hour[hour] >= threshold:
                at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
                return max(at, now)
        return None
    t = now.timetz().replace(tzinfo=None)
    for start, _ in sessions_on(site, now.date()):
        if start > t:
            return now.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    return None
