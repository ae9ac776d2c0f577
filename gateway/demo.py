"""``floorwatch demo``: a whole simulated center on this machine.

Starts mosquitto and InfluxDB 1.x on free loopback ports under a state folder,
the sensor simulator (accelerated), and the gateway; prints where the data is
and a live summary; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from gateway.app import Gateway, build_gateway, run_until_signalled
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.peers.process import PeerError
from gateway.settings import Settings
from sensors.simulator.publisher import run_simulator

SUMMARY_EVERY_S = 10.0
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


def default_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The last weekday before today, 07:00 local: a whole day that is already past."""
    day = now.astimezone(tz).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(7, 0), tzinfo=tz)


def replay_max_age_s(settings: Settings, start: datetime, now: datetime) -> float:
    """The demo replays a past day: accept readings back to its start, plus a day of margin.

    A production gateway rejects readings older than ``validation.max_age_s``
    (a sensor with a wrong clock); the demo's simulated day is in the past on
    purpose, so its gateway widens the window to cover it.
    """
    behind_s = (now - start).total_seconds()
    return max(settings.validation.max_age_s, behind_s + 86400.0)


def run_demo(settings: Settings, options: DemoOptions) -> int:
    tz = ZoneInfo(settings.site.timezone)
    start = options.start or default_start(datetime.now(UTC), tz)
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    options.state_dir.mkdir(parents=True, exist_ok=True)
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
    settings = settings.model_copy(
        update={
            "mqtt": settings.mqtt.model_copy(update={"host": broker.host, "port": broker.port}),
            "influxdb": settings.influxdb.model_copy(
                update={"url": influx.url, "protocol": "v1", "database": "floorwatch"}
            ),
            "gateway": settings.gateway.model_copy(
                update={"state_dir": options.state_dir / "gateway"}
            ),
            "validation": settings.validation.model_copy(
                update={"max_age_s": replay_max_age_s(settings, start, datetime.now(UTC))}
            ),
        }
    )
    stop = threading.Event()
    sim = threading.Thread(
        target=_simulate,
        args=(settings, broker, options, start, stop),
        name="simulator",
        daemon=True,
    )
    _banner(settings, broker, influx, options, start)
    try:
        sim.start()
        asyncio.run(run_until_signalled(lambda: _gateway_main(settings, influx, options)))
    finally:
        stop.set()
        sim.join(10)
        influx.stop()
        broker.stop()
        print("demo: stopped mosquitto, InfluxDB, the simulator and the gateway", flush=True)
    return 0


def _simulate(
    settings: Settings,
    broker: MosquittoServer,
    options: DemoOptions,
    start: datetime,
    stop: threading.Event,
) -> None:
    run_simulator(
        settings,
        host=broker.host,
        port=broker.port,
        seed=options.seed,
        start=start,
        speed=options.speed,
        stop=stop,
    )


async def _gateway_main(settings: Settings, influx: InfluxDB1Server, options: DemoOptions) -> None:
    gateway = build_gateway(settings)
    limit = options.minutes * 60 if options.minutes is not None else None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit), asyncio.TaskGroup() as tg:
            tg.create_task(gateway.run())
            tg.create_task(_report(gateway, influx))


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
    state = gateway.hub.state
    occupancy = ", ".join(
        f"{zone}={max(c.count for c in sources.values())}"
        for zone, sources in sorted(state.counts.items())
    )
    waiting = sum(len(q.waiting) for q in state.queues.values())
    stored_txt = ", ".join(f"{k} {v}" for k, v in stored.items()) or "nothing yet"
    return (
        f"demo: {hub.messages} messages, {w.points_written} points written,"
        f" spool {w.spool_batches} batches, {hub.decode_errors} dead letters |"
        f" people: {occupancy or '-'} | tickets waiting {waiting} | in InfluxDB: {stored_txt}"
    )


def _banner(
    settings: Settings,
    broker: MosquittoServer,
    influx: InfluxDB1Server,
    options: DemoOptions,
    start: datetime,
) -> None:
    db = settings.influxdb.database
    print(
        "\n".join(
            [
                "",
                f"floorwatch demo — {settings.site.name}",
                f"  simulated day from {start:%Y-%m-%d %H:%M %Z}, {options.speed:g}x real time,"
                f" seed {options.seed}",
                f"  MQTT broker   mqtt://{broker.host}:{broker.port}   (watch: mosquitto_sub -h"
                f" {broker.host} -p {broker.port} -t '#' -v)",
                f"  InfluxDB 1.x  {influx.url}  database '{db}'",
                "  look at the data:",
                f"    curl -sG {influx.url}/query --data-urlencode db={db} --data-urlencode"  # noqa: S608
                ' "q=SELECT mean(count) FROM zone_occupancy WHERE time > now() - 30d'
                ' GROUP BY zone, time(1h) fill(none)"',
                f"  gateway state  {settings.gateway.state_dir}  (spool, dead letters)",
                "  Ctrl-C stops everything the demo started.",
                "",
            ]
        ),
        flush=True,
    )
