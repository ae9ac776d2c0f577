"""The composition root: build every adapter inside the running loop and run them.

Everything runs under one TaskGroup. Constructors only store their arguments;
work starts in ``run()``. Each component receives only its own config section.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from gateway.alert_store import AlertStore
from gateway.counter_store import CounterStore
from gateway.dead_letters import DeadLetters
from gateway.engine import Engine
from gateway.fleet.alert_resend import AlertResend
from gateway.fleet.hourly_feed import HourlyFeed
from gateway.fleet.messages import FleetMessage, FleetSubjects, device_message, zone_message
from gateway.fleet.uplink import FleetUplink
from gateway.floor_model import FloorModel
from gateway.ha_discovery import discovery_messages
from gateway.ha_discovery_record import announce
from gateway.hub import Hub, Observer
from gateway.inbox import ObservationInbox
from gateway.influx_writer import InfluxWriter
from gateway.notify.notifier import Notifier
from gateway.notify.wiring import build_notifications
from gateway.observations import Observation
from gateway.outbound import OutboundTopics
from gateway.planning.service import PlanningService
from gateway.planning.staffing import StaffingPlan
from gateway.points import ZoneGeometry
from gateway.readiness import GatewayReadiness
from gateway.report.scheduler import ReportScheduler
from gateway.services import Services, build_services
from gateway.settings import Settings
from gateway.spool import Spool
from gateway.state_writer import StateWriter
from sensors.mqtt_source import InboundBuffer, MqttSource
from sensors.topics import TopicRouter

log = structlog.get_logger("floorwatch.app")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Gateway:
    """The running object graph, for the CLI, the demo and the tests."""

    settings: Settings
    hub: Hub
    source: MqttSource
    writer: InfluxWriter
    spool: Spool
    dead_letters: DeadLetters
    engine: Engine  # a gateway.live.FloorService: hand it to the API
    inbox: ObservationInbox  # camera workers call inbox.put(observation) from their threads
    state_writer: StateWriter
    services: Services  # the API, camera workers, ONVIF events, HVAC advice
    notifier: Notifier | None = None  # notification channels (None: none configured)
    fleet: FleetUplink | None = None  # uplink to the province's NATS JetStream (None: off)
    fleet_hourly: HourlyFeed | None = None  # the uplink's hourly aggregates and plan
    reports: ReportScheduler | None = None  # daily/weekly reports sent (notifications.reports)

    async def run(self) -> None:
        log.info(
            "gateway.started",
            site=self.settings.site.id,
            sensors=len(self.settings.sensors),
            mqtt=f"{self.settings.mqtt.host}:{self.settings.mqtt.port}",
            influxdb=self.settings.influxdb.url,
            protocol=self.settings.influxdb.protocol,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.writer.run(), name="influx-writer")
                tg.create_task(self.engine.run(), name="engine")
                tg.create_task(self.hub.run(), name="hub")
                tg.create_task(self.source.run(), name="mqtt-source")
                for name, run in self.services.tasks():
                    tg.create_task(run(), name=name)
                if self.notifier is not None:
                    tg.create_task(self.notifier.run(), name="notifier")
                if self.fleet is not None:
                    tg.create_task(self.fleet.run(), name="fleet-uplink")
                if self.fleet_hourly is not None:
                    tg.create_task(self.fleet_hourly.run(), name="fleet-hourly")
                if self.reports is not None:
                    tg.create_task(self.reports.run(), name="report-scheduler")
        finally:
            # The source and hub are stopped; flush what is pending to the DB or spool.
            await asyncio.shield(self.writer.close())
            log.info("gateway.stopped", **asdict(self.hub.stats))


def build_gateway(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Gateway:
    """Wire the object graph. Call from inside the running event loop."""
    loop = asyncio.get_running_loop()
    gw = settings.gateway
    state_dir = gw.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    spool_cfg = settings.influxdb.spool
    spool = Spool(
        spool_cfg.path or state_dir / "spool",
        max_bytes=spool_cfg.max_bytes,
        max_rejected=spool_cfg.max_rejected,
    )
    writer = InfluxWriter(settings.influxdb, spool)
    buffer = InboundBuffer(gw.queue_size)
    buffer.bind(loop)
    dead = DeadLetters(state_dir / "dead-letters.jsonl", gw.dead_letter_size)
    dead.open()
    zones = {z.id: ZoneGeometry.from_zone(z) for z in settings.zones}
    topics = OutboundTopics(settings.mqtt.base_topic, settings.site.id)
    filters = TopicRouter((s.topic, s.id) for s in settings.sensors).filters

    def publish(topic: str, payload: bytes, retain: bool) -> None:
        source.publish(topic, payload, qos=1, retain=retain)

    ha = settings.mqtt.homeassistant_discovery
    discovery = announce(
        state_dir,
        discovery_messages(settings.site, settings.zones, settings.sensors, topics, ha.prefix)
        if ha.enabled
        else [],
    )
    state_writer = StateWriter(topics, publish, discovery)
    source = MqttSource(
        settings.mqtt,
        status_topic=topics.status,
        filters=filters,
        buffer=buffer,
        on_connected=lambda: _call_soon(loop, state_writer.republish),
    )
    inbox = ObservationInbox(gw.queue_size)
    inbox.bind(loop)
    alerts_db = state_dir / "alerts.sqlite3"
    notifications = build_notifications(settings, alerts_db, clock)
    alert_store = AlertStore(alerts_db, outbox=notifications[0] if notifications else None)
    engine = Engine(
        site_id=settings.site.id,
        model=FloorModel(settings, start=clock()),
        rules=settings.alerts,
        store=alert_store,
        writer=state_writer,
        sink=writer,
        clock=clock,
        spool_fill=lambda: spool.fill_ratio,
        spool_warn=spool_cfg.warn_ratio,
        seat_point_s=settings.seats.point_s,
    )
    # services (and its planning) are built below; the plan is asked for only once running
    fleet = _build_fleet(settings, engine, alert_store, clock, lambda: services.planning)
    hub = Hub(
        site_id=settings.site.id,
        timezone=settings.site.timezone,
        sensors=settings.sensors,
        zones=zones,
        limits=settings.validation,
        stale_factor=settings.alerts.sensor_stale_factor,
        buffer=buffer,
        sink=writer,
        ack=source.ack,
        dead_letters=dead,
        counters=CounterStore(state_dir / "door-counters.json"),
        clock=clock,
        health_interval_s=gw.health_interval_s,
        observer=engine if fleet is None else _Observers(engine, fleet[1]),
        inbox=inbox,
    )
    services = build_services(
        settings,
        hub=hub,
        writer=writer,
        engine=engine,
        inbox=inbox,
        publish=publish,
        clock=clock,
        loop=loop,
        readiness=GatewayReadiness(
            mqtt_connected=lambda: source.connected,
            writer=writer,
            spool_warn_ratio=spool_cfg.warn_ratio,
        ),
    )
    return Gateway(
        settings,
        hub,
        source,
        writer,
        spool,
        dead,
        engine,
        inbox,
        state_writer,
        services,
        notifier=notifications[1] if notifications else None,
        fleet=fleet[0] if fleet else None,
        fleet_hourly=fleet[1] if fleet else None,
        reports=_build_reports(settings, clock),
    )


def _build_reports(settings: Settings, clock: Callable[[], datetime]) -> ReportScheduler | None:
    """The report task when the site file sends reports (docs/report.md)."""
    cfg = settings.notifications
    if not cfg.enabled or not cfg.channels or cfg.reports is None:
        return None
    return ReportScheduler(settings, settings.gateway.state_dir / "reports", clock)


class _Observers:
    """The hub's observer when several hear every observation (the engine first)."""

    def __init__(self, *observers: Observer) -> None:
        self._observers = observers

    def observe(self, obs: Observation) -> None:
        for o in self._observers:
            o.observe(obs)


