"""The FastAPI app, built by ``create_app`` from the gateway's collaborators. No module-level app."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.auth import FailureLimiter, SessionStore, TokenBook
from api.body_limit import BodyLimitMiddleware
from api.deps import SECURITY_SCHEMES, ApiError, AppState, log
from api.history import HistorySource
from api.metrics import ApiMetrics, FloorCollector
from api.readiness import ReadinessSource
from api.routes import (
    alerts,
    dead_letters,
    devices,
    ingest,
    notifications,
    planning,
    reports,
    session,
    site,
    stream,
    system,
    zones,
)
from api.schemas import ErrorBody, ErrorDetail
from api.session_file import SessionFile
from gateway.influx_query import HistoryError
from gateway.live import FloorService
from gateway.settings import ApiConfig, Settings

STATIC_DIR = Path(__file__).parent / "static"
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        b" connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]


def new_session_id() -> str:
    """A login session's id: 256 random bits from the OS, URL-safe."""
    return secrets.token_urlsafe(32)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: ApiConfig,
    site_settings: Settings,
    floor: FloorService,
    history: HistorySource,
    registry: CollectorRegistry,
    *,
    clock: Callable[[], datetime] = utc_now,
    token_key: bytes | None = None,
    sessions_path: Path | None = None,
    readiness: ReadinessSource | None = None,
) -> FastAPI:
    """The API and the control-room page over ``floor`` (live) and ``history`` (InfluxDB).

    ``registry`` receives the API's own metrics and a collector of the floor's
    figures; ``/metrics`` serves everything registered in it. ``token_key`` is
    the key the tokens are hashed under (default: random per process). The
    planning routes answer 503 until the composition root sets
    ``app.state.planning`` (a ``gateway.planning.service.PlanningService``).
    ``sessions_path``: where login sessions are kept across restarts (none: in
    memory only). ``readiness``: the gateway's facts for ``/health/ready`` (none:
    it answers 503, no gateway behind the API).

    Middleware, outermost first: forwarded headers from ``config.trusted_proxies``
    only, metrics and security headers, CORS, the request-body cap.
    """
    if not config.tokens:
        log.warning("api.no_tokens", hint="add api.tokens to the site file: nobody can log in")
    metrics = ApiMetrics(registry)
    registry.register(FloorCollector(floor))
    state = AppState(
        site=site_settings,
        floor=floor,
        history=history,
        metrics=metrics,
        clock=clock,
        registry=registry,
        readiness=readiness,
        **auth_parts(config, token_key, sessions_path),
    )
    if state.session_file is not None:
        kept = state.sessions.load(state.session_file.read(), state.now_s(), state.tokens.accepts)
        log.info("api.sessions_restored", sessions=kept)
    app = FastAPI(
        title="floorwatch",
        version="1.0",
        summary="Live crowd picture, alerts and history of a public-administration service center",
        description="Every endpoint but the health checks needs a token: `Authorization: Bearer <token>`,"
        " or the session cookie set by `POST /api/v1/session`. See docs/api.md.",
        openapi_tags=[{"name": n} for n in ("system", "session", "site", "zones", "alerts")],
        # Swagger UI and ReDoc load their scripts from a CDN: not in an offline control room,
        # and not under our Content-Security-Policy. The schema stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.floorwatch = state
    for module in (
        system,
        session,
        site,
        zones,
        alerts,
        notifications,
        devices,
        dead_letters,
        stream,
        planning,
        reports,
        ingest,
    ):
        app.include_router(module.router, responses={422: {"model": ErrorBody}})
    install_common(app, config, metrics, stream_paths=frozenset({"/api/v1/stream"}))
    _add_static(app)
    return app


def auth_parts(
    config: ApiConfig, token_key: bytes | None, sessions_path: Path | None
) -> dict[str, Any]:
    """The login side of an app's state (``AuthState``'s fields but metrics, clock and registry):
    the hashed tokens, the sessions (kept in ``sessions_path`` across restarts) and the limiter."""
    return {
        "config": config,
        "tokens": TokenBook(config.tokens, token_key or secrets.token_bytes(32)),
        "sessions": SessionStore(
            ttl_s=config.session_ttl_s, max_sessions=config.max_sessions, new_id=new_session_id
        ),
        "limiter": FailureLimiter(
            max_failures=config.auth_max_failures,
            window_s=config.auth_window_s,
            lockout_s=config.auth_lockout_s,
        ),
        "session_file": SessionFile(sessions_path) if sessions_path is not None else None,
    }


def install_common(
    app: FastAPI, config: ApiConfig, metrics: ApiMetrics, *, stream_paths: frozenset[str]
) -> None:
    """What every floorwatch web service has, after its routers are included: the security
    schemes in the OpenAPI, the error format, and the middleware, outermost first:
    forwarded headers from ``config.trusted_proxies`` only, metrics and security headers,
    CORS, the request-body cap. ``stream_paths``: the live streams (not cached, not timed)."""
    _add_security_to_openapi(app)
    _add_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            allow_credentials=False,
        )
    app.add_middleware(ObservedMiddleware, metrics=metrics, stream_paths=stream_paths)
    if config.trusted_proxies:
        # X-Forwarded-For / -Proto are believed only from these peers: the client address
        # (the login lockout counts by it) and the scheme (same-origin check) become the
        # real client's; from anyone else the headers are ignored.
        app.add_middleware(
            ProxyHeadersMiddleware, trusted_hosts=[str(n) for n in config.trusted_proxies]
        )


