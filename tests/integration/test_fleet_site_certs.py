"""A center's own certificate seen from the province, on real nats-servers and InfluxDB 1.x.

A 3-node cluster whose leafnode ports require a client certificate of the
centers' CA; a center's leaf links in TLS with its certificate (made at run
time, valid 2 days: ``fleet_tls_support``); the gateway's uplink publishes to
the leaf with ``fleet.link_cert_file`` naming that certificate; the central
stream sources the center; a ``fleet run`` worker keeps its document in the
bucket. ``fleet status --central --json`` then reports the certificate the
leaf presents on the link: its subject, its end as the file says, days left
and a warning (2 days left, under 30), exit 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.central_stream import add_sites
from gateway.fleet.cert_expiry import not_after
from gateway.fleet.messages import FleetSubjects
from gateway.fleet.topology import HubTls, LeafTls
from gateway.fleet.uplink import FleetUplink
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsCluster, NatsLeaf
from gateway.settings import FleetConfig
from tests.integration.fleet_tls_support import FleetCertificates, make_fleet_certificates
from tests.integration.test_fleet_central import STREAM, WAIT_S, central, running, wait_until

A = FleetSubjects("floorwatch", "hue", "thuan-hoa")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> FleetCertificates:
    return make_fleet_certificates(tmp_path_factory.mktemp("site-certs"))


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, certs: FleetCertificates
) -> Iterator[NatsCluster]:
    tls = LeafTls(str(certs.province.cert), str(certs.province.key), str(certs.centers_ca))
    with NatsCluster(tmp_path_factory.mktemp("cluster"), leaf_tls=tls) as c:
        yield c


async def no_events() -> Any:
    await asyncio.Event().wait()
    return
    yield  # pragma: no cover - an async generator that never yields


def test_fleet_status_central_reports_the_certificate_a_center_presents_on_its_link(
    cluster: NatsCluster,
    certs: FleetCertificates,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path: Path,
) -> None:
    hub_tls = HubTls(str(certs.province.ca), str(certs.center_cert), str(certs.center_key))
    cfg = central(cluster.urls[0], influxdb1.url, influxdb1_database, tmp_path / "worker")
    key = f"{A.province}.{A.site}"

    async def certificates_in_bucket(nc: Any) -> dict[str, Any]:
        """The center's document's ``certificates`` once the worker has written them."""
        while True:  # bounded by WAIT_S below
            with contextlib.suppress(nats.js.errors.NotFoundError):  # no bucket or key yet
                kv = await nc.jetstream().key_value(cfg.nats.kv_bucket)
                doc: dict[str, Any] = json.loads((await kv.get(key)).value or b"{}")
                if "certificates" in doc:
                    return dict(doc["certificates"])
            await asyncio.sleep(0.1)

    async def main(leaf: NatsLeaf) -> dict[str, Any]:
        site = FleetConfig(
            enabled=True,
            url=leaf.url,
            province=A.province,
            retry_min_s=0.05,
            retry_max_s=0.5,
            heartbeat_s=0.2,
            link_cert_file=certs.center_cert,
        )
        uplink = FleetUplink(site, A, no_events)
        task = asyncio.create_task(uplink.run())
        try:
            # the site's stream exists, the first heartbeat (with the certificate) in it
            await wait_until("a heartbeat on the leaf", lambda: uplink.stats.published > 0)
            nc = await nats.connect(cluster.urls)
            try:  # sourced once the site's stream is there (no source retry to wait out)
                await add_sites(nc.jetstream(), [leaf.domain])
                async with running(cfg):
                    return await certificates_in_bucket(nc)
            finally:
                await nc.close()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    with NatsLeaf(tmp_path / "leaf", A, cluster.leaf_urls, hub_tls=hub_tls) as leaf:
        doc = asyncio.run(asyncio.wait_for(main(leaf), WAIT_S))
    ends = not_after(ssl.PEM_cert_to_DER_cert(certs.center_cert.read_text()))
    assert doc["list"] == [
        {
            "source": "link",
            "path": str(certs.center_cert),
            "subject": "CN=hue-thuan-hoa",
            "not_after": ends.isoformat(),
        }
    ]

    central_file = tmp_path / "central.yaml"
    central_file.write_text(json.dumps({"nats": {"url": cluster.urls[0], "stream": STREAM}}))
    result = CliRunner().invoke(
        app, ["fleet", "status", "--central", str(central_file), "--json", "--silent-after", "3600"]
    )
    assert result.exit_code == 4, result.output  # a certificate under 30 days: a warning
    status = json.loads(result.output)
    (row,) = [s for s in status["sites"] if (s["province"], s["site"]) == (A.province, A.site)]
    (cert,) = row["certificates"]
    assert (cert["source"], cert["subject"], cert["path"]) == (
        "link",
        "CN=hue-thuan-hoa",
        str(certs.center_cert),
    )
    assert cert["not_after"] == ends.isoformat() and cert["level"] == "warn"
    days = (ends - datetime.now(UTC)).total_seconds() / 86400
    assert abs(cert["days_left"] - days) < 0.01 and 1 < cert["days_left"] <= 2
    assert row["certificates_at"] is not None
    # the cluster's own certificates are not the center's: the status lists them apart
    assert all(c["source"] != str(certs.center_cert) for c in status["certificates"])
