"""The central stream in partitions (``nats.partitions: 2``) on real processes.

A 3-node cluster, four site leaves placed two and two over ``FLOORWATCH`` and
``FLOORWATCH_1`` (central_stream.add_sites), two ``floorwatch fleet run``
processes with partition leases, InfluxDB 1.x:

- each process reads one partition (its log says which; the lease bucket
  names a different holder for each), every state of every site is stored
  once, in order per site;
- one process SIGKILLed: its lease expires and the other takes its partition
  too; what the sites produce meanwhile is stored, the lag of both partitions
  drains.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest

from gateway.fleet.central_stream import add_sites, sourced_domains
from gateway.fleet.messages import FleetSubjects
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsCluster
from tests.integration.fleet_cluster_support import (
    FLOORWATCH,
    assert_each_once_in_order,
    central_file,
    lag,
    sites,
    stored,
    stream_messages,
    wait_for,
    wait_until,
    worker,
)
from tests.peers.nats import LeafFactory

PARTITIONS = ("FLOORWATCH", "FLOORWATCH_1")
LEASES = "test_partitions"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path_factory.mktemp("cluster"), size=3) as c:
        yield c


def events(log: Path) -> list[tuple[str, str]]:
    """(event, partition) of a worker's log lines that take or hand back a partition."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        for event in ("fleet.partition_taken", "fleet.partition_released"):
            if event in line:
                out.append((event, line.split("stream=")[1].split()[0].strip("'\"")))
    return out


async def holders(urls: list[str]) -> dict[str, str]:
    nc = await nats.connect(urls)
    try:
        kv = await nc.jetstream().key_value(LEASES)
        out = {}
        for name in PARTITIONS:
            try:
                entry = await kv.get(f"part.{name}")
            except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
                continue
            out[name] = (entry.value or b"").decode()
        return out
    finally:
        await nc.close()


async def placement(urls: list[str], domains: list[str]) -> dict[str, tuple[str, ...]]:
    nc = await nats.connect(urls)
    try:
        js = nc.jetstream()
        await add_sites(js, domains, partitions=2)
        return {name: sourced_domains(await js.stream_info(name)) for name in PARTITIONS}
    finally:
        await nc.close()


async def all_messages(urls: list[str]) -> list[tuple[str, str, str]]:
    nc = await nats.connect(urls)
    try:
        out = []
        for name in PARTITIONS:
            out += await stream_messages(nc.jetstream(), name)
        return out
    finally:
        await nc.close()


def test_two_processes_read_a_partition_each_and_one_takes_both_when_the_other_dies(
    cluster: NatsCluster,
    nats_leaf: LeafFactory,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path: Path,
) -> None:
    db, urls = influxdb1_database, cluster.urls
    names = [FleetSubjects("floorwatch", "hue", f"part-{i}") for i in range(4)]
    leaves = [nats_leaf(s, hub_urls=cluster.leaf_urls) for s in names]
    placed = asyncio.run(placement(urls, [leaf.domain for leaf in leaves]))
    # the least sourced partition first: a, b, a, b
    assert placed == {
        "FLOORWATCH": (leaves[0].domain, leaves[2].domain),
        "FLOORWATCH_1": (leaves[1].domain, leaves[3].domain),
    }
    config = central_file(
        tmp_path / "central.yaml",
        urls[0],
        influxdb1.url,
        db,
        f"sites_{tmp_path.name}",
        partitions=2,
        leases=LEASES,
        source_watch=False,
    )
    n = 60
    with worker(config, tmp_path / "w1") as one, worker(config, tmp_path / "w2"):

        async def scene() -> None:
            async with sites([(s, leaf.url) for s, leaf in zip(names, leaves, strict=True)]) as ss:
                for s in ss:
                    s.produce(n)
                    await s.stored_locally()

        asyncio.run(scene())
        wait_for(
            "every state centrally", lambda: stored(influxdb1, db) == {s.site: n for s in names}
        )
        wait_for(
            "each process holds one partition",
            lambda: len(set(asyncio.run(holders(urls)).values())) == 2,
        )
        first = asyncio.run(holders(urls))
        # each took what it holds; a first one that took both handed one back
        logs = [events(tmp_path / f"{p}.log") for p in ("w1", "w2")]
        released = [p for log in logs for e, p in log if e == "fleet.partition_released"]
        taken = sorted(p for log in logs for e, p in log if e == "fleet.partition_taken")
        assert len(released) <= 1 and taken == sorted([*PARTITIONS, *released]), logs
        one.send_signal(signal.SIGKILL)
        assert one.wait() == -signal.SIGKILL

        async def more() -> None:
            async with sites([(s, leaf.url) for s, leaf in zip(names, leaves, strict=True)]) as ss:
                for s in ss:  # states n .. 2n-1, through a new uplink
                    s.produced = n
                    s.produce(n)
                for s in ss:
                    st = s.uplink.stats
                    await wait_until(
                        f"{s.subjects.site} acked {n} more",
                        lambda st=st: st.published + st.duplicates >= n,
                    )

        asyncio.run(more())
        wait_for(
            "every state of both rounds centrally",
            lambda: stored(influxdb1, db) == {s.site: 2 * n for s in names},
        )
        wait_for(
            "the survivor holds both partitions",
            lambda: len(h := asyncio.run(holders(urls))) == 2 and len(set(h.values())) == 1,
        )
        survivor = set(asyncio.run(holders(urls)).values())
        assert survivor < set(first.values())  # one of the two, the one still alive
        for name in PARTITIONS:
            wait_for(f"no lag on {name}", lambda name=name: asyncio.run(lag(urls, name)) == (0, 0))
    messages = asyncio.run(all_messages(urls))
    assert_each_once_in_order(messages, {s.site: 2 * n for s in names})
    # fleet status --central reads every partition: its streams, consumers and centers
    done = subprocess.run(  # noqa: S603 - our own command
        [str(FLOORWATCH), "fleet", "status", "--central", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    status = json.loads(done.stdout)
    parts = {p["name"]: p["messages"] for p in status["partitions"]}
    assert set(parts) == set(PARTITIONS) and sum(parts.values()) == len(messages), status
    assert {c["name"] for c in status["consumers"]} == {f"{p}/fleet-central" for p in PARTITIONS}
    assert {s["site"] for s in status["sites"]} == {s.site for s in names}
