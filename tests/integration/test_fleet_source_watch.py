"""The source watch (gateway/fleet/source_watch.py) on a real 3-node cluster with site leaves.

- ``restart_source`` resumes after the last message the central stream holds
  from the site: with a 1-second duplicate window (so de-duplication cannot
  hide a copy), every message is there once after the restart, and the ones
  the site sends afterwards arrive too.
- ``check``: a healthy source is left alone; a source whose site stream did
  not exist when it was added (never heard) while the site's server now
  answers is restarted and its messages arrive, once; a source whose site has
  no server (never heard, no answer) is counted unreachable and left alone.
  The clock is injected: silence is what the stream's leader reports, or, for
  a never-heard source, the watch's own clock.
- The lease: of two watches on one bucket one holds it; when the holder stops
  renewing, the other takes it once the entry expired.
- ``fleet sources --remove`` takes a source out; the messages it brought stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest
from nats.aio.client import Client
from pydantic import SecretStr

from gateway.fleet.central_config import CentralNatsConfig, SourceWatchConfig
from gateway.fleet.central_stream import add_sites, restart_source
from gateway.fleet.messages import FleetKind, FleetSubjects
from gateway.fleet.source_health import parse_sources
from gateway.fleet.source_watch import SourceWatch
from gateway.fleet.topology import Login, gateway_login, link_login, site_domain
from gateway.peers.nats import NatsCluster, NatsLeaf
from tests.integration.fleet_cluster_support import STREAM, WAIT_S, Site, sites, wait_until

A = FleetSubjects("floorwatch", "hue", "thuan-hoa")
B = FleetSubjects("floorwatch", "hue", "phu-xuan")
CENTRAL = Login("fleet-central", "central-password-for-the-test")


def link(s: FleetSubjects) -> Login:
    return link_login(s.province, s.site, f"link-{s.site}")


def gateway(s: FleetSubjects) -> Login:
    return gateway_login(s, "gateway", f"gw-{s.site}-password")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    with NatsCluster(
        tmp_path_factory.mktemp("cluster"), users=[CENTRAL], links=[link(A), link(B)]
    ) as c:
        yield c


def nats_cfg(cluster: NatsCluster, **extra: object) -> CentralNatsConfig:
    return CentralNatsConfig.model_validate(
        {
            "url": cluster.urls[0],
            "user": CENTRAL.name,
            "password": CENTRAL.password,
            "stream": STREAM,
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def central(cluster: NatsCluster) -> AsyncIterator[Client]:
    nc = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
    try:
        yield nc
    finally:
        await nc.close()


async def fresh_stream(nc: Client, domains: list[str], duplicate_window_s: float = 600) -> None:
    js = nc.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(STREAM)
    await add_sites(js, domains, duplicate_window_s=duplicate_window_s)


async def central_count(nc: Client, s: FleetSubjects) -> int:
    """The site's zone states in the central stream (0 while there is no stream)."""
    try:
        info = await nc.jetstream().stream_info(STREAM, subjects_filter=s.subject(FleetKind.ZONE))
    except nats.js.errors.NotFoundError:
        return 0
    return int((info.state.subjects or {}).get(s.subject(FleetKind.ZONE), 0))


async def while_counting(
    cluster: NatsCluster,
    sites_by_name: dict[str, FleetSubjects],
    counts: dict[str, int],
    main: Callable[[], Awaitable[None]],
) -> None:
    """Run ``main`` while ``counts[name]`` follows each site's zone states in the central
    stream (read every 0.2 s on a connection of its own)."""

    async def count_loop() -> None:
        async with central(cluster) as nc:
            while True:
                for name, s in sites_by_name.items():
                    counts[name] = await central_count(nc, s)
                await asyncio.sleep(0.2)

    counter = asyncio.create_task(count_loop())
    try:
        await main()
    finally:
        counter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await counter


async def source_silence(nc: Client) -> dict[str, float | None]:
    msg = await nc.request(f"$JS.API.STREAM.INFO.{STREAM}", b"", timeout=5)
    return {s.domain: s.silent_s for s in parse_sources(json.loads(msg.data))}


@contextlib.asynccontextmanager
async def uplink(leaf: NatsLeaf, s: FleetSubjects, first: int = 0) -> AsyncIterator[Site]:
    gw = gateway(s)
    auth = {"user": gw.name, "password": SecretStr(gw.password)}
    async with sites([(s, leaf.url)], **auth) as (site,):
        site.produced = first
        site.uplink.stats.published = first
        yield site


def leaf(tmp_path: Path, cluster: NatsCluster, s: FleetSubjects) -> NatsLeaf:
    return NatsLeaf(tmp_path / s.site, s, cluster.leaf_urls, gateway=gateway(s), link=link(s))


