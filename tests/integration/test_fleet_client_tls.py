"""TLS on the central cluster's client port and routes, and fleet status's certificate check.

A 3-node cluster (nats-server 2.9) whose client ports, routes and leafnode
ports present a certificate of a throw-away CA naming 127.0.0.1, valid 5
days, made at run time in the test's folder (nothing committed). Its users
are bcrypt hashes (cost 4 here).

- fleet run's connection (central_worker.connect) with the central file's
  ``nats.tls_ca_file`` and a ``tls://`` URL creates an R3 stream (the three
  nodes' routes carry it in TLS) and the site bucket;
- the route ports ask for TLS, as the client and leafnode ports do;
- a client without the CA (the system's CAs) cannot verify the cluster and is
  refused; one in plain text is refused too;
- ``fleet status --central`` connects in TLS, lists the site, prints the days
  left on the certificates of the client and leafnode ports and of the CA
  file, and with the default threshold (30 days) warns for them and exits 4;
  with a threshold under 5 days it exits 0 without a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import nats
import nats.errors
import pytest
import structlog
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.board import SiteBoard
from gateway.fleet.central_config import CentralNatsConfig
from gateway.fleet.central_worker import connect, site_bucket
from gateway.fleet.messages import FleetSubjects, zone_message
from gateway.fleet.nats_tls import client_context, presented_certificate
from gateway.fleet.topology import LeafTls, Login, RouteTls, hashed
from gateway.peers.nats import NatsCluster, _nats_binary
from tests.integration.test_fleet_status_cli import zone

pytestmark = pytest.mark.integration
CENTRAL = Login("fleet-central", "central-password-of-the-client-tls-test")
STREAM = "FLOORWATCH"
DAYS = 5


@dataclass(frozen=True, slots=True)
class NodeCertificates:
    ca: Path
    cert: Path
    key: Path


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - our arguments
        ["openssl", *args],  # noqa: S607 - openssl from PATH, as tests/peers/certs.py
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )


def node_certificates(folder: Path, days: int) -> NodeCertificates:
    """A CA and the nodes' certificate naming IP 127.0.0.1, valid ``days`` days (server and
    client use: a route is dialled by one node and checked by the other)."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(folder, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
             "-subj", "/CN=floorwatch province test CA")  # fmt: skip
    _openssl(folder, "req", *ec, "-keyout", "node.key", "-out", "node.csr",
             "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "node.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl(folder, "x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "node.crt", "-days", str(days),
             "-extfile", "node.ext")  # fmt: skip
    return NodeCertificates(folder / "ca.crt", folder / "node.crt", folder / "node.key")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> NodeCertificates:
    return node_certificates(tmp_path_factory.mktemp("node-certs"), DAYS)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, certs: NodeCertificates
) -> Iterator[NatsCluster]:
    port_tls = LeafTls(str(certs.cert), str(certs.key))
    with NatsCluster(
        tmp_path_factory.mktemp("cluster"),
        users=[hashed(CENTRAL, bcrypt.gensalt(4))],
        leaf_tls=port_tls,
        client_tls=port_tls,
        client_ssl=client_context(certs.ca),
        route_tls=RouteTls(str(certs.cert), str(certs.key), str(certs.ca)),
    ) as c:
        yield c


def tls_url(cluster: NatsCluster, node: int = 0) -> str:
    return cluster.nodes[node].url.replace("nats://", "tls://")


def central_nats(
    cluster: NatsCluster, certs: NodeCertificates, **extra: object
) -> CentralNatsConfig:
    return CentralNatsConfig.model_validate(
        {
            "url": tls_url(cluster),
            "user": CENTRAL.name,
            "password": CENTRAL.password,
            "tls_ca_file": str(certs.ca),
            "stream": STREAM,
            **extra,
        }
    )


