"""``floorwatch demo``: a whole simulated center on this machine.

Starts mosquitto and InfluxDB 1.x on free loopback ports under a state folder,
writes some weeks of simulated history (for the planning views), then plays a
day at the center, accelerated, as if it were happening now: the sensor
simulator publishes with wall-clock timestamps, virtual ONVIF infrared cameras
film the same crowd, and the gateway with its API and control-room page runs
on them. Prints the control-room URL and a login token, tomorrow's staffing
plan and a live summary; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from gateway.app import Gateway, build_gateway, run_until_signalled
from gateway.demo_cameras import DemoCameras
from gateway.demo_notify import NotificationReceiver, demo_notifications, write_played_report
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.peers.process import PeerError, free_port, tie_children_to_this_process
from gateway.planning.seed import seed_history
from gateway.planning.service import tomorrow_plan_text
from gateway.settings import ApiToken, Role, Settings, ZoneKind
from sensors.simulator.demand import BUSY_DAY_FACTOR, Demand, site_demand, usual_tickets
from sensors.simulator.model import CenterModel
from sensors.simulator.publisher import run_simulator

SUMMARY_EVERY_S = 10.0
SUMMARY_KINDS = (ZoneKind.ENTRANCE, ZoneKind.WAITING, ZoneKind.COUNTERS)  # the summary's zones
SUMMARY_ZONES = 4
COUNT_QUERIES = {
    "climate": 'SELECT count("temperature") FROM "climate"',
    "zone_occupancy": 'SELECT count("count") FROM "zone_occupancy"',
    "door_traffic": 'SELECT count("entries") FROM "door_traffic"',
    "queue": 'SELECT count("count") FROM "queue"',
}


@dataclass(frozen=True, slots=True)
class DemoOptions:
    state_dir: Path
    speed: float
    seed: int
    start: datetime | None
    minutes: float | None
    history_days: int = 28
    api_port: int | None = None
    # Ticket holders on the day played live (default: a busy day, BUSY_DAY_FACTOR
    # times the site's usual weekday); the history's usual day is this over the factor.
    visitors: float | None = None


@dataclass(frozen=True, slots=True)
class DemoDemand:
    """Who comes: on the day played live (busy) and on the history's days (usual)."""

    played: Demand
    usual: Demand


def demo_demand(settings: Settings, visitors: float | None) -> DemoDemand:
    """The demo's visitors, sized by the site (its counters) unless ``visitors`` is given."""
    played = visitors if visitors is not None else usual_tickets(settings) * BUSY_DAY_FACTOR
    return DemoDemand(
        played=site_demand(settings, played),
        usual=site_demand(settings, played / BUSY_DAY_FACTOR),
    )


def default_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The last weekday before today, 07:00 local: the kind of day the demo plays (live)."""
    day = now.astimezone(tz).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(7, 0), tzinfo=tz)


def new_day(gateway_state: Path) -> list[Path]:
    """Every demo run plays a new day: drop the last run's alert store; return what went.

    Its alerts, crowd levels, waiting tickets and door balances belong to the
    day the last run played (a production gateway keeps them across restarts).
    The spool, dead letters and door-counter totals stay.
    """
    gone = [p for p in gateway_state.glob("alerts.sqlite3*") if p.is_file()]
    for path in gone:
        path.unlink()
    return gone


def run_demo(settings: Settings, options: DemoOptions) -> int:
    tie_children_to_this_process()  # its servers die with it, even by SIGKILL
    tz = ZoneInfo(settings.site.timezone)
    start = options.start or default_start(datetime.now(UTC), tz)
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    options.state_dir.mkdir(parents=True, exist_ok=True)
    if new_day(options.state_dir / "gateway"):
        print("demo: a new day: the last run's alerts and queue state are dropped", flush=True)
    broker = MosquittoServer(options.state_dir / "mosquitto")
    influx = InfluxDB1Server(options.state_dir / "influxdb")
    try:
        print("demo: starting mosquitto and InfluxDB 1.x on free loopback ports ...", flush=True)
        broker.start()
        influx.start()
    except PeerError as exc:
        print(f"demo: cannot start a local server: {exc}", flush=True)
        broker.stop()
        influx.stop()
        return 1
    token = secrets.token_urlsafe(24)
    receiver = NotificationReceiver(options.state_dir / "notifications").start()
    settings = demo_settings(settings, broker, influx, options, token)
    settings = settings.model_copy(
        update={"notifications": demo_notifications(receiver.url, settings.notifications.language)}
    )
    demand = demo_demand(settings, options.visitors)
    stop = threading.Event()
    truth = SimulatedTruth()
    sim = threading.Thread(
        target=_simulate,
        args=(settings, broker, options, demand.played, start, stop, truth),
        name="simulator",
        daemon=True,
    )
    try:
        plan = _seed(settings, options, demand.usual)
        _banner(settings, broker, influx, options, demand, start, token, plan)
        sim.start()
        asyncio.run(run_until_signalled(lambda: _gateway_main(settings, influx, options, truth)))
        stop.set()
        print("demo: writing the day's report ...", flush=True)
        print(write_played_report(settings, options.state_dir / "reports", datetime.now(UTC)))
    finally:
        stop.set()
        sim.join(10)
        receiver.stop()
        influx.stop()
        broker.stop()
        print("demo: stopped mosquitto, InfluxDB, the cameras, the simulator and the gateway")
    return 0


def demo_settings(
    settings: Settings,
    broker: MosquittoServer,
    influx: InfluxDB1Server,
    options: DemoOptions,
    token: str,
) -> Settings:
    """The site file pointed at the demo's own servers, with a one-run admin token."""
    api = settings.api.model_copy(
        update={
            "port": options.api_port or free_port(settings.api.host),
            "tokens": [
                *settings.api.tokens,
                ApiToken(name="Demo", role=Role.ADMIN, token=SecretStr(token)),
            ],
        }
    )
    settings = scale_timers(settings, options.speed)
    return settings.model_copy(
        update={
            "mqtt": settings.mqtt.model_copy(update={"host": broker.host, "port": broker.port}),
            "influxdb": settings.influxdb.model_copy(
                update={"url": influx.url, "protocol": "v1", "database": "floorwatch"}
            ),
            "gateway": settings.gateway.model_copy(
                update={"state_dir": options.state_dir / "gateway"}
            ),
            "api": api,
        }
    )


