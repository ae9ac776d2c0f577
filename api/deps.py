"""The app's state and its typed dependencies: who is asking, may they, and what they reach.

Dependencies and handlers are ``async def``: they run on the event loop, where
the engine keeps its state, so reading the FloorService needs no lock and
costs no thread-pool hop. Nothing here blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from api.auth import FailureLimiter, Permission, Principal, SessionStore, TokenBook
from api.events import FrameCache, RenderCache
from api.history import HistorySource
from api.metrics import ApiMetrics
from api.readiness import ReadinessSource
from api.schemas import ErrorBody
from api.session_file import SessionFile
from gateway.live import FloorService
from gateway.settings import ApiConfig, Settings

log = structlog.get_logger("floorwatch.api")


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "details"}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


@dataclass(slots=True, kw_only=True)
class AuthState:
    """What logging in and checking a token need: the part of an app's state every
    floorwatch web service shares (the control room's AppState, the province's)."""

    config: ApiConfig
    metrics: ApiMetrics
    tokens: TokenBook
    sessions: SessionStore
    limiter: FailureLimiter
    clock: Callable[[], datetime]
    registry: CollectorRegistry
    session_file: SessionFile | None = None

    def now_s(self) -> float:
        return self.clock().timestamp()

    async def save_sessions(self) -> None:
        """Keep the sessions for the next start (after a login or logout); never fails the call."""
        if self.session_file is None:
            return
        entries = self.sessions.entries(self.now_s())
        try:
            await asyncio.to_thread(self.session_file.write, entries)
        except OSError as exc:
            log.error("api.sessions_not_saved", path=str(self.session_file.path), reason=str(exc))


@dataclass(slots=True, kw_only=True)
class AppState(AuthState):
    site: Settings
    floor: FloorService
    history: HistorySource
    frames: FrameCache = field(default_factory=FrameCache)
    renders: RenderCache = field(default_factory=RenderCache)
    streams: set[asyncio.Queue[Any]] = field(default_factory=set)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    stream_clients: int = 0
    readiness: ReadinessSource | None = None  # the gateway's facts for /health/ready


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.floorwatch
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_auth_state(request: Request) -> AuthState:
    state: AuthState = request.app.state.floorwatch
    return state


#: The state of whichever app serves the request (control room or province): for login.
Auth = Annotated[AuthState, Depends(get_auth_state)]

SECURITY_SCHEMES = {
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token: Authorization: Bearer <token>",
    },
    "APIKeyCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "floorwatch_session",
        "description": "the control-room session (POST /api/v1/session)",
    },
}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check_not_locked(state: AuthState, client: str) -> None:
    wait = state.limiter.retry_after(client, state.now_s())
    if wait is not None:
        state.metrics.auth_failures.labels("locked_out").inc()
        raise ApiError(
            429,
            "too_many_attempts",
            "too many failed attempts from this address; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


def token_failed(state: AuthState, client: str) -> ApiError:
    state.metrics.auth_failures.labels("bad_token").inc()
    if state.limiter.failed(client, state.now_s()):
        log.warning("api.client_locked_out", client=client, seconds=state.config.auth_lockout_s)
    else:
        log.info("api.auth_failed", client=client)
    return ApiError(401, "unauthorized", "the token is not valid", headers=_CHALLENGE)


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="floorwatch"'}


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _authenticate(request: Request, state: AuthState) -> Principal:
    """The caller, from a bearer token or the session cookie; 401/429 otherwise."""
    client = client_address(request)
    check_not_locked(state, client)
    token = _bearer_token(request)
    if token is not None:
        principal = state.tokens.authenticate(token)
        if principal is None:
            raise token_failed(state, client)
        return principal
    session_id = request.cookies.get(state.config.cookie_name)
    if session_id:
        principal = state.sessions.get(session_id, state.now_s())
        if principal is not None:
            _check_same_origin(request)
            return principal
        state.metrics.auth_failures.labels("expired_session").inc()
        raise ApiError(401, "session_expired", "the session has expired; log in again")
    state.metrics.auth_failures.labels("missing").inc()
    raise ApiError(401, "unauthorized", "a token is required", headers=_CHALLENGE)


async def authenticate(request: Request) -> Principal:
    return _authenticate(request, request.app.state.floorwatch)


def _check_same_origin(request: Request) -> None:
    """Cookie-authenticated writes must come from our own page (SameSite=Strict is the first line)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin != own:
        raise ApiError(403, "cross_origin", "a session may only be used from its own page")


Caller = Annotated[Principal, Depends(authenticate)]


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """One flat dependency per permission: each dependency costs on every request, so the
    token and cookie are read here rather than by FastAPI's security classes (the OpenAPI
    security schemes are added by ``api.app``)."""

    async def check(request: Request) -> Principal:
        principal = _authenticate(request, request.app.state.floorwatch)
        if not principal.may(permission):
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role.value!r} may not do this (needs {permission.value!r})",
            )
        return principal

    return check


Reader = Annotated[Principal, Depends(require(Permission.READ))]
AlertWriter = Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))]
ClimateReader = Annotated[Principal, Depends(require(Permission.CLIMATE))]

_ERR: dict[str, Any] = {"model": ErrorBody}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {**_ERR, "description": "no token, or not a valid one"},
    403: {**_ERR, "description": "the role may not do this"},
    429: {**_ERR, "description": "too many failed attempts from this address"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {**_ERR, "description": "no such object"}}
BAD_BODY: dict[int | str, dict[str, Any]] = {400: {**_ERR, "description": "the body is not JSON"}}
