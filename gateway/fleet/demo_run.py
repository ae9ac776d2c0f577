"""``floorwatch demo --fleet N`` (``script/demo --fleet N``): a province on this machine. Shell module.

Starts, on free loopback ports under ``<state-dir>/fleet``:

- a 3-node JetStream cluster (domain ``central``; gateway.peers.nats, the
  configs of gateway.fleet.topology), with a user for the central services
  and one leaf-link user per center;
- one leaf nats-server per center, JetStream in the center's own domain, and
  the central stream ``FLOORWATCH`` (R3) sourcing every center's stream
  (gateway.fleet.central_stream);
- InfluxDB 1.x (database ``province``): the central store;
- two ``floorwatch fleet run`` processes (the central workers) and, in this
  process, ``fleet serve``'s page and API;
- N light simulated centers (gateway.fleet.demo_center: the simulator's
  model sampled into zone states, crowd alerts, device health and hourly
  aggregates), each publishing through the real ``FleetUplink`` into its own
  leaf.

The day played is a busy weekday (the last one before today at 07:00 unless
``--start``), at ``--speed``; the page's clock is the scene's clock, so ages
and "offline" are in scene time, like the records. Prints the page's URL and
a one-run token; Ctrl-C stops everything it started. Each run plays a new
day: the NATS stores of the last run are removed (the central store stays).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bcrypt
import httpx
import nats

from gateway.app import run_until_signalled
from gateway.demo import default_start
from gateway.fleet.central_config import CentralConfig, load_central
from gateway.fleet.central_stream import add_sites
from gateway.fleet.demo_center import SimulatedCenter
from gateway.fleet.demo_sites import DemoCenter, center_settings, demo_centers
from gateway.fleet.messages import FleetSubjects
from gateway.fleet.serve import serve
from gateway.fleet.topology import BCRYPT_COST, Login, hashed, link_login
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsCluster, NatsLeaf
from gateway.peers.process import (
    ManagedProcess,
    PeerError,
    free_port,
    tie_children_to_this_process,
)
from gateway.settings import FleetConfig

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DATABASE = "province"
CENTRAL_USER = "fleet-central"
TICK_S = 0.2  # how often the scene clock moves the simulated centers
SUMMARY_EVERY_S = 10.0
WORKERS = 2


@dataclass(frozen=True, slots=True)
class FleetDemoOptions:
    state_dir: Path
    sites: int
    speed: float
    seed: int
    start: datetime | None
    minutes: float | None
    api_port: int | None = None
    sample_s: float = 5.0  # scene seconds between two samples of a center


@dataclass(slots=True)
class _Site:
    center: DemoCenter
    subjects: FleetSubjects
    sim: SimulatedCenter
    leaf: NatsLeaf


class SceneClock:
    """Scene time: ``start`` when created, then ``speed`` scene seconds per real second."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._t0: float | None = None

    def run(self) -> None:
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        if self._t0 is None:
            return self._start
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._speed)


async def _nothing() -> AsyncIterator[LiveEvent]:
    await asyncio.Event().wait()
    return
    yield  # pragma: no cover - makes this an async generator