#: Alert and level timers that measure the crowd's time (simulated), not the
#: equipment's: the demo shortens them by its speed. Device timers stay real.
CROWD_TIMERS = (
    "crowd_dwell_s",
    "climate_dwell_s",
    "waiting_dwell_s",
    "capacity_dwell_s",
    "clear_s",
    "renotify_s",
    "escalate_s",
    "counter_idle_s",
)


def scale_timers(settings: Settings, speed: float) -> Settings:
    """The site's dwell, clear and re-notify times in simulated seconds, at ``speed``.

    At 60x a 60 s dwell would be a simulated hour, longer than the morning
    rush; the demo divides those timers by its speed (never below 1 s) so
    levels and alerts react on the simulated clock as they would on site.
    """

    def fast(value: float) -> float:
        return max(1.0, value / speed) if value > 0 else 0.0

    alerts = settings.alerts
    scaled = {
        name: fast(getattr(alerts, name))
        for name in CROWD_TIMERS
        if getattr(alerts, name, None) is not None
    }
    zones = [
        z.model_copy(
            update={"crowd": z.crowd.model_copy(update={"dwell_s": fast(z.crowd.dwell_s)})}
        )
        for z in settings.zones
    ]
    return settings.model_copy(update={"alerts": alerts.model_copy(update=scaled), "zones": zones})


def _seed(settings: Settings, options: DemoOptions, usual: Demand) -> str:
    """Weeks of simulated history before today, then tomorrow's staffing plan from them."""
    if options.history_days <= 0:
        return ""
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.site.timezone)).date()
    first = today - timedelta(days=options.history_days)
    print(f"demo: writing {options.history_days} days of simulated history ...", flush=True)
    report = seed_history(
        settings, settings.influxdb, first, options.history_days, options.seed, usual
    )
    print(
        f"demo: history {report.first} .. {report.last}: {report.days_written} open days,"
        f" {report.lines} points",
        flush=True,
    )
    return tomorrow_plan_text(settings, datetime.now(UTC))


class SimulatedTruth:
    """What the simulator's model holds: people per zone and simulated time (for the cameras)."""

    def __init__(self) -> None:
        self._model: CenterModel | None = None

    def attach(self, model: CenterModel) -> None:
        self._model = model

    def occupancy(self) -> Mapping[str, int]:
        return dict(self._model.occupancy) if self._model is not None else {}

    def now(self) -> datetime | None:
        return self._model.now if self._model is not None else None


def _simulate(
    settings: Settings,
    broker: MosquittoServer,
    options: DemoOptions,
    played: Demand,
    start: datetime,
    stop: threading.Event,
    truth: SimulatedTruth,
) -> None:
    run_simulator(
        settings,
        host=broker.host,
        port=broker.port,
        seed=options.seed,
        start=start,
        speed=options.speed,
        stop=stop,
        live=True,
        on_model=truth.attach,
        demand=played,
        pin_day=True,
    )


