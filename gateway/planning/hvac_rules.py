"""The HVAC advice rules and the MQTT payload. Pure module (see ``gateway.planning.hvac``).

Each action's ``message`` is a Vietnamese sentence for the facility staff and
the building management system (figures as ``gateway.vi_text`` writes them); its
``code`` and the payload's figures are what programs read, and what the
control-room page says in either language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from gateway.planning.hvac import (
    RISING_PER_H,
    Action,
    HvacAdvice,
    HvacParams,
    JsonValue,
    ZoneConditions,
    band_status,
    comfort_band,
    implied_outdoor_air_m3h,
    is_open,
    outdoor_air_m3h,
    rise_time,
    sessions_on,
)
from gateway.settings import ComfortBand, SiteConfig, ZoneConfig
from gateway.vi_text import number, setting


def advise(
    zone: ZoneConfig,
    site: SiteConfig,
    conditions: ZoneConditions,
    now: datetime,
    params: HvacParams,
    forecast_by_hour: Mapping[int, float] | None = None,
) -> HvacAdvice:
    """Every piece of advice for one zone at local time ``now``."""
    band = comfort_band(zone)
    vent = params.ventilation
    open_now = is_open(site, now)
    c = conditions
    needed = outdoor_air_m3h(c.occupancy, zone.area_m2, vent)
    implied = (
        implied_outdoor_air_m3h(c.occupancy, c.co2_ppm, vent.outdoor_co2_ppm)
        if c.co2_ppm is not None
        else None
    )
    rise = rise_time(
        now, forecast_by_hour or {}, zone.capacity, params.precool_occupancy_ratio, site
    )
    precool_start = rise - timedelta(minutes=params.precool_lead_min) if rise else None
    actions: list[Action] = []
    actions += _co2_actions(zone, c, band, needed, implied, forecast_by_hour or {}, now)
    if c.occupancy > 0 or open_now:
        actions += _comfort_actions(c, band)
    if not open_now:  # while open the AC runs anyway; pre-cooling is for before opening
        actions += _precool_actions(c, band, now, rise, precool_start)
    actions += _setback_actions(site, c, now, open_now, params, precool_start)
    return HvacAdvice(
        zone_id=zone.id,
        at=now,
        occupancy=c.occupancy,
        open_now=open_now,
        band=band,
        conditions=c,
        temperature_status=band_status(c.temperature_c, *band.temperature_c),
        humidity_status=band_status(c.humidity_pct, *band.humidity_pct),
        co2_status=None
        if c.co2_ppm is None
        else ("high" if c.co2_ppm > band.co2_ppm_max else "ok"),
        outdoor_air_m3h=needed,
        outdoor_air_standard=vent.standard,
        outdoor_air_estimate_m3h=implied,
        precool_start=precool_start,
        rise_at=rise,
        actions=tuple(actions),
    )


def _rising(c: ZoneConditions, forecast: Mapping[int, float], now: datetime) -> bool:
    if c.occupancy_trend_per_h is not None:
        return c.occupancy_trend_per_h >= RISING_PER_H
    nxt = forecast.get(now.hour + 1)
    return nxt is not None and nxt >= c.occupancy + RISING_PER_H


def _co2_actions(
    zone: ZoneConfig,
    c: ZoneConditions,
    band: ComfortBand,
    needed: float,
    implied: float | None,
    forecast: Mapping[int, float],
    now: datetime,
) -> list[Action]:
    if c.co2_ppm is None:
        return []
    limit = band.co2_ppm_max
    rising = _rising(c, forecast, now)
    co2, most, air = number(c.co2_ppm), setting(limit), number(needed)
    supplied = (
        f"; theo CO₂, gió tươi đang cấp khoảng {number(implied)} m³/h"
        if implied is not None
        else ""
    )
    if c.co2_ppm > limit and (rising or c.occupancy_trend_per_h is None):
        return [
            Action(
                "increase_outdoor_air",
                "warning",
                f"CO₂ {co2} ppm, vượt giới hạn {most} ppm, với {number(c.occupancy)} người"
                f"{' và đang tăng' if rising else ''}: tăng gió tươi lên ít nhất"
                f" {air} m³/h{supplied}",
            )
        ]
    if c.co2_ppm > limit:
        return [
            Action(
                "hold_outdoor_air",
                "info",
                f"CO₂ {co2} ppm vẫn trên giới hạn {most} ppm, số người đang giảm: giữ gió"
                f" tươi ở mức ít nhất {air} m³/h cho đến khi CO₂ về dưới giới hạn",
            )
        ]
    if c.co2_ppm > 0.9 * limit and rising:
        return [
            Action(
                "increase_outdoor_air",
                "info",
                f"CO₂ {co2} ppm, gần giới hạn {most} ppm, số người đang tăng: tăng dần gió"
                f" tươi lên {air} m³/h ngay từ bây giờ",
            )
        ]
    return []


def _comfort_actions(c: ZoneConditions, band: ComfortBand) -> list[Action]:
    out: list[Action] = []
    lo, hi = band.temperature_c
    t = c.temperature_c
    if t is not None and t > hi:
        text = f"Nhiệt độ {number(t, 1)} °C, cao hơn mức {setting(hi)} °C: tăng làm mát"
        out.append(Action("cool", "warning", text))
    elif t is not None and t < lo:
        text = (
            f"Nhiệt độ {number(t, 1)} °C, thấp hơn mức {setting(lo)} °C: nâng nhiệt độ cài đặt"
            " để tiết kiệm điện"
        )
        out.append(Action("reduce_cooling", "info", text))
    rh_lo, rh_hi = band.humidity_pct
    rh = c.humidity_pct
    if rh is not None and rh > rh_hi:
        text = f"Độ ẩm {number(rh)}%, cao hơn mức {setting(rh_hi)}%: bật chế độ hút ẩm"
        out.append(Action("dehumidify", "info", text))
    elif rh is not None and rh < rh_lo:
        text = f"Độ ẩm {number(rh)}%, thấp hơn mức {setting(rh_lo)}%"
        out.append(Action("humidity_low", "info", text))
    return out


def _precool_actions(
    c: ZoneConditions,
    band: ComfortBand,
    now: datetime,
    rise: datetime | None,
    start: datetime | None,
) -> list[Action]:
    if rise is None or start is None or now >= rise:
        return []
    warm = (
        c.temperature_c is None
        or c.temperature_c > (band.temperature_c[0] + band.temperature_c[1]) / 2
    )
    if now >= start and warm:
        return [
            Action(
                "precool",
                "warning",
                f"Bắt đầu làm mát ngay: khu vực sẽ đông người từ khoảng {rise:%H:%M}"
                + (
                    f", nhiệt độ hiện tại {number(c.temperature_c, 1)} °C"
                    if c.temperature_c is not None
                    else ""
                ),
            )
        ]
    if now < start:
        return [
            Action(
                "precool_planned",
                "info",
                f"Bắt đầu làm mát từ {start:%H:%M} (khu vực sẽ đông người từ {rise:%H:%M})",
            )
        ]
    return []


def _setback_actions(
    site: SiteConfig,
    c: ZoneConditions,
    now: datetime,
    open_now: bool,
    params: HvacParams,
    precool_start: datetime | None,
) -> list[Action]:
    if open_now or c.occupancy > 0:
        return []
    if precool_start is not None and now >= precool_start:
        return []
    t = now.timetz().replace(tzinfo=None)
    later = [s for s, _ in sessions_on(site, now.date()) if s > t]
    until = f" đến {later[0]:%H:%M}" if later else " đến ngày làm việc tiếp theo"
    return [
        Action(
            "setback",
            "info",
            f"Khu vực trống, ngoài giờ làm việc{until}: nâng nhiệt độ cài đặt thêm"
            f" {setting(params.setback_c)} °C (hoặc tắt điều hòa) và giảm gió tươi xuống mức"
            " tối thiểu",
        )
    ]


# --------------------------------------------------------------------------- payload


def advice_topic(base_topic: str, site_id: str, zone_id: str) -> str:
    return f"{base_topic}/{site_id}/hvac/{zone_id}/advice"


def advice_payload(a: HvacAdvice) -> dict[str, JsonValue]:
    c = a.conditions
    return {
        "zone": a.zone_id,
        "at": a.at.isoformat(),
        "open": a.open_now,
        "occupancy": a.occupancy,
        "occupancy_trend_per_h": c.occupancy_trend_per_h,
        "temperature_c": c.temperature_c,
        "humidity_pct": c.humidity_pct,
        "co2_ppm": c.co2_ppm,
        "status": {
            "temperature": a.temperature_status,
            "humidity": a.humidity_status,
            "co2": a.co2_status,
        },
        "band": {
            "temperature_c": list(a.band.temperature_c),
            "humidity_pct": list(a.band.humidity_pct),
            "co2_ppm_max": a.band.co2_ppm_max,
        },
        "outdoor_air": {
            "standard": a.outdoor_air_standard,
            "needed_m3h": round(a.outdoor_air_m3h, 1),
            "estimated_m3h": None
            if a.outdoor_air_estimate_m3h is None
            else round(a.outdoor_air_estimate_m3h, 1),
        },
        "precool_start": a.precool_start.isoformat() if a.precool_start else None,
        "rise_at": a.rise_at.isoformat() if a.rise_at else None,
        "actions": [
            {"code": x.code, "severity": x.severity, "message": x.message} for x in a.actions
        ],
    }


def advice_json(a: HvacAdvice) -> str:
    return json.dumps(advice_payload(a), ensure_ascii=False, separators=(",", ":"))
