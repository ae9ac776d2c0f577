"""The central side under a province's load: 300 sites through the 3-node cluster into InfluxDB.

    .venv/bin/python -m bench.fleet [--sites 300] [--leaves 30] [--seconds 60] [--backlog-hours 3]
                                    [--partitions 8] [--in-flight 4] [--kv-interval 1]
                                    [--keep-logs DIR]

What runs (all real processes on free loopback ports, in a temp folder):

- a 3-node JetStream cluster (gateway.peers.nats.NatsCluster) and InfluxDB 1.x;
- ``--leaves`` leaf nats-servers (30 by default), each with JetStream in a
  domain of its own, and the central stream (R3) sourcing every leaf's
  stream, spread over ``--partitions`` central streams (nats.partitions: a
  process reads the partitions it holds a lease on). With fewer leaves than
  sites (the default: 10 sites a leaf) a
  group's sites share one leaf and its stream; the path leaf -> link ->
  source -> central stream -> workers is production's, with fewer sources:
  see "What this is and is not";
- ``--sites`` light simulated centers (gateway.fleet.demo_center: the
  simulator's model of each center sampled every second of scene time, as the
  engine publishes at most once a second per zone, into zone states on change,
  crowd alerts, device changes and hourly/health aggregates), the city's
  23-counter center and 3-6-counter ward/commune centers (demo_sites), each
  publishing through its own FleetUplink into its leaf;
- ``floorwatch fleet run`` processes (the real command) writing into InfluxDB.

Phases:

1. **Nominal load, latency**: after a warm-up that is not timed (every
   center's first states and devices at once, through to the store), the
   centers play the morning peak (09:00-) of a
   busy day at 10x real time, i.e. each site at 10x its own busy-day peak
   rate; two workers drain the central stream. Each zone state's time from
   being handed to the site's uplink to being readable in the central store
   (InfluxDB polled every 0.25 s, so latencies are upper bounds by that much)
   gives the p50/p99. Target: p99 <= 2 s.
2. **Backlog**: the centers then play ``--backlog-hours`` more at once (no
   pacing), which fills the central stream.
3. **Ceiling and workers**, over the whole central stream, each on a durable
   consumer of its own (and its own database and bucket):
   (a) a bare nats-py pull consumer (fetch 1,000, ack each; one task per
   partition): the ceiling; (b) one ``fleet run`` process; (c) two, which
   share the partitions out by their leases (the sharing is timed). Each is
   timed from its first acknowledgement to the last (the consumers' ack
   floors, sampled every 0.1 s). Targets: (b)/(a) >= 0.5 and (c)/(b) >= 1.6.
   Printed with each: the cores the workers, the cluster, InfluxDB, the
   leaves and this process used meanwhile, the CPU per stored message, and
   what the machine's cores allow (c) at (b)'s CPU per message; and from the
   processes' own /metrics, the site documents written per 1,000 messages
   and the messages delivered twice or handed back (a lease lost).

Prints each figure and exits 1 when a target is missed.

What this is and is not. Production is one leaf per center (300 leaves,
300 sources). 300 leaf nats-servers start on these machines (about 15-18 MB
resident each, 28-39 s), but one central stream with 300 sources did not
settle here: its leader logged each source's setup taking 24 s at a load
average of 30-40 on the 2 shared cores, and the bench had not got past the
stream's setup after 3 minutes (stopped). 30 sources set up at once, hence the default; ``--leaves 300``
runs the production shape where a machine carries it. The sites' uplinks all run in this one Python
process (in production each center is its own machine), and everything
shares the machine's cores with the cluster, the leaves, InfluxDB and the
workers: the figures are for this machine, not for a province's servers.
The message mix is the simulator's, not a real center's: a zone counted by
cameras whose count flickers publishes more often (at most once a second per
zone, the engine's cap; docs/fleet.md "Sizing" gives both).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import nats
import nats.errors
import nats.js.errors
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    SequenceInfo,
    StreamConfig,
    StreamInfo,
)
from prometheus_client.parser import text_string_to_metric_families

from gateway.fleet.central_stream import add_sites
from gateway.fleet.demo_center import SimulatedCenter
from gateway.fleet.demo_sites import center_settings, demo_centers
from gateway.fleet.messages import FleetMessage, FleetSubjects
from gateway.fleet.partitions import partition_names
from gateway.fleet.topology import STREAM
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent
from gateway.logs import configure_logging
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsCluster, NatsLeaf
from gateway.peers.process import free_port
from gateway.settings import FleetConfig

FLOORWATCH = Path(sys.executable).parent / "floorwatch"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PEAK = datetime(2026, 12, 4, 9, 0, tzinfo=TZ)  # a busy Friday's morning peak
SPEED = 10.0  # 10x a busy day
TICK_S = 0.1
POLL_S = 0.25
WINDOW_S = 20.0  # real seconds of records each poll of the store looks back
P99_TARGET_S = 2.0
RATIO_TARGET = 0.5
SCALE_TARGET = 1.6
WAIT_S = 600.0
BATCH = 1000  # messages per fetch, the bare consumer's and the workers' (nats.batch)
LEASE_S = 6.0  # the workers' partition leases: renewed every 2 s (3 s leases expired under load)
IN_FLIGHT = [4]  # batches in flight per partition a worker reads (nats.in_flight; --in-flight)
KV_INTERVAL_S = [1.0]  # a site's document at most once a second per process (--kv-interval)


async def _nothing() -> AsyncIterator[LiveEvent]:
    await asyncio.Event().wait()
    return
    yield  # pragma: no cover


@dataclass
class Site:
    subjects: FleetSubjects
    sim: SimulatedCenter
    leaf: int  # index of its leaf
    uplink: FleetUplink | None = None


def pid_of(leaf: NatsLeaf) -> int:
    proc = leaf._process.proc  # noqa: SLF001 - the bench reads the leaf's process figures
    if proc is None:
        raise RuntimeError(f"leaf {leaf.domain} is not running")
    return proc.pid


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def central_file(
    path: Path, url: str, influx: str, db: str, consumer: str, bucket: str, partitions: int
) -> Path:
    path.write_text(
        f"""
