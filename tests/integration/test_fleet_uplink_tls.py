"""The site's uplink and ``fleet status -c site.yaml`` to a nats-server whose client port is TLS.

A center's nats-server on another machine of the center (or its leaf) may take
clients only in TLS, with a certificate of the province's private CA. Here one
nats-server with JetStream presents a certificate naming 127.0.0.1 of a
throw-away CA, valid 5 days, made at run time in the test's folder (nothing
committed; tests/integration/test_fleet_client_tls.py's ``node_certificates``):

- the uplink with ``fleet.tls_ca_file`` publishes over ``tls://`` and JetStream
  stores its messages in the site's stream;
- without it (nats-py falls back on the system's CAs) it is refused: the log
  says why (certificate verification), it tries again with its backoff, nothing
  is published and every message stays in its queue;
- refused by a certificate of another CA, then given the right one (a reload of
  the server's config), it publishes every message it queued meanwhile;
- ``fleet status -c site.yaml`` connects with the site's CA, lists the site and
  prints the days left on the port's certificate and the CA file's, warning under
  ``fleet.cert_warn_days`` (exit 4 at the default 30 days, 0 at 4 days).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.messages import FleetSubjects
from gateway.fleet.nats_tls import client_context
from gateway.fleet.uplink import FleetUplink
from gateway.peers.nats import NatsNode
from gateway.peers.process import free_port
from tests.integration.gateway_proc import site_file
from tests.integration.test_fleet_client_tls import NodeCertificates, node_certificates
from tests.integration.test_fleet_uplink import (
    EVENTS,
    PATIENT,
    SUBJECTS,
    Feed,
    config,
    start,
    stop,
    stored,
    wait_until,
)

pytestmark = pytest.mark.integration
DAYS = 5


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> NodeCertificates:
    return node_certificates(tmp_path_factory.mktemp("center-certs"), DAYS)


def tls_conf(port: int, certs: NodeCertificates, store_dir: str) -> str:
    """A center's nats-server taking clients only in TLS (no client certificate asked)."""
    return "\n".join(
        [
            f"server_name: {json.dumps(f'center-tls-{port}')}",
            f"listen: {json.dumps(f'127.0.0.1:{port}')}",
            "jetstream {",
            f"  store_dir: {json.dumps(store_dir)}",
            "  max_memory_store: 64MB",
            "  max_file_store: 1GB",
            "}",
            "tls {",
            f"  cert_file: {json.dumps(str(certs.cert))}",
            f"  key_file: {json.dumps(str(certs.key))}",
            "  timeout: 5",
            "}",
            "",
        ]
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, certs: NodeCertificates) -> Iterator[NatsNode]:
    port = free_port("127.0.0.1")
    node = NatsNode(
        tmp_path_factory.mktemp("center-nats"), port, lambda d: tls_conf(port, certs, d)
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


def tls_url(server: NatsNode) -> str:
    return f"tls://127.0.0.1:{server.port}"


def test_the_uplink_with_the_ca_publishes_over_tls_into_the_sites_stream(
    server: NatsNode, certs: NodeCertificates
) -> None:
    async def main() -> None:
        feed = Feed()
        cfg = config(tls_url(server), tls_ca_file=str(certs.ca), **PATIENT)
        uplink = FleetUplink(cfg, SUBJECTS, feed.events)
        task = await start(uplink)
        try:
            feed.send(*EVENTS)
            await wait_until("6 published", lambda: uplink.stats.published == len(EVENTS))
        finally:
            await stop(task)
        reader = await nats.connect(tls_url(server), tls=client_context(certs.ca))
        try:
            js = reader.jetstream()
            got = await stored(js)
            info = await js.stream_info(cfg.stream)
        finally:
            await reader.close()
        assert info.config.subjects == [SUBJECTS.site_wildcard]
        mine = [s for s, _, _ in got if s.startswith("floorwatch.ha-noi.phuong-ba-dinh.")]
        assert len(mine) == len(EVENTS)
        assert uplink.pending == 0

    asyncio.run(main())


def test_the_uplink_without_the_ca_is_refused_says_why_and_keeps_its_queue(
    server: NatsNode, certs: NodeCertificates
) -> None:
    other = FleetSubjects("floorwatch", "ha-noi", "dong-anh")

    async def main() -> list[tuple[str, str, dict[str, object]]]:
        feed = Feed()
        cfg = config(tls_url(server), **PATIENT)  # no tls_ca_file: the system's CAs
        uplink = FleetUplink(cfg, other, feed.events)
        with capture_logs() as logs:
            task = await start(uplink)
            try:
                feed.send(*EVENTS)
                # refused, and tried again (nats-py alone would hang after the first refusal)
                await wait_until("2 refused connects", lambda: uplink.stats.failures >= 2)
                await wait_until("6 queued", lambda: uplink.pending == len(EVENTS))
            finally:
                await stop(task)
        assert uplink.stats.published == 0 and not uplink.stats.connected
        assert [m.subject.rsplit(".", 1)[1] for m in uplink.pending_messages()] == [
            "zone", "zone", "alert", "alert", "zone", "alert"
        ]  # fmt: skip
        failed = [e for e in logs if e["event"] == "fleet.connect_failed"]
        assert failed and all(e["log_level"] == "warning" for e in failed)
        assert all("CERTIFICATE_VERIFY_FAILED" in e["reason"] for e in failed), failed
        reader = await nats.connect(tls_url(server), tls=client_context(certs.ca))
        try:
            js = reader.jetstream()
            try:
                return await stored(js)
            except nats.js.errors.NotFoundError:
                return []
        finally:
            await reader.close()

    got = asyncio.run(main())
    assert not [s for s, _, _ in got if s.startswith("floorwatch.ha-noi.dong-anh.")]


def test_refused_by_a_wrong_certificate_then_the_right_one_nothing_queued_is_lost(
    tmp_path: Path, certs: NodeCertificates
) -> None:
    """The center's server first presents a certificate of another CA (a mistake at
    renewal), then the right one (a config reload): the uplink, refused meanwhile,
    publishes everything it queued."""
    wrong = node_certificates(tmp_path / "wrong", DAYS)
    presented = {"certs": wrong}
    port = free_port("127.0.0.1")
    node = NatsNode(tmp_path / "nats", port, lambda d: tls_conf(port, presented["certs"], d))

    async def main() -> list[tuple[str, str, dict[str, object]]]:
        feed = Feed()
        cfg = config(f"tls://127.0.0.1:{port}", tls_ca_file=str(certs.ca), **PATIENT)
        uplink = FleetUplink(cfg, SUBJECTS, feed.events)
        with capture_logs() as logs:
            task = await start(uplink)
            try:
                feed.send(*EVENTS)
                await wait_until("2 refused connects", lambda: uplink.stats.failures >= 2)
                await wait_until("6 queued", lambda: uplink.pending == len(EVENTS))
                assert uplink.stats.published == 0
                presented["certs"] = certs
                await asyncio.to_thread(node.reload)
                await wait_until("6 published", lambda: uplink.stats.published == len(EVENTS))
            finally:
                await stop(task)
        failed = [e for e in logs if e["event"] == "fleet.connect_failed"]
        assert failed and "CERTIFICATE_VERIFY_FAILED" in failed[0]["reason"]
        reader = await nats.connect(f"tls://127.0.0.1:{port}", tls=client_context(certs.ca))
        try:
            return await stored(reader.jetstream())
        finally:
            await reader.close()

    node.start()
    try:
        got = asyncio.run(main())
    finally:
        node.stop()
    assert [p.get("transition") for _, _, p in got] == [
        None, None, "raised", "acknowledged", None, "resolved"
    ]  # fmt: skip
    assert len({i for _, i, _ in got}) == len(EVENTS)


def test_fleet_status_with_the_sites_ca_shows_the_certificates_days_left(
    server: NatsNode, certs: NodeCertificates, tmp_path: Path
) -> None:
    async def publish() -> None:
        feed = Feed()
        cfg = config(tls_url(server), tls_ca_file=str(certs.ca), **PATIENT)
        uplink = FleetUplink(cfg, SUBJECTS, feed.events)
        task = await start(uplink)
        try:
            feed.send(EVENTS[0])
            await wait_until(
                "acknowledged", lambda: uplink.stats.published + uplink.stats.duplicates >= 1
            )
        finally:
            await stop(task)

    asyncio.run(publish())  # the site seen recently, whatever ran before
    fleet = {
        "enabled": True,
        "url": tls_url(server),
        "province": "ha-noi",
        "stream": "FLOORWATCH",
        "tls_ca_file": str(certs.ca),
    }
    port = f"127.0.0.1:{server.port}"

    warned = CliRunner().invoke(
        app,
        ["fleet", "status", "-c", str(site_file(tmp_path / "a", fleet=fleet)),
         "--silent-after", "86400"],
    )  # fmt: skip
    assert warned.exit_code == 4, warned.output
    lines = warned.output.splitlines()
    assert any("phuong-ba-dinh" in line for line in lines), warned.output
    (line,) = [x for x in lines if x.startswith(f"certificate {port}:")]
    assert f"{DAYS} days left" in line or f"{DAYS - 1} days left" in line, line
    assert "WARNING" in line
    assert [x for x in lines if x.startswith(f"certificate {certs.ca}:")]

    calm = CliRunner().invoke(
        app,
        ["fleet", "status", "-c",
         str(site_file(tmp_path / "b", fleet={**fleet, "cert_warn_days": DAYS - 1})),
         "--silent-after", "86400", "--json"],
    )  # fmt: skip
    doc = json.loads(calm.stdout)
    (seen,) = [c for c in doc["certificates"] if c["source"] == port]
    assert DAYS - 1 < seen["days_left"] <= DAYS and seen["level"] == "ok"
    assert doc["certificate_problems"] == []
    # the other test's site (refused) never published; only this site's rows count for exit 0
    assert calm.exit_code == 0, calm.output
