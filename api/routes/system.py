"""``/health`` (no auth) and ``/metrics`` (Prometheus text format, any role)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import AUTH_RESPONSES, Reader, State
from api.schemas import HealthOut

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness of the API (no token needed)")
async def health(state: State) -> HealthOut:
    return HealthOut(status="ok", time=state.clock())


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
