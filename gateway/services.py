"""The gateway's outer services: API, camera workers, ONVIF events, HVAC advice, staffing plans.

Part of the composition root (``gateway.app``): built after the core (hub,
writer, engine) from the same settings, run under the same TaskGroup. Each
builder receives only what its service needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api.app import create_app
from api.history import HistoryReader
from api.metrics import StatsCollector
from api.readiness import ReadinessSource
from api.routes.dead_letters import DecodeErrorCollector
from api.routes.ingest import attach_ingest
from api.server import serve_api
from cameras.background_store import BackgroundStore
from cameras.capture import CaptureSources, SessionLimiter, SourceResolver
from cameras.estimators import build_estimator
from cameras.onvif_source import resolve_stream, run_onvif_events
from cameras.worker import CameraWorker, loop_resolver
from gateway.engine import Engine
from gateway.hub import Hub
from gateway.inbox import ObservationInbox
from gateway.influx_writer import InfluxWriter
from gateway.planning.advisor import HvacAdvisor
from gateway.planning.publisher import PlanPublisher
from gateway.planning.service import PlanningService
from gateway.settings import CameraConfig, Settings
from gateway.ticket_ingest import TicketIngest

log = structlog.get_logger("floorwatch.app")

Task = tuple[str, Callable[[], Coroutine[Any, Any, None]]]


@dataclass(slots=True)
class Services:
    settings: Settings
    inbox: ObservationInbox
    api: FastAPI | None
    cameras: list[CameraWorker]
    advisor: HvacAdvisor
    planning: PlanningService
    plans: PlanPublisher
    api_port: int | None = None  # the bound port, once the API listens

    def tasks(self) -> list[Task]:
        """What to run under the gateway's TaskGroup, from what is built now."""
        tasks: list[Task] = [("hvac-advisor", self.advisor.run), ("plan-publisher", self.plans.run)]
        for worker in self.cameras:
            tasks.append((f"camera-{worker.camera.id}", worker.run))
            tasks.append((f"onvif-events-{worker.camera.id}", _events(worker.camera, self.inbox)))
        if self.api is not None:
            tasks.append(("api", _api(self.settings, self, self.api)))
        return tasks


def build_services(
    settings: Settings,
    *,
    hub: Hub,
    writer: InfluxWriter,
    engine: Engine,
    inbox: ObservationInbox,
    publish: Callable[[str, bytes, bool], None],
    clock: Callable[[], datetime],
    loop: asyncio.AbstractEventLoop,
    readiness: ReadinessSource | None = None,
) -> Services:
    planning = PlanningService.from_settings(settings)
    advisor = HvacAdvisor(
        planning,
        engine,
        publish,
        base_topic=settings.mqtt.base_topic,
        site_id=settings.site.id,
        interval_s=settings.planning.hvac_interval_s,
        clock=clock,
    )
    limiter = SessionLimiter()
    zones = {z.id: z for z in settings.zones}
    workers = [
        CameraWorker(
            cam,
            build_estimator(cam, zones),
            inbox.put,
            limiter=limiter,
            sources=_camera_sources(cam, loop),
            clock=clock,
            backgrounds=BackgroundStore(settings.gateway.state_dir / "backgrounds", cam.id),
        )
        for cam in settings.cameras
    ]
    api: FastAPI | None = None
    if settings.api.enabled:
        registry = CollectorRegistry()
        registry.register(
            StatsCollector(
                "floorwatch_hub",
                lambda: hub.stats,
                counters=["messages", "observations", "decode_errors", "duplicates", "points"],
            )
        )
        registry.register(
            StatsCollector(
                "floorwatch_storage",
                writer.stats,
                counters=["points_written", "batches_written", "batches_spooled", "write_errors"],
            )
        )
        registry.register(DecodeErrorCollector(hub.dead_letters))
        api = create_app(
            settings.api,
            settings,
            engine,
            HistoryReader(settings.influxdb, settings.site.id),
            registry,
            clock=clock,
            sessions_path=settings.gateway.state_dir / "api-sessions.json",
            readiness=readiness,
        )
        api.state.planning = planning
        api.state.dead_letters = hub.dead_letters  # served by api/routes/dead_letters.py
        if settings.ingest.tickets:
            attach_ingest(api, _ticket_ingest(settings, hub, writer, engine, clock))
    plans = PlanPublisher(planning, settings.influxdb, clock=clock, config=settings.planning)
    return Services(settings, inbox, api, workers, advisor, planning, plans)


def _ticket_ingest(
    settings: Settings,
    hub: Hub,
    writer: InfluxWriter,
    engine: Engine,
    clock: Callable[[], datetime],
) -> TicketIngest:
    """Webhook ticket sources: the hub's decoders, dead letters and point sink (docs/api.md)."""
    return TicketIngest(
        settings.ingest,
        site_id=settings.site.id,
        timezone=settings.site.timezone,
        limits=settings.validation,
        sink=writer,
        dead_letters=hub.dead_letters,
        observer=engine,
        clock=clock,
        state_dir=settings.gateway.state_dir,
    )


def _camera_sources(cam: CameraConfig, loop: asyncio.AbstractEventLoop) -> SourceResolver | None:
    """A fixed stream URI needs no lookup; otherwise ask the camera over ONVIF at each connect."""
    if cam.stream_uri is not None:
        return None

    async def fetch() -> CaptureSources:
        choice = await resolve_stream(cam)
        return CaptureSources(choice.stream_uri, choice.snapshot_uri)

    return loop_resolver(loop, fetch)


def _events(cam: CameraConfig, inbox: ObservationInbox) -> Callable[[], Coroutine[Any, Any, None]]:
    async def run() -> None:
        await run_onvif_events(cam, inbox.put)

    return run


def _api(
    settings: Settings, services: Services, app: FastAPI
) -> Callable[[], Coroutine[Any, Any, None]]:

    def started(port: int) -> None:
        services.api_port = port
        log.info("api.listening", url=f"http://{settings.api.host}:{port}/")

    async def run() -> None:
        await serve_api(app, settings.api, on_started=started)

    return run
