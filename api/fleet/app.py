"""The province page's web service, built by ``create_fleet_app``. No module-level app.

It shares the control room's conventions through ``api.app`` and ``api.deps``:
the tokens and roles, the login session (``/api/v1/session``, cookie, same-origin
check, failed-login limiter), the error format, the body cap, the security
headers and the OpenAPI security schemes. Its own routes are under
``/api/v1/fleet``; the page is ``/ui/province/`` (``api/static/province``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from api.app import STATIC_DIR, auth_parts, install_common, utc_now
from api.deps import log
from api.fleet import routes, stream
from api.fleet.state import BoardView, FleetState
from api.fleet.store import MonthSource
from api.metrics import ApiMetrics
from api.routes import session
from api.schemas import ErrorBody
from gateway.fleet.central_config import OverviewConfig
from gateway.fleet.overview import CERT_WARN_DAYS, Registered

STREAM_PATH = "/api/v1/fleet/stream"


def create_fleet_app(
    config: Any,
    board: BoardView,
    months: MonthSource,
    registry: CollectorRegistry,
    *,
    sites: Sequence[Registered] = (),
    overview: OverviewConfig | None = None,
    cert_warn_days: float = CERT_WARN_DAYS,
    clock: Callable[[], datetime] = utc_now,
    token_key: bytes | None = None,
    sessions_path: Path | None = None,
) -> FastAPI:
    """The province API and page over ``board`` (live states) and ``months`` (central store).

    ``config`` is an ``ApiConfig`` (the central file's ``api:``); ``cert_warn_days`` the
    central file's ``nats.cert_warn_days`` (a center's certificate is shown within it).
    """
    if not config.tokens:
        log.warning("api.no_tokens", hint="add api.tokens to the central file: nobody can log in")
    metrics = ApiMetrics(registry)
    state = FleetState(
        board=board,
        months=months,
        sites=tuple(sites),
        overview=overview or OverviewConfig(),
        cert_warn_days=cert_warn_days,
        metrics=metrics,
        clock=clock,
        registry=registry,
        **auth_parts(config, token_key, sessions_path),
    )
    if state.session_file is not None:
        kept = state.sessions.load(state.session_file.read(), state.now_s(), state.tokens.accepts)
        log.info("api.sessions_restored", sessions=kept)
    app = FastAPI(
        title="floorwatch province",
        version="1.0",
        summary="Every public-administration service center of a province on one screen",
        description="Every endpoint but the health checks needs a token: `Authorization: Bearer"
        " <token>`, or the session cookie set by `POST /api/v1/session`. See docs/fleet.md.",
        openapi_tags=[{"name": n} for n in ("system", "session", "fleet")],
        docs_url=None,
        redoc_url=None,
    )
    app.state.floorwatch = state
    for router in (routes.system, session.router, routes.router, stream.router):
        app.include_router(router, responses={422: {"model": ErrorBody}})
    install_common(app, config, metrics, stream_paths=frozenset({STREAM_PATH}))
    app.mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/province/", status_code=307)

    return app
