"""``POST /api/v1/ingest/tickets/{source}``: a ticket system's webhook, answered once durable.

For ticket systems that can only call a URL. Each source of ``ingest.tickets``
has its own credential (``api.ingest_auth``): its ingest token (good for this
route and this source only) and/or an HMAC-SHA256 signature of the raw body.
Session cookies are not read here, and no API token (viewer ... admin) may
post: 403. Answers:

- 200: every event is stored (durable: in InfluxDB or the spool), ignored by
  the mapping, or a duplicate of one seen before (a retry: counted once);
- 422 ``events_rejected``: some events do not fit the mapping; each one's
  reason is in ``details`` and it is in the dead letters (the others are
  stored as for a 200). Sending them again changes nothing;
- 400 the body is not JSON; 413 more than ``ingest.max_events`` events (or
  a body over ``api.max_body_bytes``); both kept in the dead letters;
- 503 ``storage_unavailable`` with Retry-After: the events could not be made
  durable within ``ingest.answer_within_s``; send them again, they are counted once;
- 401 / 403 / 429 / 404 as everywhere.

The composition root calls ``attach_ingest`` with the gateway's ``TicketIngest``;
without it (an API with no gateway behind it) the route answers 503.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, FastAPI, Path, Request
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field

from api.deps import (
    _CHALLENGE,
    AUTH_RESPONSES,
    ApiError,
    AppState,
    State,
    _bearer_token,
    check_not_locked,
    client_address,
)
from api.ingest_auth import IngestKeys, Verdict
from api.schemas import ErrorBody
from gateway.ingest_events import BodyError, Fate
from gateway.settings import ID_PATTERN
from gateway.ticket_ingest import IngestResult, TicketIngest, Unavailable

log = structlog.get_logger("floorwatch.api")
router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])

_ERR: dict[str, Any] = {"model": ErrorBody}
_EVENT = {
    "type": "object",
    "description": "one event as the ticket system sends it, read by the source's mapping",
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _EVENT,
                        {"type": "array", "items": _EVENT, "minItems": 1, "maxItems": 1000},
                    ]
                },
                "example": {
                    "event": "called",
                    "ticket": "A012",
                    "service": "land",
                    "counter": 3,
                    "ts": "2026-11-22T01:15:03Z",
                },
            }
        },
    },
    # the source's ingest token; a signature header, when the source has a secret, is
    # named per source (docs/api.md) and cannot be declared here
    "security": [{"HTTPBearer": []}],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {**_ERR, "description": "the body is not JSON (kept in the dead letters)"},
    404: {**_ERR, "description": "no such ticket source"},
    413: {**_ERR, "description": "too many events, or a body too large"},
    422: {**_ERR, "description": "events that do not fit the mapping: details, one per event"},
    503: {
        **_ERR,
        "description": "not durable in time (retry after Retry-After), or no gateway behind",
    },
}


class EventOut(BaseModel):
    index: int = Field(description="the event's place in the request (0 for a single event)")
    status: Literal["stored", "ignored", "rejected"] = Field(
        description="stored (durable), ignored (the mapping says: not a ticket's step)"
        " or rejected (in the dead letters; reason says why)"
    )
    duplicate: bool = Field(description="seen before within the window: counted once")
    reason: str | None = Field(None, description="why it was rejected")


class IngestOut(BaseModel):
    source: str
    stored: int = Field(description="events stored by this request")
    duplicates: int = Field(description="events seen before (a retry): not stored again")
    ignored: int = Field(description="events the mapping ignores")
    events: list[EventOut]


def attach_ingest(app: FastAPI, ingest: TicketIngest, *, key: bytes | None = None) -> None:
    """Serve ``ingest``'s sources on this app, with their metrics in ``/metrics``."""
    state: AppState = app.state.floorwatch
    app.state.ingest = ingest
    app.state.ingest_keys = IngestKeys(ingest.config.tickets, key or secrets.token_bytes(32))
    state.registry.register(IngestCollector(ingest))


@router.post(
    "/tickets/{source}",
    summary="A ticket system's events (one, or an array): answered once they are durable",
    responses=_RESPONSES,
    openapi_extra=_BODY,
)
async def post_tickets(
    source: Annotated[str, Path(pattern=ID_PATTERN, description="the ticket source's id")],
    request: Request,
    state: State,
) -> IngestOut:
    client = client_address(request)
    check_not_locked(state, client)
    ingest: TicketIngest | None = getattr(request.app.state, "ingest", None)
    keys: IngestKeys | None = getattr(request.app.state, "ingest_keys", None)
    if ingest is None or keys is None:
        raise ApiError(503, "unavailable", "ticket ingest runs in the gateway (floorwatch run)")
    if source not in ingest or source not in keys:
        raise ApiError(404, "not_found", f"no ticket source {source!r} (ingest.tickets)")
    body = await request.body()
    bearer = _bearer_token(request)
    signature = request.headers.get(keys.signature_header(source))
    verdict = keys.check(source, bearer, signature, body)
    if verdict is not Verdict.OK:
        ingest.refused(source)
        raise _refusal(state, keys, verdict, source, client, bearer, signature is not None)
    try:
        result = await ingest.ingest(source, body)
    except BodyError as exc:
        if exc.too_many:
            raise ApiError(413, "too_many_events", exc.reason) from None
        raise ApiError(400, "bad_request", exc.reason) from None
    except Unavailable as exc:
        log.warning("ingest.unavailable", source=source, reason=str(exc))
        retry = str(ingest.config.retry_after_s)
        raise ApiError(
            503,
            "storage_unavailable",
            "the events could not be stored in time; send them again (they are counted once)",
            headers={"Retry-After": retry},
        ) from None
    out = _answer(result)
    if result.rejected:
        n = len(result.rejected)
        raise ApiError(
            422,
            "events_rejected",
            f"{n} of {len(result.events)} events do not fit the source's mapping (kept in the"
            " dead letters); the others are taken",
            details=[e.model_dump() for e in out.events],
        )
    return out