nats:
  url: {url}
  stream: {STREAM}
  partitions: {partitions}
  in_flight: {IN_FLIGHT[0]}
  lease_s: {LEASE_S}
  partition_bucket: leases_{bucket}
  consumer: {consumer}
  kv_bucket: {bucket}
  kv_replicas: 3
  kv_interval_s: {KV_INTERVAL_S[0]}
  batch: {BATCH}
  fetch_wait_s: 0.2
  ack_wait_s: 30
influxdb:
  protocol: v1
  url: {influx}
  database: {db}
  flush_interval_s: 0.1
"""
    )
    return path


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    metrics: str  # its /metrics URL


@contextmanager
def workers(config: Path, folder: Path, n: int) -> Iterator[list[Worker]]:
    procs: list[Worker] = []
    try:
        for i in range(n):
            state = folder / f"{config.stem}-w{i + 1}"
            log = (folder / f"{config.stem}-w{i + 1}.log").open("wb")
            port = free_port()
            command = [str(FLOORWATCH), "fleet", "run", "-c", str(config)]
            command += ["--state-dir", str(state), "--metrics-port", str(port)]
            procs.append(
                Worker(
                    subprocess.Popen(  # noqa: S603 - our own command
                        command, stdout=log, stderr=subprocess.STDOUT
                    ),
                    f"http://127.0.0.1:{port}/metrics",
                )
            )
        yield procs
    finally:
        for w in procs:
            w.proc.terminate()
        for w in procs:
            try:
                w.proc.wait(30)
            except subprocess.TimeoutExpired:
                w.proc.kill()


COUNTED = ("acked", "state_updates", "redelivered", "nacked", "errors")


def counters(procs: list[Worker]) -> dict[str, float]:
    """The workers' own counters (``fleet run --metrics-port``), summed over the processes."""
    out = dict.fromkeys(COUNTED, 0.0)
    for w in procs:
        for family in text_string_to_metric_families(httpx.get(w.metrics, timeout=10).text):
            short = family.name.removeprefix("floorwatch_fleet_worker_")
            if short in out and family.name != short:
                out[short] += sum(
                    x.value for x in family.samples if x.name == f"{family.name}_total"
                )
    return out


