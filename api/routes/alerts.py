"""Alerts: list with filters, one by id, acknowledge and resolve with a note (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from api.auth import Principal
from api.deps import (
    AUTH_RESPONSES,
    BAD_BODY,
    NOT_FOUND,
    AlertWriter,
    ApiError,
    AppState,
    Reader,
    State,
    client_address,
    log,
)
from api.schemas import AlertActionIn, AlertOut, ErrorBody, alert_out
from api.timebounds import BoundedDateTime
from gateway.live import Alert, AlertNotFound, AlertState, AlertTransitionError, Severity

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
AlertId = Annotated[str, Path(min_length=1, max_length=200)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "not allowed from the alert's state"}
}


def _find(state: AppState, alert_id: str) -> Alert:
    for a in state.floor.alerts(include_resolved=True):
        if a.id == alert_id:
            return a
    raise ApiError(404, "alert_not_found", f"no alert {alert_id!r}")


@router.get("", summary="Alerts, newest and most severe first", responses=AUTH_RESPONSES)
async def list_alerts(
    state: State,
    _: Reader,
    alert_state: Annotated[
        list[AlertState] | None,
        Query(alias="state", description="repeatable; default: active and acknowledged"),
    ] = None,
    zone: Annotated[str | None, Query(description="only alerts of this zone")] = None,
    severity: Annotated[list[Severity] | None, Query(description="repeatable")] = None,
    since: Annotated[BoundedDateTime | None, Query(description="raised at or after")] = None,
    until: Annotated[BoundedDateTime | None, Query(description="raised before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertOut]:
    states = set(alert_state or (AlertState.ACTIVE, AlertState.ACKNOWLEDGED))
    if (since is not None and since.tzinfo is None) or (until is not None and until.tzinfo is None):
        raise ApiError(422, "invalid_range", "since and until need a time zone offset")
    chosen = [
        a
        for a in state.floor.alerts(include_resolved=AlertState.RESOLVED in states)
        if a.state in states
        and (zone is None or a.zone_id == zone)
        and (severity is None or a.severity in severity)
        and (since is None or a.raised_at >= since)
        and (until is None or a.raised_at < until)
    ]
    chosen.sort(key=lambda a: (a.raised_at.timestamp(), -_SEVERITY_RANK[a.severity]), reverse=True)
    return [alert_out(a) for a in chosen[:limit]]


@router.get("/{alert_id}", summary="One alert", responses={**AUTH_RESPONSES, **NOT_FOUND})
async def get_alert(alert_id: AlertId, state: State, _: Reader) -> AlertOut:
    return alert_out(_find(state, alert_id))


def audited_note(
    note: str | None, verb: str, principal: Principal, client: str, at: datetime
) -> str:
    """The note kept with the alert, ending with who did what, when and from where."""
    stamp = f"[{verb} by {principal.name} ({principal.role.value}) from {client} at {at.isoformat(timespec='seconds')}]"
    text = (note or "").strip()
    return f"{text} {stamp}" if text else stamp


async def _act(
    verb: str,
    alert_id: str,
    body: AlertActionIn | None,
    request: Request,
    state: AppState,
    principal: Principal,
) -> AlertOut:
    client = client_address(request)
    at = state.clock()
    note = audited_note(body.note if body else None, verb, principal, client, at)
    action = state.floor.acknowledge if verb == "acknowledged" else state.floor.resolve
    try:
        alert = await action(alert_id, by=principal.name, note=note)
    except AlertNotFound as exc:
        raise ApiError(404, "alert_not_found", f"no alert {alert_id!r}") from exc
    except AlertTransitionError as exc:
        raise ApiError(409, "invalid_transition", str(exc) or "not allowed now") from exc
    state.metrics.alert_actions.labels(verb).inc()
    log.info(
        "api.alert_" + verb,
        alert=alert_id,
        by=principal.name,
        role=principal.role.value,
        client=client,
        at=at.isoformat(),
        note=body.note if body else None,
    )
    return alert_out(alert)


@router.post(
    "/{alert_id}/acknowledge",
    summary="Acknowledge an alert (supervisor): who, when and from where are kept",
    responses={**AUTH_RESPONSES, **NOT_FOUND, **CONFLICT, **BAD_BODY},
)
async def acknowledge(
    alert_id: AlertId,
    request: Request,
    state: State,
    principal: AlertWriter,
    body: AlertActionIn | None = None,
) -> AlertOut:
    return await _act("acknowledged", alert_id, body, request, state, principal)


@router.post(
    "/{alert_id}/resolve",
    summary="Resolve an alert (supervisor)",
    responses={**AUTH_RESPONSES, **NOT_FOUND, **CONFLICT, **BAD_BODY},
)
async def resolve(
    alert_id: AlertId,
    request: Request,
    state: State,
    principal: AlertWriter,
    body: AlertActionIn | None = None,
) -> AlertOut:
    return await _act("resolved", alert_id, body, request, state, principal)
