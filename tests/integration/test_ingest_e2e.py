"""The ticket webhook end to end: ``floorwatch run`` with a ticket source -> real InfluxDB.

The site file names the source's token and secret by environment variable;
the gateway runs as a process (real mosquitto, real influxd); events are
posted over HTTP with a signature. The same events must end as the same
points as over MQTT, a dead letter must show in the API, and neither the
token nor the secret may appear in the gateway's log.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from api.ingest_auth import sign
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.peers.process import PeerError
from tests.integration.gateway_proc import GatewayProcess, site_file, wait_until

pytestmark = pytest.mark.integration

TOKEN = "e2e-ingest-token-93c1d07a5b"
SECRET = "e2e-webhook-secret-1f2e3d4c5b"
ADMIN = "e2e-admin-token-0123456789abc"


def _port(log_path: Path) -> int | None:
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("event") == "api.started":
            return int(record["port"])
    return None


def _stored(influx: InfluxDB1Server, db: str) -> list[list[object]]:
    try:
        return influx.rows('SELECT "ticket", "counter", "event", "service" FROM queue', db)
    except PeerError as exc:
        if "database not found" in str(exc):
            return []
        raise


def test_a_signed_webhook_reaches_influxdb_through_floorwatch_run(
    mosquitto: MosquittoServer,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path: Path,
    topic_prefix: str,
) -> None:
    db = influxdb1_database
    config = site_file(
        tmp_path,
        mqtt={
            "host": mosquitto.host,
            "port": mosquitto.port,
            "client_id": f"fw-ingest-{topic_prefix[-8:]}",
        },
        influxdb={"url": influxdb1.url, "protocol": "v1", "database": db, "flush_interval_s": 0.05},
        gateway={"state_dir": str(tmp_path / "state")},
        api={
            "port": 0,
            "tokens": [{"name": "Admin", "role": "admin", "token": {"env": "E2E_ADMIN"}}],
        },
        ingest={
            "tickets": [
                {
                    "id": "qms-web",
                    "token": {"env": "E2E_QMS_TOKEN"},
                    "secret": {"env": "E2E_QMS_SECRET"},
                    "fields": {
                        "event": "kind",
                        "ticket": "no",
                        "service": "svc",
                        "counter": "desk",
                    },
                    "events": {"CALL": "called", "NEW": "issued"},
                    "services": {"1": "land"},
                }
            ]
        },
    )
    env = {"E2E_QMS_TOKEN": TOKEN, "E2E_QMS_SECRET": SECRET, "E2E_ADMIN": ADMIN}
    gw = GatewayProcess(config, tmp_path / "gateway.log", env)
    gw.start()
    try:
        wait_until(lambda: _port(gw.log_path) is not None, 60, "the API to listen")
        url = f"http://127.0.0.1:{_port(gw.log_path)}/api/v1/ingest/tickets/qms-web"
        body = json.dumps(
            [
                {"kind": "NEW", "no": "A101", "svc": 1, "ts": "2026-12-07T08:00:00+07:00"},
                {"kind": "CALL", "no": "A101", "svc": 1, "desk": 2},
                {"kind": "PRINT", "no": "A102", "svc": 1},
            ]
        ).encode()
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json",
            "X-Signature-256": sign(SECRET.encode(), body),
        }
        with httpx.Client(timeout=30) as client:
            r = client.post(url, content=body, headers=headers)
            assert r.status_code == 422, r.text
            details = r.json()["error"]["details"]
            assert [d["status"] for d in details] == ["stored", "stored", "rejected"]
            # durable before the answer: no waiting for the points
            rows = sorted(
                (str(p[1]), str(p[2]), str(p[3]), str(p[4])) for p in _stored(influxdb1, db)
            )
            assert rows == [("A101", "2", "called", "land"), ("A101", "None", "issued", "land")]
            r = client.post(url, content=body, headers=headers)  # the sender retries
            assert r.status_code == 422
            assert all(d["duplicate"] for d in r.json()["error"]["details"])
            admin = {"Authorization": f"Bearer {ADMIN}"}
            assert client.post(url, content=body, headers={**headers, **admin}).status_code == 403
            base = url.split("/api/")[0]
            letters = client.get(f"{base}/api/v1/dead-letters", headers=admin).json()
            assert {"sensor": "qms-web", "count": 1} in letters["per_sensor"]
            metrics = client.get(f"{base}/metrics", headers=admin).text
            assert (
                'floorwatch_ingest_events_total{outcome="stored",source="qms-web"} 2.0' in metrics
            )
        assert len(_stored(influxdb1, db)) == 2
    finally:
        assert gw.stop() == 0
    log = gw.log_path.read_text(errors="replace")
    assert "ingest.event_rejected" in log
    for secret in (TOKEN, SECRET, ADMIN):
        assert secret not in log
