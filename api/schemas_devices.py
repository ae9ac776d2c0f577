"""Response models of devices and of the live stream, and their conversions. Pure module."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas import EXAMPLE_AT, AlertOut, Out, ZoneOut, with_examples
from gateway.observations import DeviceHealth

# --------------------------------------------------------------------------- devices


class HealthState(Out):
    online: bool
    at: datetime
    detail: str
    battery_pct: float | None = None
    linkquality: float | None = None
    fps: float | None = None
    latency_ms: float | None = None


class CameraOut(Out):
    model_config = with_examples(
        {
            "id": "cam-f2-1",
            "name": "Sảnh chờ 1",
            "zones": ["f2-waiting"],
            "analysis_fps": 2.0,
            "health": {
                "online": True,
                "at": EXAMPLE_AT,
                "detail": "",
                "fps": 2.0,
                "latency_ms": 180,
            },
        }
    )
    id: str
    name: str
    zones: list[str] = Field(description="zones the camera counts (its regions of interest)")
    analysis_fps: float
    health: HealthState | None = Field(description="null: no report yet")


class SensorOut(Out):
    id: str
    kind: str
    decoder: str
    zone: str | None
    door: str | None
    interval_s: float
    health: HealthState | None = Field(description="null: no report yet")


class DeviceOut(Out):
    device_id: str
    kind: str
    health: HealthState


def health_state(d: DeviceHealth, detail: str) -> HealthState:
    return HealthState(
        online=d.online,
        at=d.at,
        detail=detail,
        battery_pct=d.battery_pct,
        linkquality=d.linkquality,
        fps=d.fps,
        latency_ms=d.latency_ms,
    )


class LiveEventOut(Out):
    """The data of one live-stream event (SSE ``event:`` zone, alert or device; ``id:`` seq)."""

    seq: int
    kind: str
    at: datetime
    transition: str | None = None
    zone: ZoneOut | None = None
    alert: AlertOut | None = None
    device: DeviceOut | None = None


class SnapshotOut(Out):
    """The first event of a fresh stream (SSE ``event: snapshot``): the whole live picture."""

    at: datetime
    zones: list[ZoneOut]
    alerts: list[AlertOut]
    devices: list[DeviceOut]