def _add_security_to_openapi(app: FastAPI) -> None:
    """Declare the bearer token and the session cookie on every operation that needs them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemes = {k: dict(v) for k, v in SECURITY_SCHEMES.items()}
        schemes["APIKeyCookie"]["name"] = app.state.floorwatch.config.cookie_name
        schema.setdefault("components", {})["securitySchemes"] = schemes
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                public = (path, method) == ("/api/v1/session", "post")
                if "401" in operation.get("responses", {}) and not public:
                    # an operation that states its own (the ingest: a token, no cookie) keeps it
                    operation.setdefault("security", [{"HTTPBearer": []}, {"APIKeyCookie": []}])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_static(app: FastAPI) -> None:
    app.mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)


def _error(status: int, code: str, message: str, **kwargs: Any) -> JSONResponse:
    details = kwargs.pop("details", None)
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(), status_code=status, headers=kwargs.get("headers"))


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, headers=exc.headers, details=exc.details)

    @app.exception_handler(HistoryError)
    async def history_unavailable(request: Request, exc: HistoryError) -> JSONResponse:
        # zone history, staffing plans, backtests, HVAC advice: InfluxDB is the source.
        # The reason (with InfluxDB's address) goes to the log, not to the client.
        log.warning("api.history_unavailable", path=request.url.path, reason=str(exc))
        return _error(
            503,
            "history_unavailable",
            "the history store (InfluxDB) did not answer the query; try again later",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        headers = exc.headers
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route that matched the path
            # only; a path served by several routes (GET, POST, DELETE /api/v1/session) has all.
            headers = {**(headers or {}), "Allow": _allowed_methods(app, request.url.path)}
        return _error(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input back: a login body holds a token.
        details = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = details[0] if details else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        message = f"the request is not valid: {where}: {first['msg']}" if first else ""
        return _error(
            422, "invalid_request", message or "the request is not valid", details=details
        )


def _allowed_methods(app: FastAPI, path: str) -> str:
    """The methods the OpenAPI schema lists for ``path`` (HEAD with GET), for ``Allow``."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


class ObservedMiddleware:
    """Counts requests per route template, times them, and adds security headers."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ApiMetrics,
        stream_paths: frozenset[str] = frozenset({"/api/v1/stream"}),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.stream_paths = stream_paths
        # (route, method, status) -> metric children; labels() costs more than inc()
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        is_api = scope["path"].startswith("/api/")

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(_SECURITY_HEADERS)
                if is_api and scope["path"] not in self.stream_paths:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            key = (template, scope["method"], status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.metrics.requests.labels(template, scope["method"], str(status)),
                    self.metrics.latency.labels(template),
                )
            children[0].inc()
            if template not in self.stream_paths:
                children[1].observe(time.perf_counter() - started)
