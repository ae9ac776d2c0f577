"""A site's backlog after a cut link: JetStream sourcing against a bare cross-link reader, same run.

    .venv/bin/python -m bench.fleet_catchup [--messages 10000]

On a 3-node JetStream cluster and one site leaf whose only way to the cluster
is a LinkProxy (loopback, temp folders, gateway.peers.nats):

  backlog: N zone messages (~800 bytes, with their Nats-Msg-Id) published to
      the leaf's stream while the link is cut, then the link restored;
  (a) ceiling: a bare nats-py client on the cluster reads the site's stream
      across the link through the site's domain (``jetstream(domain=...)``, an
      ordered push consumer: delivery only, no acks, nothing stored);
  (b) floorwatch's topology: the central stream (R3, no subjects) gets the
      site's source (gateway.fleet.central_stream.add_sites); time until it
      holds all N.

Prints both rates (msg/s), the ratio (b)/(a), and how long a week of a busy
center's zone states (5.5 msg/s over 10 opening hours a day) would take at (b).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import nats
import nats.errors

from bench.fleet_uplink import messages
from gateway.fleet.central_stream import add_sites
from gateway.fleet.messages import FleetSubjects
from gateway.peers.nats import NatsCluster, NatsLeaf

STREAM = "FLOORWATCH"
BUSY_WEEK = 5.5 * 10 * 3600 * 7  # messages: 11 zones every 2 s, 10 h a day, 7 days
WAIT_S = 600.0


async def backlog(leaf: NatsLeaf, subjects: FleetSubjects, n: int) -> None:
    nc = await nats.connect(leaf.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=[subjects.site_wildcard], duplicate_window=600)
        for m in messages(subjects, n):
            await js.publish(m.subject, m.payload, stream=STREAM, headers=m.headers)
    finally:
        await nc.close()


async def ceiling(cluster: NatsCluster, domain: str, subjects: FleetSubjects, n: int) -> float:
    """msg/s of a bare ordered consumer on the cluster reading the site's stream across the link.

    Delivery only (no acks, nothing stored): what the link and the site's server
    can hand over, the upper bound of any copy to the cluster.
    """
    nc = await nats.connect(cluster.urls)
    try:
        js = nc.jetstream(domain=domain)
        done = asyncio.Event()
        got = 0

        async def count(_msg: object) -> None:
            nonlocal got
            got += 1
            if got >= n:
                done.set()

        start = time.perf_counter()
        sub = await js.subscribe(
            subjects.site_wildcard, stream=STREAM, ordered_consumer=True, cb=count
        )
        await asyncio.wait_for(done.wait(), WAIT_S)
        rate = n / (time.perf_counter() - start)
        await sub.unsubscribe()
        return rate
    finally:
        await nc.close()


async def sourced(cluster: NatsCluster, domain: str, n: int) -> float:
    """msg/s of the central stream's source catching up with the site's stream."""
    nc = await nats.connect(cluster.urls)
    try:
        js = nc.jetstream()
        start = time.perf_counter()
        await add_sites(js, [domain])
        deadline = start + WAIT_S
        while (await js.stream_info(STREAM)).state.messages < n:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the central stream did not reach {n} in {WAIT_S:.0f} s")
            await asyncio.sleep(0.05)
        return n / (time.perf_counter() - start)
    finally:
        await nc.close()


async def wait_for_link(cluster: NatsCluster, domain: str) -> None:
    """Until the site's JetStream answers from the cluster's side (the link is up)."""
    nc = await nats.connect(cluster.urls)
    try:
        js = nc.jetstream(domain=domain)
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                await js.stream_info(STREAM)
                return
            except nats.errors.Error:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000)
    n = parser.parse_args(argv).messages
    subjects = FleetSubjects("floorwatch", "hue", "bench-site")
    with tempfile.TemporaryDirectory(prefix="fleet-catchup-") as tmp:
        folder = Path(tmp)
        with NatsCluster(folder / "cluster", size=3, proxied=[0]) as cluster:
            link = cluster.proxies[0]
            leaf = NatsLeaf(folder / "leaf", subjects, [link.url])
            with leaf:
                link.cut()
                t0 = time.perf_counter()
                asyncio.run(backlog(leaf, subjects, n))
                print(
                    f"backlog: {n} messages on the site's disk in {time.perf_counter() - t0:.1f} s"
                )
                link.restore()
                asyncio.run(wait_for_link(cluster, leaf.domain))
                a = asyncio.run(ceiling(cluster, leaf.domain, subjects, n))
                b = asyncio.run(sourced(cluster, leaf.domain, n))
    print(f"(a) ceiling, a bare ordered consumer across the link: {a:,.0f} msg/s")
    print(f"(b) the central stream's source (R3, stored):         {b:,.0f} msg/s")
    print(f"ratio (b)/(a): {b / a:.2f}")
    print(
        f"a busy center's week ({BUSY_WEEK:,.0f} zone states) at (b): "
        f"{BUSY_WEEK / b / 60:.1f} min on loopback"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