def _refusal(
    state: AppState,
    keys: IngestKeys,
    verdict: Verdict,
    source: str,
    client: str,
    bearer: str | None,
    signed: bool,
) -> ApiError:
    if verdict is Verdict.NOT_CONFIGURED:
        log.error("ingest.source_without_credential", source=source)
        return ApiError(
            503, "source_not_configured", "the source's credential is not loaded: see the log"
        )
    if bearer is not None:
        principal = state.tokens.authenticate(bearer)
        if principal is not None:
            state.metrics.auth_failures.labels("wrong_role").inc()
            return ApiError(
                403,
                "forbidden",
                f"role {principal.role.value!r} may not post events: a ticket source posts"
                " with its own ingest token",
            )
        if keys.is_ingest_token(bearer) and verdict is Verdict.BAD_TOKEN:
            state.metrics.auth_failures.labels("wrong_source").inc()
            return ApiError(403, "forbidden", "this ingest token belongs to another source")
    if verdict is Verdict.MISSING:  # not a guess: not counted against the address
        state.metrics.auth_failures.labels("missing").inc()
        what = "a token or signature" if bearer is None and not signed else "the signature"
        if bearer is None and signed:
            what = "the token"
        return ApiError(401, "unauthorized", f"{what} is required", headers=_CHALLENGE)
    reason = "bad_signature" if verdict is Verdict.BAD_SIGNATURE else "bad_token"
    state.metrics.auth_failures.labels(reason).inc()
    if state.limiter.failed(client, state.now_s()):
        log.warning("api.client_locked_out", client=client, seconds=state.config.auth_lockout_s)
    else:
        log.info("ingest.auth_failed", client=client, source=source, reason=verdict.value)
    message = {
        Verdict.BAD_TOKEN: "the token is not valid for this source",
        Verdict.BAD_SIGNATURE: "the signature does not match the body",
    }[verdict]
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


def _answer(result: IngestResult) -> IngestOut:
    events = [
        EventOut(
            index=e.index,
            status="ignored"
            if e.fate is Fate.IGNORED
            else "rejected"
            if e.fate is Fate.REJECTED
            else "stored",
            duplicate=e.duplicate,
            reason=e.reason,
        )
        for e in result.events
    ]
    return IngestOut(
        source=result.source_id,
        stored=sum(1 for e in events if e.status == "stored" and not e.duplicate),
        duplicates=sum(1 for e in events if e.duplicate),
        ignored=sum(1 for e in events if e.status == "ignored" and not e.duplicate),
        events=events,
    )


class IngestCollector(Collector):
    """``floorwatch_ingest_*{source}``: requests, events by outcome, 503s, refusals."""

    def __init__(self, ingest: TicketIngest) -> None:
        self._ingest = ingest

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "floorwatch_ingest_requests", "ingest requests per ticket source", labels=["source"]
        )
        events = CounterMetricFamily(
            "floorwatch_ingest_events",
            "posted events per ticket source, by outcome (stored, duplicate, ignored, rejected)",
            labels=["source", "outcome"],
        )
        unavailable = CounterMetricFamily(
            "floorwatch_ingest_unavailable",
            "requests answered 503: not durable in time",
            labels=["source"],
        )
        refused = CounterMetricFamily(
            "floorwatch_ingest_refused",
            "requests refused for their credentials (401, 403)",
            labels=["source"],
        )
        remembered = GaugeMetricFamily(
            "floorwatch_ingest_remembered_events",
            "events remembered to count a retry once",
            labels=["source"],
        )
        for source, s in self._ingest.stats().items():
            requests.add_metric([source], s.requests)
            for outcome, n in (
                ("stored", s.stored),
                ("duplicate", s.duplicates),
                ("ignored", s.ignored),
                ("rejected", s.rejected),
            ):
                events.add_metric([source, outcome], n)
            unavailable.add_metric([source], s.unavailable)
            refused.add_metric([source], s.refused)
            remembered.add_metric([source], self._ingest.remembered(source))
        yield from (requests, events, unavailable, refused, remembered)
