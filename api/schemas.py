"""Request and response models of the API, and their conversions. Pure module.

What the API shows is built here from the engine's frozen records
(``gateway.live``) and the config, never from the records' internals, so a
field is public only once it is declared below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.live import Alert, AlertState, Severity, ZoneClimateState, ZoneState
from gateway.settings import CrowdLevel, Role, ZoneConfig, ZoneKind

EXAMPLE_AT = "2026-12-01T08:30:00+07:00"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


def with_examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# --------------------------------------------------------------------------- errors


class ErrorDetail(Out):
    code: str = Field(description="stable machine-readable code, e.g. alert_not_found")
    message: str = Field(description="one readable sentence")
    details: list[dict[str, Any]] | None = Field(None, description="per-field problems")


class ErrorBody(Out):
    model_config = with_examples(
        {"error": {"code": "alert_not_found", "message": "no alert 'a1'", "details": None}}
    )
    error: ErrorDetail


# --------------------------------------------------------------------------- health, session


class HealthOut(Out):
    model_config = with_examples({"status": "ok", "time": EXAMPLE_AT})
    status: str
    time: datetime


class LoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": "s3cr3t-token-of-the-desk"}]}
    )
    token: str = Field(min_length=1, max_length=512, description="an API token")


class SessionOut(Out):
    model_config = with_examples({"name": "Nguyễn Văn An", "role": "supervisor"})
    name: str
    role: Role


# --------------------------------------------------------------------------- site


class ComfortOut(Out):
    temperature_c: tuple[float, float]
    humidity_pct: tuple[float, float]
    co2_ppm_max: float


class ZonePlanOut(Out):
    id: str
    name: str
    floor: str
    kind: ZoneKind
    area_m2: float
    seats: int
    capacity: int
    polygon: list[tuple[float, float]] = Field(description="outline on the floor plan, metres")
    alert_level: CrowdLevel
    counted: bool = Field(
        description="false: the site file says nobody counts people here (an ATM corner, a"
        " kiosk); the page shows 'not counted', not 'no data'"
    )
    comfort: ComfortOut


class FloorOut(Out):
    model_config = with_examples(
        {
            "id": "f2",
            "name": "Tầng 2",
            "level": 2,
            "area_m2": 650,
            "width_m": 32.5,
            "depth_m": 20,
            "occupancy": 87,
            "capacity": 320,
            "zones": [],
        }
    )
    id: str
    name: str
    level: int
    area_m2: float
    width_m: float
    depth_m: float
    occupancy: int = Field(description="people now, sum of the floor's zones")
    capacity: int
    zones: list[ZonePlanOut]


class ServiceOut(Out):
    id: str
    name: str
    counters: list[int] = Field(description="numbers of the counters serving this group")


class SiteOut(Out):
    id: str
    name: str
    timezone: str
    occupancy: int
    capacity: int
    floors: list[FloorOut]
    services: list[ServiceOut] = Field(description="service groups of the queue-ticket system")


def zone_plan(z: ZoneConfig) -> ZonePlanOut:
    return ZonePlanOut(
        id=z.id,
        name=z.name,
        floor=z.floor,
        kind=z.kind,
        area_m2=z.area_m2,
        seats=z.seats,
        capacity=z.capacity,
        polygon=list(z.polygon),
        alert_level=z.alert_level,
        counted=z.counted,
        comfort=ComfortOut(
            temperature_c=z.comfort.temperature_c,
            humidity_pct=z.comfort.humidity_pct,
            co2_ppm_max=z.comfort.co2_ppm_max,
        ),
    )


# --------------------------------------------------------------------------- zones


class SourceOut(Out):
    source_id: str
    kind: str
    count: float
    at: datetime | None
    fresh: bool
    confidence: float
    used: bool


class ClimateOut(Out):
    at: datetime | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None
    co2_ppm: float | None = None
    pm25_ugm3: float | None = None
    temperature_mean_5m: float | None = None
    humidity_mean_5m: float | None = None
    co2_mean_5m: float | None = None
    temperature_status: str | None = Field(None, description="low, ok or high; null: no data")
    humidity_status: str | None = None
    co2_status: str | None = None


class ZoneOut(Out):
    model_config = with_examples(
        {
            "zone_id": "f2-waiting",
            "floor_id": "f2",
            "name": "Khu chờ",
            "occupancy": 96,
            "capacity": 180,
            "capacity_ratio": 0.53,
            "density_per_m2": 0.31,
            "level_of_service": "B",
            "level": "busy",
            "method": "max(presence,doors)",
            "known": True,
            "confidence": 0.8,
            "sources": [
                {
                    "source_id": "pc-f2-waiting",
                    "kind": "presence",
                    "count": 96,
                    "at": EXAMPLE_AT,
                    "fresh": True,
                    "confidence": 0.8,
                    "used": True,
                }
            ],
            "disagreement": False,
            "climate": {"temperature_c": 27.1, "humidity_pct": 64, "co2_ppm": 820},
            "waiting_tickets": 31,
            "expected_wait_s": 540,
            "updated_at": EXAMPLE_AT,
        }
    )
    zone_id: str
    floor_id: str
    name: str
    occupancy: int
    capacity: int
    capacity_ratio: float
    density_per_m2: float
    level_of_service: str | None = Field(description="Fruin A..F; null where density is not used")
    level: CrowdLevel
    method: str = Field(description="how occupancy was fused from the sources")
    known: bool = Field(
        description="false (method none or binary): no usable counting source now; occupancy"
        " and level are the last known, not a measurement (the page shows 'no data', or"
        " 'occupied' / 'vacant' from the zone's binary presence sensors)"
    )
    confidence: float
    sources: list[SourceOut]
    disagreement: bool = Field(description="the sources differ beyond the tolerance")
    climate: ClimateOut
    waiting_tickets: int | None
    expected_wait_s: float | None
    updated_at: datetime
    presence: str | None = Field(
        None,
        description="binary presence sensors of the zone: occupied, vacant; null: none fresh."
        " Never a people count: with method binary it is all that is known",
    )


def climate_out(c: ZoneClimateState) -> ClimateOut:
    return ClimateOut(
        at=c.at,
        temperature_c=c.temperature_c,
        humidity_pct=c.humidity_pct,
        co2_ppm=c.co2_ppm,
        pm25_ugm3=c.pm25_ugm3,
        temperature_mean_5m=c.temperature_mean_5m,
        humidity_mean_5m=c.humidity_mean_5m,
        co2_mean_5m=c.co2_mean_5m,
        temperature_status=c.temperature_status,
        humidity_status=c.humidity_status,
        co2_status=c.co2_status,
    )


def zone_out(z: ZoneState) -> ZoneOut:
    return ZoneOut(
        zone_id=z.zone_id,
        floor_id=z.floor_id,
        name=z.name,
        occupancy=z.occupancy,
        capacity=z.capacity,
        capacity_ratio=z.capacity_ratio,
        density_per_m2=z.density_per_m2,
        level_of_service=z.level_of_service,
        level=z.level,
        method=z.method,
        known=z.method not in ("none", "binary"),
        confidence=z.confidence,
        sources=[
            SourceOut(
                source_id=s.source_id,
                kind=s.kind,
                count=s.count,
                at=s.at,
                fresh=s.fresh,
                confidence=s.confidence,
                used=s.used,
            )
            for s in z.sources
        ],
        disagreement=z.disagreement,
        climate=climate_out(z.climate),
        waiting_tickets=z.waiting_tickets,
        expected_wait_s=z.expected_wait_s,
        updated_at=z.updated_at,
        presence=z.presence,
    )


class ZoneClimateOut(Out):
    zone_id: str
    name: str
    floor_id: str
    occupancy: int
    comfort: ComfortOut
    climate: ClimateOut


# --------------------------------------------------------------------------- alerts


class AlertOut(Out):
    model_config = with_examples(
        {
            "id": "crowd_level:f2-waiting",
            "rule": "crowd_level",
            "severity": "critical",
            "state": "acknowledged",
            "zone_id": "f2-waiting",
            "device_id": None,
            "message": "f2-waiting is crowded (152 people, 84 % of capacity)",
            "value": 0.84,
            "threshold": 0.8,
            "raised_at": EXAMPLE_AT,
            "updated_at": EXAMPLE_AT,
            "acknowledged_at": EXAMPLE_AT,
            "acknowledged_by": "Nguyễn Văn An",
            "resolved_at": None,
            "resolved_by": None,
            "note": "opened counters 24 and 25",
            "notifications": 1,
            "escalated": False,
            "subject": "f2-waiting",
        }
    )
    id: str
    rule: str
    severity: Severity
    state: AlertState
    zone_id: str | None
    device_id: str | None
    message: str
    value: float | None
    threshold: float | None
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None = Field(description="what was done, each action ending with its audit stamp")
    notifications: int = Field(description="1 + re-notifications and escalations sent")
    escalated: bool = Field(description="severity raised one step: unacknowledged for too long")
    subject: str | None = Field(description="what the alert is about: zone, device or service id")


def alert_out(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.id,
        rule=a.rule,
        severity=a.severity,
        state=a.state,
        zone_id=a.zone_id,
        device_id=a.device_id,
        message=a.message,
        value=a.value,
        threshold=a.threshold,
        raised_at=a.raised_at,
        updated_at=a.updated_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        resolved_at=a.resolved_at,
        resolved_by=a.resolved_by,
        note=a.note,
        notifications=a.notifications,
        escalated=a.escalated,
        subject=a.subject,
    )


class AlertActionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "opened counters 24 and 25"}]}
    )
    note: str | None = Field(None, max_length=500, description="what was done; kept with the alert")
