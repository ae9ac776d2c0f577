"""Health (no token) and ``/metrics`` (Prometheus text format, any role).

- ``/health``: the API answers (kept as it was for existing probes: always "ok");
- ``/health/live``: the process is alive (its event loop answers): restart it if not;
- ``/health/ready``: the gateway does its job (MQTT, storage, cameras, fresh
  points), each check with its reason; 503 when one fails (api.readiness).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import Field

from api.deps import AUTH_RESPONSES, AppState, Reader, State
from api.readiness import CameraFact, Check, Readiness, assess
from api.schemas import HealthOut, Out, with_examples

router = APIRouter(tags=["system"])


class CheckOut(Out):
    name: str = Field(description="mqtt, storage, cameras, last_point (or gateway)")
    ok: bool
    reason: str


class ReadyOut(Out):
    model_config = with_examples(
        {
            "status": "not_ready",
            "time": "2026-12-01T09:30:00+07:00",
            "checks": [
                {"name": "mqtt", "ok": True, "reason": "connected to the broker"},
                {
                    "name": "storage",
                    "ok": False,
                    "reason": "InfluxDB refuses writes and the spool is filling;"
                    " spool 61.0 % full, warning at 50.0 %",
                },
                {"name": "cameras", "ok": True, "reason": "2 of 2 online"},
                {"name": "last_point", "ok": False, "reason": "last point stored 900 s ago"},
            ],
        }
    )
    status: Literal["ready", "not_ready"]
    time: datetime
    checks: list[CheckOut]


_NO_GATEWAY = Readiness((Check("gateway", False, "no gateway behind this API"),))


@router.get("/health", summary="The API answers (no token needed; see /health/ready)")
async def health(state: State) -> HealthOut:
    return HealthOut(status="ok", time=state.clock())


@router.get("/health/live", summary="Liveness: the process answers (no token needed)")
async def live(state: State) -> HealthOut:
    return HealthOut(status="alive", time=state.clock())


@router.get(
    "/health/ready",
    summary="Readiness: MQTT, storage, cameras, fresh points, with reasons (no token needed)",
    responses={503: {"model": ReadyOut, "description": "not ready: see the failed checks"}},
)
async def ready(state: State, response: Response) -> ReadyOut:
    verdict = readiness(state)
    if not verdict.ready:
        response.status_code = 503
    return ReadyOut(
        status="ready" if verdict.ready else "not_ready",
        time=state.clock(),
        checks=[CheckOut(name=c.name, ok=c.ok, reason=c.reason) for c in verdict.checks],
    )


def readiness(state: AppState) -> Readiness:
    if state.readiness is None:
        return _NO_GATEWAY
    health = {d.device_id: d for d in state.floor.devices()}
    cameras = [
        CameraFact(c.id, (h := health.get(c.id)) is not None and h.online)
        for c in state.site.cameras
    ]
    facts = state.readiness.readiness_facts()
    return assess(facts, cameras, max_point_age_s=state.config.ready_max_point_age_s)


@router.get(
    "/metrics",
    summary="The gateway's figures in Prometheus text format",
    response_class=Response,
    responses={
        **AUTH_RESPONSES,
        200: {"content": {"text/plain": {}}, "description": "Prometheus exposition format"},
    },
)
async def metrics(state: State, _: Reader) -> Response:
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