def central_yaml(
    cluster: NatsCluster, influx: InfluxDB1Server, port: int, centers: list[DemoCenter]
) -> str:
    """The central file of the demo (secrets by reference to files beside it)."""
    doc = {
        "nats": {
            "url": cluster.urls[0],
            "user": CENTRAL_USER,
            "password": {"file": "central-password"},
            "kv_replicas": 3,
            "batch": 200,
            "fetch_wait_s": 0.5,
            "ack_wait_s": 30,
        },
        "influxdb": {
            "protocol": "v1",
            "url": influx.url,
            "database": DATABASE,
            "flush_interval_s": 0.5,
        },
        "api": {
            "host": "127.0.0.1",
            "port": port,
            "tokens": [{"name": "Demo", "role": "admin", "token": {"file": "api-token"}}],
        },
        "overview": {"offline_after_s": 600, "timezone": str(TZ)},
        "sites": [
            {"province": c.province, "id": c.site_id, "name": c.name, "area": c.area}
            for c in centers
        ],
    }
    # JSON is YAML: no quoting rules to get wrong for the Vietnamese names
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def _secret(path: Path, value: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(value)


def run_fleet_demo(options: FleetDemoOptions) -> int:
    tie_children_to_this_process()  # its servers die with it, even by SIGKILL
    start = options.start or default_start(datetime.now(UTC), TZ)
    if start.tzinfo is None:
        start = start.replace(tzinfo=TZ)
    root = options.state_dir / "fleet"
    for old in ("central", "leaves", "workers"):
        shutil.rmtree(root / old, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    centers = demo_centers(options.sites, options.seed)
    central_password = secrets.token_urlsafe(18)
    token = secrets.token_urlsafe(24)
    # each center's link user with the permissions fleet config central writes (its own
    # domain's API, its own source's deliveries): the demo's cluster is a province's
    links = {c.key: link_login(c.province, c.site_id, secrets.token_urlsafe(18)) for c in centers}
    # the cluster's config holds bcrypt hashes as fleet config central writes them
    # (cost 11); the leaves log in with the passwords
    cluster = NatsCluster(
        root / "central",
        size=3,
        users=(hashed(Login(CENTRAL_USER, central_password), bcrypt.gensalt(BCRYPT_COST)),),
        links=tuple(hashed(u, bcrypt.gensalt(BCRYPT_COST)) for u in links.values()),
    )
    influx = InfluxDB1Server(root / "influxdb")
    leaves: list[NatsLeaf] = []
    workers: list[ManagedProcess] = []
    try:
        print(
            f"fleet demo: starting a 3-node JetStream cluster, {len(centers)} site leaves"
            " and InfluxDB 1.x on free loopback ports ...",
            flush=True,
        )
        cluster.start()
        influx.start()
        sites = []
        for c in centers:
            subjects = FleetSubjects("floorwatch", c.province, c.site_id)
            leaf = NatsLeaf(
                root / "leaves" / c.site_id, subjects, cluster.leaf_urls, link=links[c.key]
            )
            leaves.append(leaf)
            leaf.start()
            sim = SimulatedCenter(
                center_settings(c), subjects, c.seed, start, sample_s=options.sample_s
            )
            sites.append(_Site(c, subjects, sim, leaf))
        asyncio.run(_source(cluster, central_password, [s.leaf.domain for s in sites]))
        port = options.api_port or free_port()
        central = root / "central.yaml"
        _secret(root / "central-password", central_password)
        _secret(root / "api-token", token)
        central.write_text(central_yaml(cluster, influx, port, centers), encoding="utf-8")
        floorwatch = str(Path(sys.executable).parent / "floorwatch")
        for i in range(WORKERS):
            folder = root / "workers" / f"w{i + 1}"
            folder.mkdir(parents=True, exist_ok=True)
            argv = [floorwatch, "fleet", "run", "-c", str(central), "--state-dir", str(folder)]
            worker = ManagedProcess(f"fleet-run-{i + 1}", argv, folder / "fleet-run.log")
            workers.append(worker)
            worker.start()
        cfg = load_central(central)
        clock = SceneClock(start, options.speed)
        _banner(options, centers, sites, cluster, influx, port, token, start, central)
        asyncio.run(run_until_signalled(lambda: _main(cfg, sites, clock, options, influx)))
    except PeerError as exc:
        print(f"fleet demo: cannot start a local server: {exc}", flush=True)
        return 1
    finally:
        # Stopped side by side, the workers first (they hand their work back through the
        # cluster), then the servers: each stop waits up to 10 s before SIGKILL, and one
        # after the other, on a loaded machine, ten of them outlasted a minute and a half.
        _stop_together([w.stop for w in workers])
        _stop_together([*(leaf.stop for leaf in leaves), *(n.stop for n in cluster.nodes)])
        cluster.stop()  # its proxies (the nodes are stopped already: nothing to wait for)
        influx.stop()
        print(
            "fleet demo: stopped the simulated centers, the page, the workers,"
            " the leaves, the cluster and InfluxDB",
            flush=True,
        )
    return 0


def _stop_together(stops: list[Callable[[], None]]) -> None:
    """Run each stop in a thread of its own and wait for them all."""
    with ThreadPoolExecutor(max_workers=max(1, len(stops))) as pool:
        for future in [pool.submit(stop) for stop in stops]:
            future.result()


async def _source(cluster: NatsCluster, password: str, domains: list[str]) -> None:
    nc = await nats.connect(cluster.urls, user=CENTRAL_USER, password=password)
    try:
        await add_sites(nc.jetstream(), domains, replicas=3)
    finally:
        await nc.close()


async def _main(
    cfg: CentralConfig,
    sites: list[_Site],
    clock: SceneClock,
    options: FleetDemoOptions,
    influx: InfluxDB1Server,
) -> None:
    uplinks = {s.center.key: _uplink(s, clock, options.speed) for s in sites}
    limit = options.minutes * 60 if options.minutes is not None else None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit), asyncio.TaskGroup() as tg:
            tg.create_task(serve(cfg, clock=clock), name="fleet-serve")
            for key, uplink in uplinks.items():
                tg.create_task(uplink.run(), name=f"uplink-{key}")
            clock.run()
            tg.create_task(_play(sites, uplinks, clock), name="fleet-scene")
            tg.create_task(_report(sites, uplinks, clock, influx), name="fleet-report")


def _uplink(s: _Site, clock: SceneClock, speed: float) -> FleetUplink:
    fleet = FleetConfig(
        enabled=True,
        url=s.leaf.url,
        province=s.subjects.province,
        retry_min_s=0.2,
        retry_max_s=2,
        queue_size=100_000,
        # a heartbeat every scene minute (at most one a real second): the page's link state
        heartbeat_s=max(1.0, 60 / speed),
    )
    return FleetUplink(fleet, s.subjects, _nothing, s.sim.current, clock=clock)


async def _play(
    sites: list[_Site], uplinks: dict[str, FleetUplink], clock: Callable[[], datetime]
) -> None:
    """Move every center to the scene's clock and hand its messages to its uplink."""
    while True:
        now = clock()
        for s in sites:
            uplink = uplinks[s.center.key]
            for message in s.sim.step(now):
                uplink.offer(message)
        await asyncio.sleep(TICK_S)


async def _report(
    sites: list[_Site],
    uplinks: dict[str, FleetUplink],
    clock: Callable[[], datetime],
    influx: InfluxDB1Server,
) -> None:
    async with httpx.AsyncClient(base_url=influx.url, timeout=5) as client:
        while True:
            await asyncio.sleep(SUMMARY_EVERY_S)
            print(await _summary_line(sites, uplinks, clock(), client), flush=True)


async def _summary_line(
    sites: list[_Site], uplinks: dict[str, FleetUplink], now: datetime, client: httpx.AsyncClient
) -> str:
    published = sum(u.stats.published for u in uplinks.values())
    pending = sum(u.pending for u in uplinks.values())
    worst = []
    for s in sites:
        levels = {lv.value for lv in s.sim.levels().values()}
        level = next((lv for lv in ("critical", "crowded") if lv in levels), None)
        if level:
            worst.append(f"{s.center.site_id} {level}")
    stored = "nothing yet"
    with contextlib.suppress(httpx.HTTPError, KeyError, IndexError, ValueError):
        r = await client.get(
            "/query", params={"db": DATABASE, "q": 'SELECT count("count") FROM "zone_occupancy"'}
        )
        stored = f"{int(r.json()['results'][0]['series'][0]['values'][0][1])} zone points"
    return (
        f"fleet demo: {now.astimezone(TZ):%H:%M} scene time | {published} messages into the"
        f" leaves, {pending} queued | {', '.join(worst) or 'no center crowded'}"
        f" | central store: {stored}"
    )


def _banner(
    options: FleetDemoOptions,
    centers: list[DemoCenter],
    sites: list[_Site],
    cluster: NatsCluster,
    influx: InfluxDB1Server,
    port: int,
    token: str,
    start: datetime,
    central: Path,
) -> None:
    lines = [
        "",
        f"floorwatch fleet demo — {len(centers)} centers of Huế",
        f"  playing a busy {start:%A} from {start:%H:%M %Z}, {options.speed:g}x real time,"
        f" seed {options.seed}",
        f"  province page http://127.0.0.1:{port}/ui/province/   (log in with the token below)",
        f"  token         {token}   (role admin, valid for this run)",
        f"  API           curl -H 'Authorization: Bearer {token}'"
        f" http://127.0.0.1:{port}/api/v1/fleet/centers",
        f"  NATS cluster  {', '.join(cluster.urls)}  (user {CENTRAL_USER}, password in"
        f" {central.parent / 'central-password'})",
        f"  InfluxDB 1.x  {influx.url}  database '{DATABASE}'",
        f"  central file  {central}  (fleet run x{WORKERS}: logs under"
        f" {central.parent / 'workers'})",
        "  centers       (counters, area, leaf)",
    ]
    lines += [
        f"    {s.center.name} — {s.center.counters} counters, {s.center.area}, {s.leaf.url}"
        for s in sites
    ]
    lines += ["  Ctrl-C stops everything the demo started.", ""]
    print("\n".join(lines), flush=True)
