"""``floorwatch fleet run`` started while the cluster has lost its quorum waits for it.

A 3-node cluster with its central streams, two of its nodes then killed: the
one left has no meta leader, so the process's first requests (its buckets)
go unanswered. The process logs ``fleet.start_waiting`` and stays up, instead
of ending on the first ``nats: timeout`` (as a bench worker did, started
beside another while the cluster was busy); once the nodes are back it
creates its R3 buckets, takes both partitions and stores what comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.js.api import StreamConfig

from gateway.fleet.messages import FleetSubjects, zone_message
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsCluster
from tests.integration.fleet_cluster_support import (
    central_file,
    stored,
    wait_for,
    worker,
    zone,
)

PARTITIONS = ("FLOORWATCH", "FLOORWATCH_1")
SITES = (FleetSubjects("floorwatch", "hue", "a"), FleetSubjects("floorwatch", "hue", "b"))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path / "cluster", size=3) as c:
        yield c


async def streams(urls: list[str]) -> None:
    """A partition stream per site (R3), as ``fleet sources --add`` would place them."""
    nc = await nats.connect(urls)
    try:
        js = nc.jetstream()
        for name, site in zip(PARTITIONS, SITES, strict=True):
            subjects = [site.site_wildcard]
            await js.add_stream(StreamConfig(name=name, subjects=subjects, num_replicas=3))
    finally:
        await nc.close()


async def publish(urls: list[str], n: int) -> None:
    nc = await nats.connect(urls)
    try:
        js = nc.jetstream()
        for site in SITES:
            for i in range(n):
                m = zone_message(site, zone(i))
                for _ in range(100):  # the streams elect their leaders again: up to 10 s
                    try:
                        await js.publish(m.subject, m.payload, headers=m.headers)
                        break
                    except (nats.js.errors.NoStreamResponseError, nats.errors.TimeoutError):
                        await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"{m.subject}: no stream took it")
    finally:
        await nc.close()


def test_a_process_started_without_quorum_waits_then_takes_its_partitions(
    cluster: NatsCluster, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    asyncio.run(streams(cluster.urls))
    cluster.kill(1)
    cluster.kill(2)
    config = central_file(
        tmp_path / "central.yaml",
        cluster.urls[0],
        influxdb1.url,
        influxdb1_database,
        "sites_start",
        partitions=2,
        leases="leases_start",
        source_watch=False,
    )
    log = tmp_path / "w1.log"
    with worker(config, tmp_path / "w1") as proc:
        wait_for(
            "the start-up waiting (or the process's end)",
            lambda: "fleet.start_waiting" in log.read_text() or proc.poll() is not None,
        )
        assert proc.poll() is None  # still running: not ended by the unanswered request
        assert "fleet.run_failed" not in log.read_text()
        cluster.start_node(1)
        cluster.start_node(2)
        wait_for("both partitions taken", lambda: log.read_text().count("partition_taken") == 2)
        asyncio.run(publish(cluster.urls, 5))
        wait_for(
            "both sites stored",
            lambda: stored(influxdb1, influxdb1_database) == {s.site: 5 for s in SITES},
        )
        assert proc.poll() is None
    text = log.read_text()
    assert "step=site bucket" in text or "step='site bucket'" in text
