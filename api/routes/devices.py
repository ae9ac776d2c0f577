"""Cameras and sensors with their health; never credentials, hosts or stream URLs."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AUTH_RESPONSES, AppState, Reader, State
from api.schemas_devices import CameraOut, HealthState, SensorOut, health_state
from gateway.logs import scrub_text
from gateway.observations import DeviceHealth

router = APIRouter(prefix="/api/v1", tags=["devices"])


def _health(state: AppState) -> dict[str, DeviceHealth]:
    return {d.device_id: d for d in state.floor.devices()}


def _health_out(d: DeviceHealth | None) -> HealthState | None:
    return None if d is None else health_state(d, scrub_text(d.detail))


@router.get(
    "/cameras", summary="Cameras, the zones they count, and their health", responses=AUTH_RESPONSES
)
async def cameras(state: State, _: Reader) -> list[CameraOut]:
    health = _health(state)
    return [
        CameraOut(
            id=c.id,
            name=c.name,
            zones=sorted({roi.zone for roi in c.rois}),
            analysis_fps=c.analysis_fps,
            health=_health_out(health.get(c.id)),
        )
        for c in state.site.cameras
    ]


@router.get("/sensors", summary="Sensors and their health", responses=AUTH_RESPONSES)
async def sensors(state: State, _: Reader) -> list[SensorOut]:
    health = _health(state)
    return [
        SensorOut(
            id=s.id,
            kind=s.kind.value,
            decoder=s.decoder,
            zone=s.zone,
            door=s.door,
            interval_s=s.interval_s,
            health=_health_out(health.get(s.id)),
        )
        for s in state.site.sensors
    ]
