"""Dead letters: the payloads the gateway could not decode, for supervisors and admins.

``GET /api/v1/dead-letters`` answers the newest letters (optionally of one
sensor) and the count per sensor since the gateway started. The roles that
act on faults may read it: supervisor and admin (the ``alerts:write``
permission); a viewer, manager or facility token gets 403. A payload is
shown as text (first 1 KiB, invalid UTF-8 replaced) with anything that looks
like a credential scrubbed, never as raw bytes.

The letters come from the hub's ``DeadLetters`` (memory: the newest
``gateway.dead_letter_size``), which the composition root sets as
``app.state.dead_letters``; without it (an API with no gateway behind it) the
endpoint answers 503. ``DecodeErrorCollector`` gives ``/metrics`` the same
per-sensor counts as ``floorwatch_sensor_decode_errors_total{sensor}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field

from api.auth import Permission, Principal
from api.deps import AUTH_RESPONSES, ApiError, require
from api.schemas import ErrorBody
from gateway.dead_letters import DeadLetter, DeadLetters
from gateway.logs import scrub_text

router = APIRouter(prefix="/api/v1", tags=["devices"])
Operator = Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))]
PREVIEW_BYTES = 1024
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "no gateway behind the API (dead letters not kept)"}
}


class DeadLetterOut(BaseModel):
    at: datetime = Field(description="when the gateway received the payload (UTC)")
    topic: str
    sensor: str | None = Field(description="the sensor it was decoded for; null: no sensor")
    reason: str = Field(description="why it could not be decoded")
    payload_bytes: int = Field(description="the payload's size")
    payload_preview: str = Field(
        description="the first 1 KiB as text (invalid UTF-8 replaced, credentials scrubbed)"
    )


class SensorCount(BaseModel):
    sensor: str
    count: int = Field(description="dead letters of this sensor since the gateway started")


class DeadLettersOut(BaseModel):
    total: int = Field(description="dead letters since the gateway started, all sensors")
    per_sensor: list[SensorCount] = Field(description="most first")
    letters: list[DeadLetterOut] = Field(description="newest first, at most 'limit'")


def _letter(d: DeadLetter) -> DeadLetterOut:
    text = d.payload[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return DeadLetterOut(
        at=d.at,
        topic=d.topic,
        sensor=d.sensor_id,
        reason=scrub_text(d.reason),
        payload_bytes=len(d.payload),
        payload_preview=scrub_text(text),
    )


def _dead_letters(request: Request) -> DeadLetters:
    dead: DeadLetters | None = getattr(request.app.state, "dead_letters", None)
    if dead is None:
        raise ApiError(503, "unavailable", "dead letters are kept by the gateway (floorwatch run)")
    return dead


@router.get(
    "/dead-letters",
    summary="Payloads that could not be decoded, newest first, and the count per sensor",
    responses={**AUTH_RESPONSES, **_UNAVAILABLE},
)
async def dead_letters(
    request: Request,
    _: Operator,
    sensor: Annotated[str | None, Query(max_length=64, description="only this sensor's")] = None,
    limit: Annotated[int, Query(ge=0, le=1000, description="letters to return")] = 100,
) -> DeadLettersOut:
    dead = _dead_letters(request)
    letters: list[DeadLetterOut] = []
    for d in reversed(dead.recent):  # on the loop, where the hub records: no lock needed
        if len(letters) >= limit:
            break
        if sensor is None or d.sensor_id == sensor:
            letters.append(_letter(d))
    counts = sorted(dead.per_sensor.items(), key=lambda kv: (-kv[1], kv[0]))
    return DeadLettersOut(
        total=dead.total,
        per_sensor=[SensorCount(sensor=s, count=n) for s, n in counts],
        letters=letters,
    )


class DecodeErrorCollector(Collector):
    """``floorwatch_sensor_decode_errors_total{sensor}``: dead letters per sensor."""

    def __init__(self, dead: DeadLetters) -> None:
        self._dead = dead

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "floorwatch_sensor_decode_errors",
            "payloads of a sensor that could not be decoded (dead letters), since start",
            labels=["sensor"],
        )
        for sensor, count in list(self._dead.per_sensor.items()):
            family.add_metric([sensor], count)
        yield family
