"""The fleet's failure stories on real processes: a 3-node cluster, site leaves, workers, InfluxDB.

Each site publishes through the real uplink to its own leaf (JetStream in the
site's domain); the central stream (R3) sources the sites' streams; two
``floorwatch fleet run`` processes write it into a real InfluxDB 1.x.

- A site's link cut (a TCP proxy between its leaf and the cluster) for 10
  minutes of scene time while it keeps producing, another site unaffected:
  afterwards every message is in the central stream once, in order per site,
  and in the store once per message.
- The central stream's leader node SIGKILLed mid-stream: the stream and the
  consumers carry on on the other two, nothing lost or doubled; the node
  comes back and catches up.
- A worker SIGKILLed mid-stream: the other takes over, the lag drains.

The cluster is shared by the module; each test has the central stream
(FLOORWATCH, the sites' stream's name) to itself and deletes it at its end; a
test that kills a node starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest

from gateway.fleet.central_stream import add_sites
from gateway.fleet.messages import FleetSubjects
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsCluster, wait_jetstream
from tests.integration.fleet_cluster_support import (
    STREAM,
    WAIT_S,
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

CUT_MINUTES = 10
STATES_PER_MINUTE = 30  # one state every 2 s of scene time


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """The module's 3-node cluster; node 0's leafnode port is behind a LinkProxy (``proxies[0]``)."""
    with NatsCluster(tmp_path_factory.mktemp("cluster"), size=3, proxied=[0]) as c:
        yield c


@pytest.fixture
def central(cluster: NatsCluster) -> Iterator[str]:
    """The central stream's name; the stream (and its consumers) is deleted after the test."""

    async def delete() -> None:
        nc = await nats.connect(cluster.urls)
        try:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_stream(STREAM)
        finally:
            await nc.close()

    asyncio.run(delete())
    yield STREAM
    asyncio.run(delete())


def site(name: str) -> FleetSubjects:
    return FleetSubjects("floorwatch", "hue", name)


async def central_count(urls: list[str], stream: str) -> int:
    nc = await nats.connect(urls)
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    finally:
        await nc.close()


async def source_sites(urls: list[str], stream: str, domains: list[str]) -> None:
    nc = await nats.connect(urls)
    try:
        await add_sites(nc.jetstream(), domains, name=stream)
    finally:
        await nc.close()


async def central_messages(urls: list[str], stream: str) -> list[tuple[str, str, str]]:
    nc = await nats.connect(urls)
    try:
        return await stream_messages(nc.jetstream(), stream)
    finally:
        await nc.close()


def test_a_site_cut_off_for_ten_minutes_of_scene_time_arrives_whole_in_order_and_once(
    cluster: NatsCluster,
    nats_leaf: LeafFactory,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    central: str,
    tmp_path: Path,
) -> None:
    stream, db, urls = central, influxdb1_database, cluster.urls
    a, b = site("cut-off"), site("connected")
    link = cluster.proxies[0]
    before = link.connections
    leaf_a = nats_leaf(a, hub_urls=[link.url])  # its only way to the cluster: the proxy
    leaf_b = nats_leaf(b, hub_urls=cluster.leaf_urls[1:])
    asyncio.run(source_sites(urls, stream, [leaf_a.domain, leaf_b.domain]))
    config = central_file(
        tmp_path / "central.yaml", urls[1], influxdb1.url, db, f"sites_{tmp_path.name}"
    )
    minute = STATES_PER_MINUTE
    with worker(config, tmp_path / "w1"), worker(config, tmp_path / "w2"):

        async def scene() -> None:
            async with sites([(a, leaf_a.url), (b, leaf_b.url)]) as (site_a, site_b):
                for s in (site_a, site_b):  # one minute with the link up
                    s.produce(minute)
                    await s.stored_locally()
                await wait_until(
                    "the first minute centrally",
                    lambda: stored(influxdb1, db) == {a.site: minute, b.site: minute},
                )
                link.cut()
                for _ in range(CUT_MINUTES):  # ten minutes of scene time, cut off
                    for s in (site_a, site_b):
                        s.produce(minute)
                        await s.stored_locally()
                await wait_until(
                    "the connected site's ten minutes centrally",
                    lambda: stored(influxdb1, db).get(b.site) == 11 * minute,
                )
                # the cut-off site's ten minutes are on its own disk, not centrally
                assert stored(influxdb1, db)[a.site] == minute
                assert link.is_cut
                link.restore()
                for s in (site_a, site_b):  # one more minute after the link is back
                    s.produce(minute)
                    await s.stored_locally()

        asyncio.run(scene())
        total = (CUT_MINUTES + 2) * minute
        wait_for(
            "every state centrally",
            lambda: stored(influxdb1, db) == {a.site: total, b.site: total},
        )
        wait_for("no lag", lambda: asyncio.run(lag(urls, stream)) == (0, 0))
    messages = asyncio.run(central_messages(urls, stream))
    assert len(messages) == 2 * total
    assert_each_once_in_order(messages, {a.site: total, b.site: total})
    assert link.connections >= before + 2  # the leaf connected, was cut, came back


