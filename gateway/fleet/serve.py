"""``floorwatch fleet serve``: the province page's composition root. Shell module.

    floorwatch fleet serve -c central.yaml [--log-json]

One process: the ``fleet_sites`` watch (``SiteBoard``), the central store's
month reader, and the web service (``api.fleet.app``) under one TaskGroup.
Stateless: run it beside ``fleet run`` (or on another machine reaching the
same NATS and central store); several behind a proxy answer the same.
Exit 2: a bad central file; 1: the port cannot be bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import structlog
import typer
from prometheus_client import CollectorRegistry

from api.app import utc_now
from api.fleet.app import create_fleet_app
from api.fleet.store import MonthReader, MonthSource
from api.fleet.store_vm import VictoriaMonthReader
from api.server import ApiStartError, serve_api
from gateway.app import run_until_signalled
from gateway.cli_support import exit_invalid
from gateway.config_loader import ConfigError
from gateway.fleet.board import SiteBoard
from gateway.fleet.central_config import CentralConfig, load_central
from gateway.fleet.overview import Registered, WaitLimits
from gateway.fleet.stopping import cancel_until_done
from gateway.logs import configure_logging


def registered(cfg: CentralConfig) -> list[Registered]:
    """The registry, each center with the wait thresholds that apply to it."""
    return [
        Registered(
            s.province,
            s.id,
            s.name,
            s.area,
            s.control_room,
            WaitLimits.minutes(*cfg.wait_thresholds(s)),
        )
        for s in cfg.sites
    ]


def month_reader(cfg: CentralConfig) -> MonthSource:
    """The central store's months: InfluxQL, or VictoriaMetrics' export (overview.store)."""
    if cfg.overview.store == "victoriametrics":
        return VictoriaMonthReader(cfg.influxdb)
    return MonthReader(cfg.influxdb)


async def serve(
    cfg: CentralConfig,
    *,
    on_started: Callable[[int], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Watch the bucket and serve the page until cancelled (``on_started(port)`` once it listens)."""
    board = SiteBoard(cfg.nats)
    app = create_fleet_app(
        cfg.api,
        board,
        month_reader(cfg),
        CollectorRegistry(),
        sites=registered(cfg),
        overview=cfg.overview,
        cert_warn_days=cfg.nats.cert_warn_days,
        clock=clock,
    )
    board_task = asyncio.create_task(board.run(), name="fleet-board")
    api_task = asyncio.create_task(serve_api(app, cfg.api, on_started=on_started), name="fleet-api")
    try:
        done, _ = await asyncio.wait({board_task, api_task}, return_when="FIRST_EXCEPTION")
        for task in done:
            task.result()  # the one that failed (neither ends otherwise)
    finally:
        # End the live streams first (they look each second), so uvicorn's graceful
        # shutdown does not wait its timeout for them; then stop both.
        app.state.floorwatch.closing.set()
        await cancel_until_done({api_task, board_task})


def serve_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="central file (YAML)")] = Path(
        "central.yaml"
    ),
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines")] = False,
) -> None:
    """The province page: every center on one screen, live (docs/fleet.md)."""
    configure_logging(json=log_json)
    try:
        cfg = load_central(config)
    except ConfigError as exc:
        exit_invalid(exc)
    try:
        asyncio.run(run_until_signalled(lambda: serve(cfg)))
    except* ApiStartError as group:
        reason = "; ".join(str(e) for e in group.exceptions)
        structlog.get_logger("floorwatch.fleet").error("fleet.serve_failed", reason=reason)
        raise typer.Exit(1) from None
