"""Indoor climate of a zone: first-order responses to people, air conditioning, outdoors.

Pure module. Each quantity relaxes exponentially towards an equilibrium that
depends on the zone's occupants and on whether the air conditioning runs:

- temperature: towards the set point plus a people load when the AC is on,
  towards the outdoor temperature (southern Vietnam, ~26 °C at dawn, ~32.5 °C
  mid-afternoon) when it is off;
- humidity: the AC dries the air to the low 60s %, people add moisture; with the
  AC off it follows the outdoor humidity (62-76 %);
- CO2: a well-mixed mass balance, C_eq = C_out + G·N / Q, with G = 0.0052 L/s per
  seated adult, Q = air changes per hour x volume (area x ceiling height), and a
  time constant of 1 / ACH;
- PM2.5: half the outdoor value (32-46 µg/m³, traffic peaks at 07:30 and
  18:30) plus resuspension by people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Air:
    temperature_c: float
    humidity_pct: float
    co2_ppm: float
    pm25_ugm3: float


@dataclass(frozen=True, slots=True)
class ClimateParams:
    ceiling_m: float = 3.5
    setpoint_c: float = 26.5
    co2_outdoor_ppm: float = 420.0
    co2_lps_per_person: float = 0.0052
    ach_ac_on: float = (
        2.0  # outdoor-air changes per hour with the AC on (split units, fresh-air fans)
    )
    ach_ac_off: float = 0.6  # infiltration only
    tau_ac_s: float = 900.0
    tau_free_s: float = 5400.0
    tau_humidity_s: float = 1800.0
    tau_pm_s: float = 1800.0
    heat_c_per_density: float = 2.5  # °C above the set point per person/m²
    ac_humidity_pct: float = 62.0
    humidity_per_density: float = 10.0  # % per person/m²
    pm_indoor_ratio: float = 0.5
    pm_per_density: float = 12.0  # µg/m³ per person/m²


def outdoor(hour: float, params: ClimateParams) -> Air:
    """Outdoor air at a local clock hour (0..24), a dry-season day in southern Vietnam."""
    phase = math.cos(2 * math.pi * (hour - 14.5) / 24)
    traffic = 14 * math.exp(-(((hour - 7.5) / 1.5) ** 2)) + 12 * math.exp(
        -(((hour - 18.5) / 1.5) ** 2)
    )
    return Air(
        temperature_c=29.25 + 3.25 * phase,
        humidity_pct=69.0 - 7.0 * phase,
        co2_ppm=params.co2_outdoor_ppm,
        pm25_ugm3=32.0 + traffic,
    )


def equilibrium_start(out: Air) -> Air:
    """A closed building at night: slightly warmer than outside, outdoor CO2."""
    return replace(
        out,
        temperature_c=out.temperature_c + 0.5,
        co2_ppm=out.co2_ppm + 10,
        pm25_ugm3=out.pm25_ugm3 * 0.5,
    )


def advance(
    air: Air,
    *,
    dt_s: float,
    people: int,
    area_m2: float,
    ac_on: bool,
    out: Air,
    params: ClimateParams,
    heat_offset_c: float = 0.0,
) -> Air:
    """The zone's air ``dt_s`` seconds later with ``people`` present throughout."""
    density = people / area_m2
    volume = area_m2 * params.ceiling_m
    if ac_on:
        t_eq = params.setpoint_c + heat_offset_c + params.heat_c_per_density * density
        tau_t = params.tau_ac_s
        rh_eq = params.ac_humidity_pct + params.humidity_per_density * density
        ach = params.ach_ac_on
    else:
        t_eq = out.temperature_c + 0.5 + params.heat_c_per_density * density
        tau_t = params.tau_free_s
        rh_eq = out.humidity_pct + params.humidity_per_density * density
        ach = params.ach_ac_off
    q_m3s = ach * volume / 3600
    co2_eq = out.co2_ppm + params.co2_lps_per_person / 1000 * people / q_m3s * 1e6
    pm_eq = params.pm_indoor_ratio * out.pm25_ugm3 + params.pm_per_density * density
    return Air(
        temperature_c=_relax(air.temperature_c, t_eq, dt_s, tau_t),
        humidity_pct=_relax(air.humidity_pct, min(rh_eq, 85.0), dt_s, params.tau_humidity_s),
        co2_ppm=_relax(air.co2_ppm, co2_eq, dt_s, 3600 / ach),
        pm25_ugm3=_relax(air.pm25_ugm3, pm_eq, dt_s, params.tau_pm_s),
    )


def _relax(value: float, target: float, dt_s: float, tau_s: float) -> float:
    return target + (value - target) * math.exp(-dt_s / tau_s)
