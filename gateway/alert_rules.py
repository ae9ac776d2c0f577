"""The alert rules: what is wrong in the floor picture right now. Pure module.

Each function looks at one part of the picture (a zone's state, the queues'
expected waits, device health, the spool) and returns a ``Condition`` per
rule and subject that does not hold; ``gateway.alerts.AlertBook`` turns the
stream of conditions into alert transitions. Every rule and its settings are
listed in docs/alerts.md.

A condition's message is a Vietnamese sentence, the language of the center's
staff (MQTT notifications, ``floorwatch alerts``, the dashboards), with
Vietnamese figures (``gateway.vi_text``); a device's own detail (a camera's
reason and advice, a sensor's staleness) follows it as the device reported it.
Programs read the rule, subject, value and threshold; the control-room page
says the alert from those in its own language.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.alerts import Condition
from gateway.levels import RANK
from gateway.live import Severity, ZoneState
from gateway.observations import DeviceHealth, DeviceKind
from gateway.scrub import scrub_text
from gateway.settings import AlertRules, ComfortBand, CrowdLevel, MaintenanceWindow
from gateway.vi_text import number

# A zone's crowd level as a crowd alert says it ("Khu chờ: mật độ đông (150 người)").
LEVEL_WORDS = {
    CrowdLevel.CALM: "mật độ bình thường",
    CrowdLevel.BUSY: "khá đông",
    CrowdLevel.CROWDED: "mật độ đông",
    CrowdLevel.CRITICAL: "quá tải",
}
# Climate quantities: their words, unit and decimals in a message.
QUANTITY_WORDS = {
    "temperature": ("nhiệt độ", " °C", 1),
    "humidity": ("độ ẩm", "%", 0),
    "co2": ("nồng độ CO₂", " ppm", 0),
}
STATUS_WORDS = {"low": "thấp", "high": "cao"}


@dataclass(frozen=True, slots=True)
class ZoneRule:
    """The per-zone settings the rules need."""

    alert_level: CrowdLevel
    alert_people: float  # occupancy at which the alert level begins
    capacity: int
    comfort: ComfortBand


def zone_conditions(state: ZoneState, zone: ZoneRule, rules: AlertRules) -> list[Condition]:
    out: list[Condition] = []
    z = state.zone_id
    if RANK[state.level] >= RANK[zone.alert_level]:
        critical = state.level is CrowdLevel.CRITICAL
        out.append(
            Condition(
                "crowd_level",
                z,
                Severity.CRITICAL if critical else Severity.WARNING,
                f"{state.name}: {LEVEL_WORDS[state.level]} ({number(state.occupancy)} người)",
                float(state.occupancy),
                round(zone.alert_people, 1),
                zone_id=z,
                dwell_s=rules.crowd_dwell_s,
            )
        )
    limit = zone.capacity * rules.capacity_ratio
    if state.occupancy > limit:
        out.append(
            Condition(
                "capacity",
                z,
                Severity.CRITICAL,
                f"{state.name}: vượt sức chứa ({number(state.occupancy)} người,"
                f" sức chứa {number(zone.capacity)})",
                float(state.occupancy),
                limit,
                zone_id=z,
                dwell_s=rules.capacity_dwell_s,
            )
        )
    out.extend(climate_conditions(state, zone.comfort, rules))
    return out


def climate_conditions(state: ZoneState, band: ComfortBand, rules: AlertRules) -> list[Condition]:
    """Temperature, humidity out of the band, CO2 over its limit, judged on 5-minute means."""
    c = state.climate
    t_lo, t_hi = band.temperature_c
    h_lo, h_hi = band.humidity_pct
    checks = (
        ("temperature", c.temperature_status, c.temperature_mean_5m, t_lo, t_hi),
        ("humidity", c.humidity_status, c.humidity_mean_5m, h_lo, h_hi),
        ("co2", c.co2_status, c.co2_mean_5m, None, band.co2_ppm_max),
    )
    out = []
    for quantity, status, mean, low, high in checks:
        if status not in ("low", "high") or mean is None:
            continue
        edge = low if status == "low" else high
        words, unit, digits = QUANTITY_WORDS[quantity]
        out.append(
            Condition(
                f"{quantity}_{status}",
                state.zone_id,
                Severity.WARNING,
                f"{state.name}: {words} {STATUS_WORDS[status]}"
                f" ({number(mean, digits)}{unit}, trung bình 5 phút)",
                round(mean, 2),
                edge,
                zone_id=state.zone_id,
                dwell_s=rules.climate_dwell_s,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ServiceWait:
    service_id: str
    name: str
    zone_id: str | None
    waiting: int
    open_counters: int
    expected_wait_s: float


def waiting_conditions(waits: Iterable[ServiceWait], rules: AlertRules) -> list[Condition]:
    return [
        Condition(
            "waiting_time",
            w.service_id,
            Severity.WARNING,
            f"{w.name}: {number(w.waiting)} phiếu đang chờ, {number(w.open_counters)} quầy"
            f" đang mở, thời gian chờ dự kiến {number(w.expected_wait_s / 60)} phút",
            round(w.expected_wait_s, 1),
            rules.waiting_target_s,
            zone_id=w.zone_id,
            dwell_s=rules.waiting_dwell_s,
        )
        for w in waits
        if w.expected_wait_s > rules.waiting_target_s
    ]


def in_maintenance(device_id: str, now: datetime, windows: Sequence[MaintenanceWindow]) -> bool:
    return any(w.device == device_id and w.start <= now < w.end for w in windows)


DEVICE_RULES = (
    "camera_offline",
    "camera_degraded",
    "camera_stalled",
    "camera_tampered",
    "sensor_stale",
    "battery_low",
)


def device_conditions(
    devices: Iterable[DeviceHealth],
    rules: AlertRules,
    now: datetime,
    zones: Mapping[str, str] | None = None,
    tampered: Collection[str] = (),
    video_lost: Collection[str] = (),
) -> list[Condition]:
    """Camera and sensor rules; devices in a maintenance window raise nothing.

    ``tampered``: cameras whose last tamper event has not been cleared (the
    ONVIF tamper state is sticky; the capture's health reports do not end it).
    ``video_lost``: cameras whose ONVIF video-loss state is set; they count as
    offline whatever their stream reports, until the camera says it is restored.
    """
    out: list[Condition] = []
    zones = zones or {}
    for d in devices:
        if d.kind is DeviceKind.GATEWAY or in_maintenance(d.device_id, now, rules.maintenance):
            continue
        zone = zones.get(d.device_id)
        if d.kind is DeviceKind.CAMERA:
            out.extend(_camera(d, rules, zone, d.device_id in tampered, d.device_id in video_lost))
        elif not d.online:
            out.append(
                Condition(
                    "sensor_stale",
                    d.device_id,
                    Severity.WARNING,
                    f"Cảm biến {d.device_id} ngừng gửi số liệu"
                    + (f" – {scrub_text(d.detail)}" if d.detail else ""),
                    zone_id=zone,
                    device_id=d.device_id,
                )
            )
        if d.battery_pct is not None and d.battery_pct < rules.battery_low_pct:
            out.append(
                Condition(
                    "battery_low",
                    d.device_id,
                    Severity.INFO,
                    f"Cảm biến {d.device_id} sắp hết pin (còn {number(d.battery_pct)}%)",
                    d.battery_pct,
                    rules.battery_low_pct,
                    zone_id=zone,
                    device_id=d.device_id,
                )
            )
    return out


def _camera(
    d: DeviceHealth, rules: AlertRules, zone: str | None, tampered: bool, video_lost: bool = False
) -> list[Condition]:
    # a device's own words may carry a URL with credentials: never into an alert
    said = scrub_text(d.detail)
    detail = said.lower()
    found: list[tuple[str, Severity, str]] = []  # rule, severity, what is wrong (and the detail)
    if tampered or ("tamper" in detail and "cleared" not in detail):
        text = "bị che khuất, xoay hướng hoặc bị chiếu chói"
        found.append(("camera_tampered", Severity.CRITICAL, text))
    if d.online and "status=degraded" in detail:
        # the stream is down, counts come from snapshots: say why (the detail's reason)
        text = f"mất luồng hình ảnh, đang đếm người từ ảnh chụp: {said}"
        found.append(("camera_degraded", Severity.WARNING, text))
    elif "stall" in detail:
        found.append(("camera_stalled", Severity.WARNING, f"không truyền hình ảnh: {said}"))
    elif not d.online:
        text = f"mất tín hiệu: {said or 'không kết nối được'}"
        found.append(("camera_offline", Severity.WARNING, text))
    elif video_lost:
        text = "mất tín hiệu: video_lost (camera báo mất hình)"
        found.append(("camera_offline", Severity.WARNING, text))
    return [
        Condition(
            rule,
            d.device_id,
            severity,
            f"Camera {d.device_id} {text}",
            d.fps,
            None,
            zone_id=zone,
            device_id=d.device_id,
            dwell_s=rules.device_dwell_s,
        )
        for rule, severity, text in found
    ]


def spool_conditions(fill_ratio: float, warn_ratio: float) -> list[Condition]:
    if fill_ratio < warn_ratio:
        return []
    critical = fill_ratio >= max(0.9, warn_ratio)
    return [
        Condition(
            "spool_backlog",
            "spool",
            Severity.CRITICAL if critical else Severity.WARNING,
            "Chưa ghi được số liệu vào cơ sở dữ liệu (InfluxDB): bộ nhớ đệm đã đầy"
            f" {number(fill_ratio * 100)}%",
            round(fill_ratio, 4),
            warn_ratio,
        )
    ]