def test_the_stream_leader_node_killed_mid_stream_loses_and_doubles_nothing(
    cluster: NatsCluster,
    nats_leaf: LeafFactory,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    central: str,
    tmp_path: Path,
) -> None:
    stream, db, urls = central, influxdb1_database, cluster.urls
    a, b = site("node-a"), site("node-b")
    direct = cluster.leaf_urls[1:]  # not through the proxy
    leaf_a, leaf_b = nats_leaf(a, hub_urls=direct), nats_leaf(b, hub_urls=direct)
    asyncio.run(source_sites(urls, stream, [leaf_a.domain, leaf_b.domain]))

    async def leader() -> int:
        nc = await nats.connect(urls)
        try:
            info = await nc.jetstream().stream_info(stream)
        finally:
            await nc.close()
        assert info.cluster is not None
        return [n.name for n in cluster.plan.nodes].index(str(info.cluster.leader))

    victim = asyncio.run(leader())
    # the workers' seed URL is the victim's: they must fail over to the others
    config = central_file(
        tmp_path / "central.yaml", urls[victim], influxdb1.url, db, f"sites_{tmp_path.name}"
    )
    n = 200
    with worker(config, tmp_path / "w1"), worker(config, tmp_path / "w2"):

        async def scene() -> None:
            async with sites([(a, leaf_a.url), (b, leaf_b.url)]) as pair:
                for s in pair:
                    s.produce(n // 2)
                await wait_until("some points", lambda: sum(stored(influxdb1, db).values()) > 0)
                cluster.kill(victim)
                for s in pair:
                    s.produce(n // 2)
                    await s.stored_locally()

        try:
            asyncio.run(scene())
            alive = [u for i, u in enumerate(urls) if i != victim]
            wait_for(
                "every state centrally", lambda: stored(influxdb1, db) == {a.site: n, b.site: n}
            )
            wait_for("no lag", lambda: asyncio.run(lag(alive, stream)) == (0, 0))
            messages = asyncio.run(central_messages(alive, stream))
        finally:
            cluster.start_node(victim)
    assert len(messages) == 2 * n
    assert_each_once_in_order(messages, {a.site: n, b.site: n})
    # the node is back and serves the stream again, with every message
    wait_jetstream([urls[victim]], None, WAIT_S)
    wait_for(
        "the restarted node caught up",
        lambda: asyncio.run(central_count([urls[victim]], stream)) == 2 * n,
    )


def test_a_worker_sigkilled_on_the_cluster_the_other_takes_over_and_the_lag_drains(
    cluster: NatsCluster,
    nats_leaf: LeafFactory,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    central: str,
    tmp_path: Path,
) -> None:
    stream, db, urls = central, influxdb1_database, cluster.urls
    a = site("worker-a")
    leaf_a = nats_leaf(a, hub_urls=cluster.leaf_urls[1:])
    asyncio.run(source_sites(urls, stream, [leaf_a.domain]))
    config = central_file(
        tmp_path / "central.yaml", urls[2], influxdb1.url, db, f"sites_{tmp_path.name}"
    )
    n = 400
    with worker(config, tmp_path / "w1") as one, worker(config, tmp_path / "w2") as two:

        async def scene() -> None:
            async with sites([(a, leaf_a.url)]) as (s,):
                s.produce(n // 2)
                await wait_until("some points", lambda: stored(influxdb1, db).get(a.site, 0) > 0)
                one.send_signal(signal.SIGKILL)
                s.produce(n // 2)  # only the survivor is left
                await s.stored_locally()

        asyncio.run(scene())
        assert one.wait() == -signal.SIGKILL
        wait_for(f"{n} points", lambda: stored(influxdb1, db) == {a.site: n})
        wait_for("no lag", lambda: asyncio.run(lag(urls, stream)) == (0, 0))
        two.send_signal(signal.SIGTERM)
        assert two.wait(timeout=WAIT_S) == 0
    assert_each_once_in_order(asyncio.run(central_messages(urls, stream)), {a.site: n})