async def worker_session(cfg: CentralNatsConfig) -> tuple[int, str]:
    nc = await connect(cfg, "floorwatch-central-tls-test", structlog.get_logger())
    try:
        assert nc.connected_url is not None and nc.connected_url.scheme == "tls"
        js = nc.jetstream()
        info = await js.add_stream(
            name=STREAM, subjects=["floorwatch.hue.>"], num_replicas=3, duplicate_window=600
        )
        subjects = FleetSubjects("floorwatch", "hue", "thuan-hoa")
        m = zone_message(subjects, zone("waiting", 1))
        await js.publish(m.subject, m.payload, headers=m.headers)
        kv = await site_bucket(js, cfg)
        replicas = len(info.cluster.replicas or []) + 1 if info.cluster else 0
        return replicas, kv._name  # noqa: SLF001 - the bucket's name, no public field
    finally:
        await nc.close()


def test_workers_connect_in_tls_and_an_r3_stream_spans_the_tls_routes(
    cluster: NatsCluster, certs: NodeCertificates
) -> None:
    # the port takes nothing but TLS, so the worker's connection is in TLS
    assert presented_certificate("127.0.0.1", cluster.plan.nodes[0].client_port, 5) is not None
    replicas, bucket = asyncio.run(worker_session(central_nats(cluster, certs)))
    assert replicas == 3  # a leader and two replicas: the routes between the nodes work
    assert bucket == "fleet_sites"


def test_every_port_of_the_cluster_asks_for_tls(cluster: NatsCluster) -> None:
    node = cluster.plan.nodes[1]
    for port in (node.client_port, node.cluster_port, node.leafnode_port):
        assert presented_certificate("127.0.0.1", port, 5) is not None, port


async def refused(url: str, tls: ssl.SSLContext | None) -> BaseException:
    try:
        nc = await nats.connect(
            servers=[url],
            user=CENTRAL.name,
            password=CENTRAL.password,
            connect_timeout=2,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            tls=tls,
        )
    except (nats.errors.Error, OSError) as exc:
        return exc
    await nc.close()
    raise AssertionError(f"{url} let the client in")


def test_a_client_without_the_ca_or_without_tls_is_refused(cluster: NatsCluster) -> None:
    no_ca = asyncio.run(refused(tls_url(cluster), None))  # nats-py: the system's CAs
    assert "CERTIFICATE_VERIFY_FAILED" in repr(no_ca) or "certificate verify" in str(no_ca)
    asyncio.run(refused(cluster.nodes[0].url, None))  # plain text on a TLS port


def write_central(folder: Path, cfg: CentralNatsConfig, **extra: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "central-password").write_text(CENTRAL.password)
    nats_section = {
        "url": cfg.url,
        "user": cfg.user,
        "password": {"file": "central-password"},
        "tls_ca_file": str(cfg.tls_ca_file),
        "stream": STREAM,
        **extra,
    }
    path = folder / "central.yaml"
    path.write_text(json.dumps({"nats": nats_section}))
    return path


def test_fleet_status_over_tls_shows_the_days_left_and_warns_under_the_threshold(
    cluster: NatsCluster, certs: NodeCertificates, tmp_path: Path
) -> None:
    cfg = central_nats(cluster, certs)
    asyncio.run(worker_session(cfg))  # the stream and a site's message (again: the same config)
    leaf = f"127.0.0.1:{cluster.plan.nodes[2].leafnode_port}"
    warned = CliRunner().invoke(
        app,
        ["fleet", "status", "--central", str(write_central(tmp_path / "a", cfg, cert_ports=[leaf])),
         "--silent-after", "3600"],
    )  # fmt: skip
    assert warned.exit_code == 4, warned.output
    client = f"127.0.0.1:{cluster.plan.nodes[0].client_port}"
    lines = warned.output.splitlines()
    assert any(line.startswith("hue/thuan-hoa") or "thuan-hoa" in line for line in lines)
    for source in (client, leaf):
        (line,) = [x for x in lines if x.startswith(f"certificate {source}:")]
        assert f"{DAYS} days left" in line or f"{DAYS - 1} days left" in line, line
        assert "WARNING" in line
    (ca_line,) = [x for x in lines if x.startswith(f"certificate {certs.ca}:")]
    assert "WARNING" in ca_line  # the CA: 30 days, not more than 30 left

    calm = CliRunner().invoke(
        app,
        ["fleet", "status", "--central",
         str(write_central(tmp_path / "b", cfg, cert_warn_days=DAYS - 1)),
         "--silent-after", "3600", "--json"],
    )  # fmt: skip
    assert calm.exit_code == 0, calm.output
    doc = json.loads(calm.output)
    (seen,) = [c for c in doc["certificates"] if c["source"] == client]
    assert DAYS - 1 < seen["days_left"] <= DAYS and seen["level"] == "ok"
    assert doc["certificate_problems"] == []


