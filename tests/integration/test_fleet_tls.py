"""The leaf link in TLS and hashed passwords, on real nats-servers (a 3-node cluster, leaves).

The cluster's leafnode ports present a certificate of the province's CA and
require a center's certificate of the centers' CA (``verify``); every user
of every generated config is a bcrypt hash (cost 4 here: a login then costs
about a millisecond; the CLI writes cost 11). Certificates are made at run
time (``fleet_tls_support``).

- A center with the province's CA and its certificate links in TLS; its
  uplink's states reach the central stream through the source, with the
  gateway's and the link's hashed users; no config holds those passwords
  and no server warns of plain-text passwords.
- A center trusting another CA is refused (it cannot verify the cluster),
  and so is one without a certificate of its own; nothing of it arrives.
- Plain text on a TLS leafnode port: the port says TLS is required and a
  plain CONNECT gets no PONG, the connection is closed; a leaf configured
  without TLS cannot verify the cluster and is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import nats
import nats.js.errors
import pytest
from pydantic import SecretStr

from gateway.fleet.central_stream import add_sites
from gateway.fleet.messages import FleetKind, FleetSubjects
from gateway.fleet.topology import (
    HubTls,
    LeafTls,
    Login,
    gateway_login,
    hashed,
    link_login,
    site_domain,
)
from gateway.peers.nats import NatsCluster, NatsLeaf, NatsProcess
from tests.integration.fleet_cluster_support import STREAM, sites, wait_for
from tests.integration.fleet_tls_support import FleetCertificates, make_fleet_certificates

A = FleetSubjects("floorwatch", "hue", "thuan-hoa")
B = FleetSubjects("floorwatch", "hue", "phu-xuan")
CENTRAL = Login("fleet-central", "central-password-of-the-tls-test")
PLAINTEXT_WARNING = "Plaintext passwords detected"


def salt() -> bytes:
    return bcrypt.gensalt(4)


def link(s: FleetSubjects) -> Login:
    return link_login(s.province, s.site, f"link-{s.site}-tls-test-password")


def gateway(s: FleetSubjects) -> Login:
    return gateway_login(s, "gateway", f"gw-{s.site}-tls-test-password")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> FleetCertificates:
    return make_fleet_certificates(tmp_path_factory.mktemp("fleet-certs"))


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, certs: FleetCertificates
) -> Iterator[NatsCluster]:
    tls = LeafTls(str(certs.province.cert), str(certs.province.key), str(certs.centers_ca))
    with NatsCluster(
        tmp_path_factory.mktemp("cluster"),
        users=[hashed(CENTRAL, salt())],
        links=[hashed(link(A), salt()), hashed(link(B), salt())],
        leaf_tls=tls,
    ) as c:
        yield c


def leaf(tmp_path: Path, cluster: NatsCluster, s: FleetSubjects, tls: HubTls | None) -> NatsLeaf:
    return NatsLeaf(
        tmp_path / s.site,
        s,
        cluster.leaf_urls,
        gateway=hashed(gateway(s), salt()),
        link=link(s),
        hub_tls=tls,
    )


def log(server: NatsProcess) -> str:
    return (server.folder / "nats-server.log").read_text(errors="replace")


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


async def central_subjects(cluster: NatsCluster) -> dict[str, int]:
    nc = await nats.connect(cluster.urls, user=CENTRAL.name, password=CENTRAL.password)
    try:
        info = await nc.jetstream().stream_info(STREAM, subjects_filter=">")
        return dict(info.state.subjects or {})
    finally:
        await nc.close()


def produce(server: NatsLeaf, s: FleetSubjects, n: int) -> None:
    """``n`` zone states through the uplink with the gateway's (hashed) user, acked locally."""
    gw = gateway(s)

    async def main() -> None:
        auth = {"user": gw.name, "password": SecretStr(gw.password)}
        async with sites([(s, server.url)], **auth) as (site,):
            site.produce(n)
            await site.stored_locally()

    asyncio.run(main())


def test_a_center_with_the_provinces_ca_links_in_tls_and_its_states_arrive(
    cluster: NatsCluster, certs: FleetCertificates, tmp_path: Path
) -> None:
    tls = HubTls(str(certs.province.ca), str(certs.center_cert), str(certs.center_key))
    with leaf(tmp_path, cluster, A, tls) as leaf_a:
        source(cluster, [leaf_a.domain])
        produce(leaf_a, A, 5)
        wait_for(
            "A's 5 states centrally",
            lambda: asyncio.run(central_subjects(cluster)) == {A.subject(FleetKind.ZONE): 5},
        )
        site_conf = leaf_a.conf_path.read_text()
        assert gateway(A).password not in site_conf
        assert f"{link(A).name}:{link(A).password}@127.0.0.1" in site_conf  # the leaf's login
        assert '"ca_file"' in site_conf and '"cert_file"' in site_conf
        assert PLAINTEXT_WARNING not in log(leaf_a)
    for node in cluster.nodes:
        text = node.conf_path.read_text()
        assert '"verify": true' in text
        for plain in (CENTRAL.password, link(A).password, link(B).password):
            assert plain not in text
        assert text.count('"password": "$2b$04$') == 3
        assert PLAINTEXT_WARNING not in log(node)


def test_a_center_with_another_ca_or_without_its_certificate_is_refused(
    cluster: NatsCluster, certs: FleetCertificates, tmp_path: Path
) -> None:
    source(cluster, [site_domain(B.province, B.site)])
    wrong_ca = HubTls(str(certs.wrong_ca), str(certs.center_cert), str(certs.center_key))
    with leaf(tmp_path / "wrong-ca", cluster, B, wrong_ca) as leaf_b:
        produce(leaf_b, B, 3)  # stored on the center's own disk all the same
        wait_for(
            "the leaf failing to verify the cluster twice",
            lambda: log(leaf_b).count("certificate signed by unknown authority") >= 2,
        )
    before = sum(log(n).count("client didn't provide a certificate") for n in cluster.nodes)
    no_cert = HubTls(str(certs.province.ca))
    with leaf(tmp_path / "no-cert", cluster, B, no_cert):
        wait_for(
            "the cluster refusing a center without a certificate twice",
            lambda: (
                sum(log(n).count("client didn't provide a certificate") for n in cluster.nodes)
                >= before + 2
            ),
        )
    # every attempt failed at the handshake: nothing of B's reached the central stream
    assert asyncio.run(central_subjects(cluster)) == {}


def test_plain_text_on_the_tls_leafnode_port_is_refused(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    port = int(cluster.leaf_urls[0].rsplit(":", 1)[1])
    credentials = link(A)

    async def plain() -> tuple[dict[str, object], bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            info = json.loads((await asyncio.wait_for(reader.readline(), 10)).split(b" ", 1)[1])
            connect = {"user": credentials.name, "pass": credentials.password, "verbose": False}
            writer.write(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)  # until the server closes
            return info, answer
        finally:
            writer.close()

    info, answer = asyncio.run(plain())
    assert info["tls_required"] is True
    assert b"PONG" not in answer  # closed without a word in the clear

    # a leaf configured without TLS: told TLS is required, it cannot verify the cluster
    with leaf(tmp_path, cluster, A, None) as bare:
        wait_for(
            "the leaf without TLS refused",
            lambda: "certificate signed by unknown authority" in log(bare),
        )
