"""Per-site credentials on the fleet topology (a 3-node cluster with users, site leaves).

Each site's leaf has the gateway's user (its own subjects, its stream, replies
on its own inbox prefix) and logs in to the cluster as the site's link user.

- Site A's uplink, with its user, lands on its leaf and centrally; A's
  credentials publishing as site B get the server's permission violation,
  and reading another client's inbox too; nothing of B's is stored.
- A link password rotated: the cluster takes the new one by a reload and the
  running link stays up; the site's server reconnecting with the old one is
  refused and keeps storing on its own disk; with the new one everything
  arrives, once (with the central service's source watch running, as
  ``fleet run`` does: nats-server 2.9.10 can leave the source stalled after
  the leaf's quick reconnections, and the watch restarts it).
- Whoever holds a site's server receives nothing of another site through its
  link (the link users' permissions) and cannot reach the central API.
- A leaf with a wrong link password is refused by the cluster; a revoked
  center at its next connection (nats-server 2.9 does not close its running
  link on the reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import nats
import nats.aio.msg
import nats.errors
import nats.js.errors
import pytest
from nats.js.api import StreamConfig
from pydantic import SecretStr

from gateway.fleet.central_config import CentralNatsConfig, SourceWatchConfig
from gateway.fleet.central_stream import add_sites
from gateway.fleet.messages import FleetKind, FleetSubjects, zone_message
from gateway.fleet.source_watch import SourceWatch
from gateway.fleet.topology import (
    Login,
    central_stream_config,
    gateway_login,
    link_login,
    link_user,
)
from gateway.peers.nats import NatsCluster, NatsLeaf
from tests.integration.fleet_cluster_support import STREAM, sites, wait_for, wait_until, zone

A = FleetSubjects("floorwatch", "hue", "thuan-hoa")
B = FleetSubjects("floorwatch", "hue", "phu-xuan")
CENTRAL = Login("fleet-central", "central-password-for-the-test")


def link(s: FleetSubjects, version: int = 1) -> Login:
    return link_login(s.province, s.site, f"link-{s.site}-v{version}")


def gateway(s: FleetSubjects) -> Login:
    return gateway_login(s, "gateway", f"gw-{s.site}-password")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """The cluster with the workers' user and each site's link user (module scope)."""
    with NatsCluster(
        tmp_path_factory.mktemp("cluster"), users=[CENTRAL], links=[link(A), link(B)]
    ) as c:
        yield c


ADMIN = Login("admin", "whoever-holds-the-site-servers-config")  # no limits on its server


def leaf(tmp_path: Path, cluster: NatsCluster, s: FleetSubjects, login: Login) -> NatsLeaf:
    return NatsLeaf(
        tmp_path / s.site, s, cluster.leaf_urls, gateway=gateway(s), link=login, users=[ADMIN]
    )


async def central_subjects(cluster: NatsCluster) -> dict[str, int]:
    nc = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
    try:
        info = await nc.jetstream().stream_info(STREAM, subjects_filter=">")
        return dict(info.state.subjects or {})
    finally:
        await nc.close()


def central_has(cluster: NatsCluster, expected: dict[str, int]) -> None:
    wait_for(f"centrally {expected}", lambda: asyncio.run(central_subjects(cluster)) == expected)


@contextlib.contextmanager
def watching(cluster: NatsCluster) -> Iterator[SourceWatch]:
    """The central service's source watch (what ``fleet run`` runs), in a thread of its own."""
    nats_cfg = CentralNatsConfig(
        url=cluster.urls[0], user=CENTRAL.name, password=SecretStr(CENTRAL.password)
    )
    watch = SourceWatch(nats_cfg, SourceWatchConfig(check_s=1, stall_after_s=5))
    loop = asyncio.new_event_loop()
    task = loop.create_task(watch.run())
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(asyncio.wait([task])), daemon=True
    )
    thread.start()
    try:
        yield watch
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(30)
        loop.close()


def source(cluster: NatsCluster, domains: list[str]) -> None:
    """A fresh central stream sourcing these domains."""

    async def main() -> None:
        nc = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
        try:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_stream(STREAM)
            await add_sites(nc.jetstream(), domains)
        finally:
            await nc.close()

    asyncio.run(main())


def produce(leaf: NatsLeaf, s: FleetSubjects, first: int, n: int) -> None:
    """``n`` zone states through the uplink with the gateway's user, acked by the leaf."""
    gw = gateway(s)

    async def main() -> None:
        auth = {"user": gw.name, "password": SecretStr(gw.password)}
        async with sites([(s, leaf.url)], **auth) as (site,):
            site.produced = first
            site.produce(n)
            site.uplink.stats.published = first  # count from ``first``
            await site.stored_locally()

    asyncio.run(main())


def _violation(errors: list[Exception], what: str) -> Exception | None:
    for e in errors:
        text = str(e).lower()  # nats-py lowers the server's text
        if "permissions violation" in text and what.lower() in text:
            return e
    return None