def test_fleet_config_central_writes_client_and_route_tls_nats_server_accepts(
    certs: NodeCertificates, tmp_path: Path
) -> None:
    password = tmp_path / "worker-password"
    password.write_text("worker-password-of-the-config-test\n")
    result = CliRunner().invoke(
        app,
        [
            *("fleet", "config", "central", "--node", "c2", "--bcrypt-cost", "4"),
            *("--member", "c1=10.0.0.1", "--member", "c2=10.0.0.2", "--member", "c3=10.0.0.3"),
            *("--user", f"fleet-central={password}", "--store-dir", str(tmp_path / "js")),
            *("--client-tls-cert", str(certs.cert), "--client-tls-key", str(certs.key)),
            *("--client-tls-ca", str(certs.ca)),
            *("--route-cert", str(certs.cert), "--route-key", str(certs.key)),
            *("--route-ca", str(certs.ca)),
        ],
    )
    assert result.exit_code == 0, result.output
    conf = tmp_path / "c2.conf"
    conf.write_text(result.output)
    tls_lines = [line.strip() for line in result.output.splitlines() if "tls: " in line]
    assert len(tls_lines) == 2 and all('"verify": true' in line for line in tls_lines)
    checked = subprocess.run(  # noqa: S603 - our binary, our file
        [_nats_binary(), "-t", "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--client-tls-cert", "/c.pem"), "both --client-tls-cert and --client-tls-key"),
        (("--client-tls-ca", "/ca.pem"), "both --client-tls-cert and --client-tls-key"),
        (("--route-cert", "/r.pem", "--route-key", "/r.key"), "--route-cert, --route-key and"),
        (("--route-ca", "/ca.pem"), "--route-cert, --route-key and --route-ca"),
    ],
)
def test_half_a_client_or_route_tls_setting_exits_2(args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(
        app, ["fleet", "config", "central", "--node", "c1", "--member", "c1=10.0.0.1", *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_the_province_pages_board_watches_the_bucket_over_tls(
    cluster: NatsCluster, certs: NodeCertificates
) -> None:
    cfg = central_nats(cluster, certs)
    asyncio.run(worker_session(cfg))  # the fleet_sites bucket exists

    async def watch() -> bool:
        board = SiteBoard(cfg, retry_s=0.1)
        task = asyncio.create_task(board.run())
        try:
            await asyncio.wait_for(board.ready.wait(), 20)
            return board.watching
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert asyncio.run(watch())


def test_fleet_sources_adds_a_site_over_tls(
    cluster: NatsCluster, certs: NodeCertificates, tmp_path: Path
) -> None:
    cfg = central_nats(cluster, certs).model_copy(update={"stream": "CENTRAL_TLS"})
    path = write_central(tmp_path, cfg, stream="CENTRAL_TLS")
    result = CliRunner().invoke(
        app, ["fleet", "sources", "-c", str(path), "--add", "hue-thuan-hoa", "--replicas", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "stream CENTRAL_TLS created with: hue-thuan-hoa" in result.output