def _build_fleet(
    settings: Settings,
    engine: Engine,
    store: AlertStore,
    clock: Callable[[], datetime],
    planning: Callable[[], PlanningService],
) -> tuple[FleetUplink, HourlyFeed] | None:
    """The fleet uplink and its hourly feed when the site file enables it (docs/fleet.md)."""
    cfg = settings.fleet
    if not cfg.enabled or cfg.province is None:
        return None
    subjects = FleetSubjects(cfg.subject_prefix, cfg.province, settings.site.id)
    state_dir = settings.gateway.state_dir

    def current() -> list[FleetMessage]:
        """At each connection and after an overflow: the present, and the closed hours
        JetStream has not acknowledged yet (a full queue may have dropped them)."""
        zones = [zone_message(subjects, z) for z in engine.zones()]
        devices = [device_message(subjects, d) for d in engine.devices()]
        return zones + devices + list(feed.unacked)

    def plan_of(day: date) -> StaffingPlan | None:
        """The day's plan when the center opens that day (runs in a thread)."""
        service = planning()
        if service.next_open_day(day - timedelta(days=1)) != day:
            return None
        return service.staffing_plan(day)

    devices = {c.id: "camera" for c in settings.cameras} | {
        s.id: "sensor" for s in settings.sensors
    }
    resend = AlertResend(state_dir / "fleet-uplink.json", subjects, store, engine.wait_ready)

    def acked(message: FleetMessage) -> None:
        resend.acked(message)
        feed.acked(message)

    def devices_online() -> tuple[int, int]:
        """The heartbeat's (online, configured) over the site file's cameras and sensors."""
        online = sum(1 for d in engine.devices() if d.device_id in devices and d.online)
        return online, len(devices)

    uplink = FleetUplink(
        cfg,
        subjects,
        engine.subscribe,
        current,
        backlog=resend.backlog,
        on_acked=acked,
        clock=clock,
        devices=devices_online,
        on_dropped=resend.dropped,
        resend_dropped=resend.resend_dropped,
    )
    feed = HourlyFeed(
        subjects=subjects,
        tz=ZoneInfo(settings.site.timezone),
        devices=devices,
        path=state_dir / "fleet-hourly.json",
        clock=clock,
        events=engine.subscribe,
        offer=uplink.offer,
        plan_of=plan_of,
        current=lambda: (engine.zones(), engine.devices()),
        seats=engine.seats,
    )
    return uplink, feed


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    """From another thread (paho's): run ``fn`` on the loop."""
    with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping
        loop.call_soon_threadsafe(fn)


async def run_until_signalled(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine factory until SIGINT/SIGTERM, then cancel it cleanly."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
