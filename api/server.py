"""Run the API as one task of the gateway: ``await serve_api(app, config)``. Shell module.

uvicorn's own signal handling is switched off (the gateway's composition root
owns SIGINT/SIGTERM); cancelling the task is the way to stop it: open live
streams are ended, requests in flight get ``shutdown_timeout_s`` to finish,
then the task re-raises the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
from collections.abc import Callable, Generator

import structlog
import uvicorn
from fastapi import FastAPI

from api.deps import AppState
from api.routes.stream import close_streams
from gateway.settings import ApiConfig

log = structlog.get_logger("floorwatch.api")


class ApiStartError(RuntimeError):
    """uvicorn could not start (the port is taken, say)."""


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[int], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the gateway handles signals and cancels us

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            port = self.servers[0].sockets[0].getsockname()[1] if self.servers else 0
            log.info("api.started", host=self.config.host, port=port)
            if self._on_started is not None:
                self._on_started(port)


async def _run(server: _Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        raise ApiStartError(f"the API could not start on port {server.config.port}") from exc
    if not server.started:
        raise ApiStartError(f"the API could not start on port {server.config.port}")


async def serve_api(
    app: FastAPI, config: ApiConfig, *, on_started: Callable[[int], None] | None = None
) -> None:
    """Serve ``app`` on ``config.host:config.port`` until cancelled.

    ``on_started(port)`` is called once it listens (the port that was bound, useful with port 0).
    """
    server = _Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=math.ceil(config.shutdown_timeout_s),
        ),
        on_started,
    )
    task = asyncio.create_task(_run(server), name="uvicorn")
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        state = getattr(app.state, "floorwatch", None)
        if isinstance(state, AppState):
            close_streams(state)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.info("api.stopped")
        raise