async def until(what: str, check: object, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check() if callable(check) else check
        if asyncio.iscoroutine(value):
            try:
                value = await value
            except (nats.errors.TimeoutError, TimeoutError):  # a loaded cluster: ask again
                value = False
        if value:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"still waiting for {what} after {timeout_s:.0f} s")
        await asyncio.sleep(0.1)


class Latency:
    """Offer times of zone states by id; first sight in the store by polling it."""

    def __init__(self, influx: str, db: str) -> None:
        self._influx = influx
        self._db = db
        self.offered: dict[str, float] = {}
        self.seen: dict[str, float] = {}

    def offer(self, m: FleetMessage) -> None:
        if m.subject.endswith(".zone"):
            self.offered[m.msg_id] = time.monotonic()

    async def poll(self, scene_since: datetime) -> None:
        q = (
            'SELECT "count", "site", "zone" FROM "zone_occupancy"'  # noqa: S608 - our own figures
            f" WHERE time >= '{scene_since.astimezone(UTC).isoformat()}'"
        )
        async with httpx.AsyncClient(base_url=self._influx, timeout=10) as client:
            r = await client.get("/query", params={"db": self._db, "q": q, "epoch": "u"})
        now = time.monotonic()
        for series in r.json()["results"][0].get("series", []):
            cols = series["columns"]
            for row in series["values"]:
                rec = dict(zip(cols, row, strict=True))
                at = datetime.fromtimestamp(rec["time"] / 1e6, UTC).isoformat()
                key = f"floorwatch.hue.{rec['site']}:zone:{rec['zone']}:{at}"
                self.seen.setdefault(key, now)

    def figures(self) -> tuple[int, int, float, float]:
        """(states offered, not seen in the store, p50, p99); one not seen counts as endless."""
        lat = sorted(self.seen[k] - t for k, t in self.offered.items() if k in self.seen)
        missing = len(self.offered) - len(lat)
        if not self.offered:
            return 0, 0, float("nan"), float("nan")
        lat += [float("inf")] * missing
        return len(self.offered), missing, lat[len(lat) // 2], lat[int(0.99 * (len(lat) - 1))]


async def _infos(url: str, partitions: int) -> dict[str, StreamInfo]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        return {name: await js.stream_info(name) for name in partition_names(STREAM, partitions)}
    finally:
        await nc.close()


async def stream_counts(url: str, partitions: int) -> dict[str, int]:
    """Messages per partition stream."""
    return {n: i.state.messages for n, i in (await _infos(url, partitions)).items()}


async def stream_count(url: str, partitions: int) -> int:
    return sum((await stream_counts(url, partitions)).values())


async def _consumers(url: str, consumer: str, partitions: int) -> list[ConsumerInfo] | None:
    """The consumer's info on each partition; None while one is missing."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        out = []
        for name in partition_names(STREAM, partitions):
            try:
                out.append(await js.consumer_info(name, consumer))
            except nats.js.errors.NotFoundError:
                return None
        return out
    finally:
        await nc.close()


async def drained(url: str, consumer: str, totals: dict[str, int]) -> bool:
    """Every partition's consumer delivered up to its stream's count, nothing unacked."""
    infos = await _consumers(url, consumer, len(totals))
    return infos is not None and all(
        _seq(i.delivered) >= totals[i.stream_name] and i.num_ack_pending == 0 for i in infos
    )


async def balanced(url: str, bucket: str, n: int, partitions: int) -> bool:
    """Each of ``n`` workers holds its share of the partitions (one partition: at once)."""
    if partitions == 1:
        return True
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(bucket)
        holders = []
        for name in partition_names(STREAM, partitions):
            try:
                holders.append((await kv.get(f"part.{name}")).value)
            except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
                return False
    except nats.js.errors.BucketNotFoundError:
        return False
    finally:
        await nc.close()
    counts = sorted(holders.count(h) for h in set(holders))
    return len(counts) == n and counts[-1] - counts[0] <= 1


def _seq(at: SequenceInfo | None) -> int:
    return at.stream_seq if at is not None and at.stream_seq is not None else 0


async def fetching(url: str, consumer: str, n: int, partitions: int) -> bool:
    """Pull requests wait on every partition's consumer, ``n`` at least in all: the
    workers are up, bound and hold every partition."""
    infos = await _consumers(url, consumer, partitions)
    return (
        infos is not None
        and all(i.num_waiting for i in infos)
        and (sum(i.num_waiting or 0 for i in infos) >= n)
    )


async def bare_ceiling(url: str, totals: dict[str, int]) -> float:
    """A bare nats-py pull consumer over the whole central stream (each partition's
    consumer, created before the clock starts, read by a task of its own, as a worker
    holding them all does): fetch BATCH, ack each."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        # as the workers' consumers: no filter subject (the stream holds only the sites')
        config = ConsumerConfig(
            name="bench-bare", durable_name="bench-bare", ack_policy=AckPolicy.EXPLICIT, ack_wait=30
        )
        for name in totals:
            await js.add_consumer(name, config=config)
        subs = {
            name: await js.pull_subscribe_bind(durable="bench-bare", stream=name) for name in totals
        }

        async def drain(name: str, total: int) -> None:
            got = 0
            while got < total:
                with contextlib.suppress(nats.errors.TimeoutError):
                    for m in await subs[name].fetch(BATCH, timeout=1):
                        await m.ack()
                        got += 1

        start = time.perf_counter()
        await asyncio.gather(*(drain(name, n) for name, n in totals.items()))
        await nc.flush()
        return sum(totals.values()) / (time.perf_counter() - start)
    finally:
        await nc.close()


async def acked_until_drained(
    url: str, consumer: str, totals: dict[str, int], on_first: Callable[[], None]
) -> tuple[float, float, int]:
    """Sample the consumers' ack floors every 0.1 s (one connection) until every
    partition is drained; (time of the first sample with an ack, of the last, acks
    between them)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        first: tuple[float, int] | None = None
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                infos = [await js.consumer_info(name, consumer) for name in totals]
            except (nats.js.errors.NotFoundError, nats.errors.TimeoutError):
                await asyncio.sleep(0.1)
                continue
            now, acks = time.perf_counter(), sum(_seq(i.ack_floor) for i in infos)
            if first is None and acks > 0:
                first = (now, acks)
                on_first()
            done = all(
                _seq(i.delivered) >= totals[i.stream_name] and i.num_ack_pending == 0 for i in infos
            )
            if done and first is not None:
                return first[0], now, sum(totals.values()) - first[1]
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{consumer} not drained after {WAIT_S:.0f} s")
    finally:
        await nc.close()


async def workers_rate(
    url: str,
    influx: InfluxDB1Server,
    folder: Path,
    n: int,
    totals: dict[str, int],
    others: dict[str, list[int]],
) -> tuple[float, dict[str, float]]:
    """Stored msg/s of ``n`` fleet run processes, timed from their first acknowledgement
    (what it acknowledged is not counted; sharing out the partitions is timed) to the last
    acknowledgement; and the cores each process used meanwhile."""
    name = f"bench-{n}w"
    partitions = len(totals)
    influx.create_database(name.replace("-", "_"))
    config = central_file(
        folder / f"{name}.yaml",
        url,
        influx.url,
        name.replace("-", "_"),
        name,
        f"sites_{n}w",
        partitions,
    )
    with workers(config, folder, n) as procs:
        pids = {f"w{i + 1}": [w.proc.pid] for i, w in enumerate(procs)} | others
        cpu0: dict[str, float] = {}

        def first_ack() -> None:
            cpu0.update({k: sum(cpu_s(p) for p in ps) for k, ps in pids.items()})

        start, end, acks = await acked_until_drained(url, name, totals, first_ack)
        cpu = {k: (sum(cpu_s(p) for p in ps) - cpu0[k]) / (end - start) for k, ps in pids.items()}
        seen = counters(procs)
        per = seen["state_updates"] / seen["acked"] * 1000 if seen["acked"] else float("nan")
        print(
            f"  {name}: per 1,000 messages acknowledged {per:.1f}"
            f" site documents written; {seen['redelivered']:.0f} redelivered,"
            f" {seen['nacked']:.0f} handed back, {seen['errors']:.0f} NATS errors",
            flush=True,
        )
        if acks < sum(totals.values()) / 2:
            print(f"  {name}: {acks} messages after the first ack: too few to time (more backlog)")
            return float("nan"), cpu
        return acks / (end - start), cpu


def run(args: argparse.Namespace, folder: Path) -> int:
    """Start the servers (blocking), then drive the phases in one event loop."""
    centers = demo_centers(args.sites, seed=7)
    cluster = NatsCluster(folder / "cluster", size=3)
    influx = InfluxDB1Server(folder / "influxdb")
    leaves: list[NatsLeaf] = []
    try:
        cluster.start()
        influx.start()
        influx.create_database("nominal")
        groups: list[list[FleetSubjects]] = [[] for _ in range(args.leaves)]
        sites = []
        t0 = time.monotonic()
        for i, c in enumerate(centers):
            subjects = FleetSubjects("floorwatch", c.province, c.site_id)
            sim = SimulatedCenter(center_settings(c), subjects, c.seed, PEAK, sample_s=1.0)
            sites.append(Site(subjects, sim, i % args.leaves))
            groups[i % args.leaves].append(subjects)
        print(f"{len(sites)} simulated centers ready in {time.monotonic() - t0:.0f} s", flush=True)
        t0 = time.monotonic()
        for g in groups:
            leaf = NatsLeaf(folder / "leaves" / g[0].site, g[0], cluster.leaf_urls)
            leaves.append(leaf)
            leaf.start()
        print(f"{len(leaves)} leaves started in {time.monotonic() - t0:.0f} s", flush=True)
        return asyncio.run(drive(args, folder, cluster, influx, leaves, groups, sites))
    finally:
        for leaf in leaves:
            leaf.stop()
        cluster.stop()
        influx.stop()


async def drive(
    args: argparse.Namespace,
    folder: Path,
    cluster: NatsCluster,
    influx: InfluxDB1Server,
    leaves: list[NatsLeaf],
    groups: list[list[FleetSubjects]],
    sites: list[Site],
) -> int:
    for leaf, g in zip(leaves, groups, strict=True):
        nc = await nats.connect(leaf.url)
        try:
            await nc.jetstream().add_stream(
                StreamConfig(
                    name=STREAM, subjects=[s.site_wildcard for s in g], duplicate_window=600
                )
            )
        finally:
            await nc.close()
    nc = await nats.connect(cluster.urls)
    try:
        # one request creates the stream with every source: give it time (300 sources)
        await add_sites(
            nc.jetstream(timeout=120),
            [leaf.domain for leaf in leaves],
            partitions=args.partitions,
            replicas=3,
        )
    finally:
        await nc.close()
    url = cluster.urls[0]
    for s in sites:
        cfg = FleetConfig(
            enabled=True,
            url=leaves[s.leaf].url,
            province=s.subjects.province,
            create_stream=False,
            queue_size=1_000_000,
            retry_min_s=0.1,
            retry_max_s=1,
            heartbeat_s=0,  # the stream counts the offered states; heartbeats: docs/fleet.md
        )
        s.uplink = FleetUplink(cfg, s.subjects, _nothing)
    tasks = [asyncio.create_task(s.uplink.run()) for s in sites if s.uplink is not None]
    try:
        return await phases(args, folder, url, cluster, influx, leaves, sites)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def phases(
    args: argparse.Namespace,
    folder: Path,
    url: str,
    cluster: NatsCluster,
    influx: InfluxDB1Server,
    leaves: list[NatsLeaf],
    sites: list[Site],
) -> int:
    latency = Latency(influx.url, "nominal")
    parts = args.partitions
    config = central_file(
        folder / "nominal.yaml", url, influx.url, "nominal", "nominal", "nominal", parts
    )
    nominal_end = PEAK + timedelta(seconds=args.seconds * SPEED)
    cpu0 = {leaf.domain: cpu_s(pid_of(leaf)) for leaf in leaves}
    with workers(config, folder, 2):
        await until("two workers fetching", lambda: fetching(url, "nominal", 2, parts))
        # the partitions shared out before the clock starts (a hand-over in the timed
        # phase would be a start-up's, not the nominal load's)
        await until("the partitions shared", lambda: balanced(url, "leases_nominal", 2, parts))
        # 0. warm-up, not timed: every center's first states and devices at once (a start-up
        # burst, not the nominal load), through to the store
        for s in sites:
            for m in s.sim.step(PEAK):
                s.uplink.offer(m)  # type: ignore[union-attr]
        await until(
            "the uplinks' queues empty",
            lambda: all(s.uplink.pending == 0 for s in sites if s.uplink is not None),
        )
        warm = sum(s.uplink.stats.published for s in sites if s.uplink is not None)
        await until("the warm-up in the stream", lambda: _at_least(url, warm, parts))
        counts = await stream_counts(url, parts)
        await until("the warm-up stored", lambda: drained(url, "nominal", counts))
        # 1. nominal: the scene at 10x real time, each state timed to the store
        start = time.monotonic()
        last_poll = 0.0
        offered = 0
        while True:
            scene = PEAK + timedelta(seconds=(time.monotonic() - start) * SPEED)
            if scene > nominal_end:
                break
            for s in sites:
                for m in s.sim.step(scene):
                    latency.offer(m)
                    s.uplink.offer(m)  # type: ignore[union-attr]
                    offered += 1
            if time.monotonic() - last_poll >= POLL_S:
                last_poll = time.monotonic()
                since = PEAK + timedelta(seconds=(last_poll - start - WINDOW_S) * SPEED)
                await latency.poll(since)
            await asyncio.sleep(TICK_S)
        elapsed = time.monotonic() - start
        settle = time.monotonic()
        while time.monotonic() - settle < 15:  # the last states: still timed
            last_poll = time.monotonic()
            since = PEAK + timedelta(seconds=(last_poll - start - WINDOW_S) * SPEED)
            await latency.poll(since)
            await asyncio.sleep(POLL_S)
    n, missing, p50, p99 = latency.figures()
    nominal_rate = rate = offered / elapsed
    leaf_cpu = sum(cpu_s(pid_of(leaf)) - cpu0[leaf.domain] for leaf in leaves)
    leaf_rss = [rss_mb(pid_of(leaf)) for leaf in leaves]
    print(
        f"nominal: {len(sites)} sites at {SPEED:g}x a busy day's peak: {offered} messages in"
        f" {elapsed:.0f} s = {rate:,.1f} msg/s ({rate / SPEED / len(sites):.3f} msg/s per site"
        " at 1x)",
        flush=True,
    )
    kinds: dict[str, int] = {}
    for s in sites:
        for k, v in s.sim.stats.by_kind.items():
            kinds[k] = kinds.get(k, 0) + v
    print(f"  mix (warm-up included): {kinds}")
    print(
        f"  leaves: {len(leaves)} nats-servers, RSS {statistics.mean(leaf_rss):.1f} MB each"
        f" (max {max(leaf_rss):.1f}), {leaf_cpu / elapsed:.2f} cores for all of them"
    )
    print(
        f"  site -> central store: {n} zone states, {missing} not seen within"
        f" {WINDOW_S:.0f} s; p50 {p50:.2f} s, p99 {p99:.2f} s (target <= {P99_TARGET_S} s;"
        f" +{POLL_S} s polling)",
        flush=True,
    )
    # 2. backlog: the centers play more of the day at once
    backlog_end = nominal_end + timedelta(hours=args.backlog_hours)
    for s in sites:
        for m in s.sim.step(backlog_end):
            s.uplink.offer(m)  # type: ignore[union-attr]
    await until(
        "the uplinks' queues empty",
        lambda: all(s.uplink.pending == 0 for s in sites if s.uplink is not None),
    )
    published = sum(s.uplink.stats.published for s in sites if s.uplink is not None)
    await until(
        "every message in the central stream",
        lambda: _at_least(url, published, parts),
    )
    totals = await stream_counts(url, parts)
    total = sum(totals.values())
    print(
        f"central stream: {total} messages (backlog of {args.backlog_hours} h played)"
        f" in {parts} partition(s): {', '.join(f'{k} {v}' for k, v in totals.items())}"
    )
    # 3. the ceiling, then one and two workers, each over the whole stream
    proc = influx._process.proc if influx._process else None  # noqa: SLF001
    others = {
        "cluster": [n._process.proc.pid for n in cluster.nodes if n._process.proc],  # noqa: SLF001
        "influxdb": [proc.pid] if proc else [],
        "leaves": [pid_of(leaf) for leaf in leaves],
        "bench": [os.getpid()],
    }
    c0, t0 = sum(cpu_s(p) for p in others["cluster"]), time.perf_counter()
    bare = await bare_ceiling(url, totals)
    bare_cl = (sum(cpu_s(p) for p in others["cluster"]) - c0) / (time.perf_counter() - t0)
    one, one_cpu = await workers_rate(url, influx, folder, 1, totals, others)
    two, two_cpu = await workers_rate(url, influx, folder, 2, totals, others)
    print(
        f"(a) bare nats-py pull consumer (fetch {BATCH}, ack each): {bare:,.0f} msg/s"
        f"  [cluster {bare_cl:.2f} core]"
    )
    print(f"(b) 1 fleet run process, stored:                      {one:,.0f} msg/s")
    print(f"      cores: {_cores(one_cpu)}; {_per_msg(one_cpu, one)}")
    print(f"(c) 2 fleet run processes, stored:                    {two:,.0f} msg/s")
    print(f"      cores: {_cores(two_cpu)}; {_per_msg(two_cpu, two)}")
    # What 2 cores allow (c): the cores the rest of the bench leaves (the leaves, this
    # process) over the CPU each stored message costs the workers, the cluster and
    # InfluxDB, as (b) measured them.
    cores = os.cpu_count() or 1
    spare = cores - one_cpu["leaves"] - one_cpu["bench"]
    used = sum(v for k, v in one_cpu.items() if k.startswith("w") or k in ("cluster", "influxdb"))
    ceiling = spare / (used / one) if one == one and used else float("nan")
    print(
        f"    (c) cannot exceed {ceiling:,.0f} msg/s on {cores} cores = {ceiling / one:.2f}x (b)"
        f" ({spare:.2f} cores left by the leaves and this process, over"
        f" {used / one * 1e6:.0f} µs of CPU per stored message in (b))"
    )
    ratio, scale = one / bare, two / one
    print(f"ratio (b)/(a): {ratio:.2f} (target >= {RATIO_TARGET})")
    print(f"scaling (c)/(b): {scale:.2f}x (target >= {SCALE_TARGET}x on 2 cores)")
    print(f"headroom of 2 workers over the nominal load: {two / nominal_rate:,.0f}x")
    missed = [
        name
        for name, ok in (
            ("p99", p99 <= P99_TARGET_S),
            ("ratio", ratio >= RATIO_TARGET),
            ("scaling", scale >= SCALE_TARGET),
        )
        if not ok
    ]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
        return 1
    print("every target met")
    return 0


async def _at_least(url: str, n: int, partitions: int) -> bool:
    return await stream_count(url, partitions) >= n


def _cores(cpu: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f} core" for k, v in cpu.items())


def _per_msg(cpu: dict[str, float], rate: float) -> str:
    """CPU per stored message: the workers', the cluster's, InfluxDB's."""
    if not rate or rate != rate:
        return "-"
    workers = sum(v for k, v in cpu.items() if k.startswith("w"))
    return (
        f"per message {workers / rate * 1e6:.0f} µs workers, {cpu['cluster'] / rate * 1e6:.0f} µs"
        f" cluster, {cpu['influxdb'] / rate * 1e6:.0f} µs InfluxDB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=30, help="leaf nats-servers (<= sites)")
    parser.add_argument("--seconds", type=float, default=60, help="nominal phase, real seconds")
    parser.add_argument("--backlog-hours", type=float, default=3.0)
    parser.add_argument(
        "--partitions",
        type=int,
        default=8,
        help="central stream partitions (nats.partitions); 1: one stream all workers share",
    )
    parser.add_argument("--in-flight", type=int, default=4, help="nats.in_flight of the workers")
    parser.add_argument(
        "--kv-interval", type=float, default=1.0, help="nats.kv_interval_s of the workers"
    )
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the fleet run processes' logs to this folder"
    )
    args = parser.parse_args(argv)
    IN_FLIGHT[0] = args.in_flight
    KV_INTERVAL_S[0] = args.kv_interval
    args.leaves = max(1, min(args.leaves, args.sites))
    configure_logging(json=False, level="error")  # the uplinks' reconnection warnings
    logging.getLogger("nats.aio.client").setLevel(logging.CRITICAL)  # connect retries under load
    with tempfile.TemporaryDirectory() as folder:
        try:
            return run(args, Path(folder))
        finally:
            if args.keep_logs is not None:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in Path(folder).glob("*.log"):
                    shutil.copy(log, args.keep_logs / log.name)


if __name__ == "__main__":
    sys.exit(main())