async def _gateway_main(
    settings: Settings, influx: InfluxDB1Server, options: DemoOptions, truth: SimulatedTruth
) -> None:
    cameras = DemoCameras(
        settings.cameras,
        truth.occupancy,
        truth.now,
        folder=options.state_dir / "cameras",
        timezone=settings.site.timezone,
    )
    try:
        configured = await cameras.start()
        print(
            "demo: virtual ONVIF cameras "
            + ", ".join(f"{c.id} ({cameras.transport[c.id]})" for c in configured),
            flush=True,
        )
        gateway = build_gateway(settings.model_copy(update={"cameras": configured}))
        limit = options.minutes * 60 if options.minutes is not None else None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit), asyncio.TaskGroup() as tg:
                tg.create_task(gateway.run())
                tg.create_task(_report(gateway, influx))
    finally:
        await asyncio.shield(cameras.stop())


async def _report(gateway: Gateway, influx: InfluxDB1Server) -> None:
    async with httpx.AsyncClient(base_url=influx.url, timeout=5) as client:
        while True:
            await asyncio.sleep(SUMMARY_EVERY_S)
            print(_summary_line(gateway, await _stored_counts(client)), flush=True)


async def _stored_counts(client: httpx.AsyncClient) -> dict[str, int]:
    counts: dict[str, int] = {}
    for measurement, query in COUNT_QUERIES.items():
        with contextlib.suppress(httpx.HTTPError, KeyError, IndexError, ValueError):
            r = await client.get("/query", params={"db": "floorwatch", "q": query})
            counts[measurement] = int(r.json()["results"][0]["series"][0]["values"][0][1])
    return counts


def _summary_line(gateway: Gateway, stored: dict[str, int]) -> str:
    hub = gateway.hub.stats
    w = gateway.writer.stats()
    shown = summary_zones(gateway.settings)
    zones = ", ".join(
        f"{z.zone_id}={z.occupancy} {z.level.value}" if z.method != "none" else f"{z.zone_id}=-"
        for z in gateway.engine.zones()
        if z.zone_id in shown
    )
    alerts = gateway.engine.alerts()
    stored_txt = ", ".join(f"{k} {v}" for k, v in stored.items()) or "nothing yet"
    return (
        f"demo: {hub.messages} messages, {w.points_written} points written,"
        f" spool {w.spool_batches} batches, {hub.decode_errors} dead letters |"
        f" {zones or '-'} | {len(alerts)} alerts open | in InfluxDB: {stored_txt}"
    )


def summary_zones(settings: Settings) -> frozenset[str]:
    """The zones the summary line shows: the site's entrance, waiting and counter zones."""
    busy = [z.id for z in settings.zones if z.kind in SUMMARY_KINDS]
    return frozenset((busy or [z.id for z in settings.zones])[:SUMMARY_ZONES])


def _banner(
    settings: Settings,
    broker: MosquittoServer,
    influx: InfluxDB1Server,
    options: DemoOptions,
    demand: DemoDemand,
    start: datetime,
    token: str,
    plan: str,
) -> None:
    db = settings.influxdb.database
    api = settings.api
    lines = [
        "",
        f"floorwatch demo — {settings.site.name}",
        f"  playing a busy day ({demand.played.tickets_per_weekday:.0f} ticket holders;"
        f" a usual day here has {demand.usual.tickets_per_weekday:.0f}),"
        f" {start:%A} from {start:%H:%M %Z}, as if now, {options.speed:g}x real time,"
        f" seed {options.seed}",
        f"  control room  http://{api.host}:{api.port}/   (log in with the token below)",
        f"  token         {token}   (role admin, valid for this run)",
        f"  API           curl -H 'Authorization: Bearer {token}'"
        f" http://{api.host}:{api.port}/api/v1/zones",
        f"  MQTT broker   mqtt://{broker.host}:{broker.port}   (watch: mosquitto_sub -h"
        f" {broker.host} -p {broker.port} -t 'floorwatch/#' -v)",
        f"  InfluxDB 1.x  {influx.url}  database '{db}'",
        f"    curl -sG {influx.url}/query --data-urlencode db={db} --data-urlencode"  # noqa: S608
        ' "q=SELECT mean(count) FROM zone_occupancy WHERE time > now() - 30d'
        ' GROUP BY zone, time(1h) fill(none)"',
        f"  gateway state {settings.gateway.state_dir}  (spool, alerts, dead letters)",
        f"  notifications {options.state_dir / 'notifications'}  (one JSON file per message"
        f" sent to the local receiver {settings.notifications.channels[0].url})",
        f"  reports       {options.state_dir / 'reports'}  (the day's report, HTML and PDF,"
        " written when the demo stops)",
        "  Ctrl-C stops everything the demo started.",
        "",
    ]
    if plan:
        lines += ["Staffing plan for the next open day (from the simulated history):", plan, ""]
    print("\n".join(lines), flush=True)