def test_a_sites_credentials_publish_its_own_subjects_only(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    with (
        leaf(tmp_path, cluster, A, link(A)) as leaf_a,
        leaf(tmp_path, cluster, B, link(B)) as leaf_b,
    ):
        source(cluster, [leaf_a.domain, leaf_b.domain])
        produce(leaf_a, A, 0, 3)
        central_has(cluster, {A.subject(FleetKind.ZONE): 3})
        gw = gateway(A)

        async def forge() -> None:
            errors: list[Exception] = []

            async def on_error(exc: Exception) -> None:
                errors.append(exc)

            nc = await nats.connect(
                leaf_a.url,
                user=gw.name,
                password=gw.password,
                error_cb=on_error,
                inbox_prefix=A.inbox_prefix,
            )
            try:
                forged = zone_message(B, zone(99))
                with contextlib.suppress(nats.errors.Error):  # the ack never comes
                    await nc.jetstream().publish(
                        forged.subject, forged.payload, timeout=1, headers=forged.headers
                    )
                await wait_until(
                    "the publish violation",
                    lambda: _violation(errors, f'Publish to "{forged.subject}"'),
                )
                await nc.subscribe("_INBOX.>")  # every client's replies
                await wait_until(
                    "the subscription violation",
                    lambda: _violation(errors, 'Subscription to "_INBOX.>"'),
                )
            finally:
                await nc.close()

        asyncio.run(forge())
        # on the site's own server and centrally: A's three states, nothing of B's
        central_has(cluster, {A.subject(FleetKind.ZONE): 3})


def test_a_rotated_link_password_the_site_stores_until_it_has_the_new_one_then_catches_up(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    zone_a = A.subject(FleetKind.ZONE)
    with leaf(tmp_path, cluster, A, link(A)) as leaf_a:
        source(cluster, [leaf_a.domain])
        produce(leaf_a, A, 0, 5)
        central_has(cluster, {zone_a: 5})
        # 1. the cluster takes the new password (a reload): the running link stays up
        cluster.add_link(link(A, version=2))
        produce(leaf_a, A, 5, 5)
        central_has(cluster, {zone_a: 10})
        # 2. the site's server reconnects with the old one (a restart): refused
        leaf_a.restart()
        wait_for("the refusal", lambda: "Authorization Violation" in leaf_a.log_tail(50))
        produce(leaf_a, A, 10, 5)  # kept on the site's disk
        assert asyncio.run(central_subjects(cluster)) == {zone_a: 10}
        # 3. the site's server with the new password: everything arrives, once
        leaf_a.plan = replace(leaf_a.plan, link=link(A, version=2))
        with watching(cluster) as watch:
            leaf_a.restart()
            central_has(cluster, {zone_a: 15})
        assert watch.stats.errors == 0
    cluster.add_link(link(A))  # the module's other tests log A in with its first password


def test_a_leaf_with_a_wrong_link_password_is_refused(cluster: NatsCluster, tmp_path: Path) -> None:
    with leaf(tmp_path, cluster, B, Login(link_user("hue", "phu-xuan"), "not-it")) as leaf_b:
        source(cluster, [leaf_b.domain])
        produce(leaf_b, B, 0, 2)  # the site's own server takes them
        wait_for("the refusal", lambda: "Authorization Violation" in leaf_b.log_tail(200))
        assert asyncio.run(central_subjects(cluster)) == {}


def test_a_revoked_center_is_refused_at_its_next_connection(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    c = FleetSubjects("floorwatch", "hue", "huong-thuy")
    zone_c = c.subject(FleetKind.ZONE)
    cluster.add_link(link(c))
    with leaf(tmp_path, cluster, c, link(c)) as leaf_c:
        source(cluster, [leaf_c.domain])
        produce(leaf_c, c, 0, 2)
        central_has(cluster, {zone_c: 2})
        cluster.remove_link(link(c).name)
        # nats-server 2.9 does not close a running leaf link on a reload (docs/fleet.md)
        produce(leaf_c, c, 2, 2)
        central_has(cluster, {zone_c: 4})
        leaf_c.restart()  # its next connection
        wait_for("the refusal", lambda: "Authorization Violation" in leaf_c.log_tail(50))
        produce(leaf_c, c, 4, 2)
        assert asyncio.run(central_subjects(cluster)) == {zone_c: 4}


def test_a_sites_server_receives_nothing_of_another_site_through_its_link(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """Whoever holds A's server (an unrestricted user there) listens for B: the link carries none.

    Without the link users' permissions (``link_permissions``) A receives B's
    states as B publishes them, the cluster's requests to B's API and B's
    source deliveries, and reaches the central API: the test fails.
    """
    with (
        leaf(tmp_path, cluster, A, link(A)) as leaf_a,
        leaf(tmp_path, cluster, B, link(B)) as leaf_b,
    ):

        async def main() -> list[str]:
            heard: list[str] = []

            async def listen(msg: nats.aio.msg.Msg) -> None:
                heard.append(msg.subject)

            spy = await nats.connect(leaf_a.url, user=ADMIN.name, password=ADMIN.password)
            try:
                for subject in (B.site_wildcard, f"$JS.{leaf_b.domain}.API.>", "$JS.S.>"):
                    await spy.subscribe(subject, cb=listen)
                await spy.flush()
                await asyncio.to_thread(produce, leaf_b, B, 0, 3)
                await asyncio.to_thread(source, cluster, [leaf_a.domain, leaf_b.domain])
                await asyncio.to_thread(central_has, cluster, {B.subject(FleetKind.ZONE): 3})
                with contextlib.suppress(nats.errors.NoRespondersError, nats.errors.TimeoutError):
                    await spy.request("$JS.central.API.INFO", b"", timeout=1)
                    heard.append("$JS.central.API.INFO answered")
                await spy.flush()
            finally:
                await spy.close()
            return heard

        assert asyncio.run(main()) == []


def test_a_sites_server_cannot_publish_into_another_sites_source(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """Each source delivers under its site's own prefix (``$JS.S.<domain>``), and a link may
    publish under its own only: whoever holds A's server cannot inject into B's source.

    Published from A's server (an unrestricted user there), in rounds: under B's prefix,
    under ``$JS.S`` with any other name (how every source delivered before), then under
    A's own prefix. The hub hears only the last (with every link allowed ``$JS.S.>``, as
    before, it hears all three: the test fails).
    """
    with (
        leaf(tmp_path, cluster, A, link(A)) as leaf_a,
        leaf(tmp_path, cluster, B, link(B)) as leaf_b,
    ):
        forged = (f"$JS.S.{leaf_b.domain}.S.forged", "$JS.S.forged")
        own = f"$JS.S.{leaf_a.domain}.S.own"

        async def main() -> list[str]:
            heard: list[str] = []

            async def listen(msg: nats.aio.msg.Msg) -> None:
                heard.append(msg.subject)

            hub = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
            spy = await nats.connect(leaf_a.url, user=ADMIN.name, password=ADMIN.password)
            try:
                await hub.subscribe("$JS.S.>", cb=listen)
                await hub.flush()
                # until the hub's interest has reached A's server, even A's own is dropped
                deadline = time.monotonic() + 60
                while own not in heard:
                    assert time.monotonic() < deadline, f"A's own never reached the hub: {heard}"
                    for subject in (*forged, own):
                        await spy.publish(subject, b"{}")
                    await spy.flush()
                    await asyncio.sleep(0.5)  # the round's messages reach the hub meanwhile
                await spy.flush()
                await hub.flush()
            finally:
                await spy.close()
                await hub.close()
            return heard

        heard = asyncio.run(main())
        assert own in heard and not set(heard) & set(forged), heard


def test_a_source_made_without_its_sites_prefix_is_restarted_with_it_and_catches_up(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """A central stream from before sources had their own prefix delivers on ``$JS.S.<random>``,
    which the links no longer carry: nothing arrives. ``add_sites`` (``fleet sources --add``)
    restarts it with the prefix, and every message arrives, once (with the source watch
    running, as ``fleet run`` does: nats-server 2.9.10 now and then leaves a restarted
    source never set up, "create source consumer: stream not found", and the watch
    restarts it again)."""
    zone_a = A.subject(FleetKind.ZONE)
    with leaf(tmp_path, cluster, A, link(A)) as leaf_a:
        produce(leaf_a, A, 0, 3)

        async def old_style() -> None:
            nc = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
            try:
                js = nc.jetstream()
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(STREAM)
                config = central_stream_config([leaf_a.domain], name=STREAM)
                for src in config["sources"]:
                    del src["external"]["deliver"]
                await js.add_stream(StreamConfig.from_response(config))
            finally:
                await nc.close()

        async def renew() -> tuple[tuple[str, ...], tuple[str, ...]]:
            nc = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
            try:
                change = await add_sites(nc.jetstream(), [leaf_a.domain])
                return change.added, change.renewed
            finally:
                await nc.close()

        asyncio.run(old_style())
        # refused on the link: give it the time a working source needs many times over
        stalled = asyncio.run(central_subjects(cluster))
        time.sleep(3)
        assert stalled == asyncio.run(central_subjects(cluster)) == {}
        with watching(cluster) as watch:
            assert asyncio.run(renew()) == ((), (leaf_a.domain,))
            central_has(cluster, {zone_a: 3})
            assert asyncio.run(renew()) == ((), ())  # done once
            produce(leaf_a, A, 3, 2)
            central_has(cluster, {zone_a: 5})
        assert watch.stats.errors == 0