def test_a_restarted_source_resumes_after_what_the_stream_holds(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    with leaf(tmp_path, cluster, A) as leaf_a:

        async def main() -> None:
            async with central(cluster) as nc, uplink(leaf_a, A) as site:
                await fresh_stream(nc, [leaf_a.domain], duplicate_window_s=1)
                site.produce(20)
                await site.stored_locally()
                await wait_until("20 centrally", lambda: counts.get("n") == 20)
                await asyncio.sleep(1.5)  # past the duplicate window: a copy would be stored
                assert await restart_source(nc.jetstream(), leaf_a.domain)
                site.produce(10)
                await site.stored_locally()
                await wait_until("30 centrally", lambda: counts.get("n") == 30)
                # nothing came twice: the restarted source did not start again from seq 1
                await asyncio.sleep(2)
                assert await central_count(nc, A) == 30
                assert await restart_source(nc.jetstream(), "hue-nowhere") is False

        counts: dict[str, int] = {}
        asyncio.run(while_counting(cluster, {"n": A}, counts, main))


def test_the_watch_restarts_a_silent_source_whose_site_answers_and_only_that(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    now = [1000.0]
    cfg = SourceWatchConfig(check_s=1, stall_after_s=5, probe_timeout_s=1)
    nowhere = site_domain("hue", "nowhere")  # a source whose site has no server at all
    with leaf(tmp_path, cluster, A) as leaf_a, leaf(tmp_path, cluster, B) as leaf_b:

        async def main() -> None:
            async with central(cluster) as nc:
                js = nc.jetstream()
                watch = SourceWatch(nats_cfg(cluster), cfg, clock=lambda: now[0])
                # B sends first: its source hears from it; A's stream does not exist yet
                async with uplink(leaf_b, B) as site_b:
                    site_b.produce(3)
                    await site_b.stored_locally()
                    await fresh_stream(nc, [leaf_a.domain, leaf_b.domain, nowhere])
                    await wait_until("B centrally", lambda: seen.get("b") == 3)
                    silence = await source_silence(nc)
                    assert silence[leaf_a.domain] is None and silence[nowhere] is None
                    assert await watch.check(nc, js) == []  # never heard, but not for long yet
                    async with uplink(leaf_a, A) as site_a:
                        site_a.produce(5)  # A's stream now exists on its own server
                        await site_a.stored_locally()
                        now[0] += 6  # A and nowhere: never heard for 6 s of the watch's clock
                        restarted = await watch.check(nc, js)
                        assert restarted == [leaf_a.domain]
                        assert watch.stats.unreachable == 1  # nowhere: probed, no answer
                        await wait_until("A centrally", lambda: seen.get("a") == 5)
                        # B, heard every second, was never a suspect: not restarted
                        assert watch.stats.restarts == 1
                        now[0] += 1  # within stall_after_s of the last round: left alone
                        assert await watch.check(nc, js) == []
                        assert watch.stats.unreachable == 1

        seen: dict[str, int] = {}
        asyncio.run(while_counting(cluster, {"a": A, "b": B}, seen, main))


def test_one_watch_holds_the_lease_and_another_takes_it_when_it_expires(
    cluster: NatsCluster,
) -> None:
    cfg = SourceWatchConfig(check_s=1, stall_after_s=5, lease_bucket="lease_test")

    async def main() -> None:
        async with central(cluster) as nc:
            js = nc.jetstream()
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_key_value("lease_test")
            first = SourceWatch(nats_cfg(cluster), cfg)
            second = SourceWatch(nats_cfg(cluster), cfg)
            lease = await first._lease_bucket(js)
            assert await first.hold(lease) is True
            assert await second.hold(lease) is False
            assert await first.hold(lease) is True  # renewed
            assert await second.hold(lease) is False
            # the first stops renewing (dead): its entry expires after 3 x check_s
            await wait_until_async(lambda: second.hold(lease))
            assert await first.hold(lease) is False  # its revision is stale: it stepped down
            assert first.stats.leader is False and second.stats.leader is True

    asyncio.run(main())


async def wait_until_async(check: Callable[[], Awaitable[bool]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"still waiting after {WAIT_S:.0f} s")
        await asyncio.sleep(0.2)


def test_fleet_sources_remove_takes_a_source_out(cluster: NatsCluster, tmp_path: Path) -> None:
    central_yaml = tmp_path / "central.yaml"
    central_yaml.write_text(
        f"nats:\n  url: {cluster.urls[0]}\n  user: {CENTRAL.name}\n"
        f"  password: {{file: {tmp_path / 'pw'}}}\n"
    )
    (tmp_path / "pw").write_text(CENTRAL.password)

    async def reset() -> None:
        async with central(cluster) as nc:
            await fresh_stream(nc, ["hue-one", "hue-two"])

    asyncio.run(reset())
    floorwatch = Path(sys.executable).parent / "floorwatch"
    done = subprocess.run(
        [str(floorwatch), "fleet", "sources", "-c", str(central_yaml), "--remove", "hue-one"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "removed: hue-one" in done.stdout

    async def domains() -> set[str]:
        async with central(cluster) as nc:
            return set((await source_silence(nc)).keys())

    assert asyncio.run(domains()) == {"hue-two"}
    again = subprocess.run(
        [str(floorwatch), "fleet", "sources", "-c", str(central_yaml), "--remove", "hue-one"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0 and "not sourced: hue-one" in again.stdout
