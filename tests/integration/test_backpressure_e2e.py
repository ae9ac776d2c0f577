"""A long storage outage behind a full spool, end to end (``floorwatch run``).

InfluxDB stops; the small spool fills; the writer holds; the hub stops taking
messages; the MQTT source stops reading. That lasts more than three keepalives
(mosquitto drops a client silent for 1.5): the gateway must keep its session
(pings while paused), so when InfluxDB returns every message is stored once:
the broker never dropped the gateway, and redelivered nothing.

The sensor is a Home Assistant style single value, stamped at receipt: a
message delivered twice would be two points. Each carries its own value, so
the distinct count shows that nothing was lost either.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.peers.process import PeerError
from tests.integration.gateway_proc import (
    GatewayProcess,
    publish_lines,
    site_file,
    wait_until,
)

pytestmark = pytest.mark.integration

TOPIC = "homeassistant/sensor/f2_landing_pm25/state"  # the demo site's receipt-time sensor
KEEPALIVE_S = 5


def _records(log_path: Path) -> list[dict[str, Any]]:
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _stored(influx: InfluxDB1Server, db: str) -> tuple[int, int]:
    """(points, distinct values) of the sensor; (0, 0) while the database does not exist."""
    try:
        rows = influx.rows(
            "SELECT count(pm25), count(distinct(pm25)) FROM climate"
            " WHERE sensor = 'cl-f2-landing-pm25'",
            db,
        )
    except PeerError as exc:
        if "database not found" in str(exc):
            return (0, 0)
        raise
    return (int(rows[0][1]), int(rows[0][2])) if rows else (0, 0)


def test_a_long_outage_behind_a_full_spool_keeps_the_session_and_stores_once(
    mosquitto: MosquittoServer,
    influxdb1_private: Callable[[], InfluxDB1Server],
    tmp_path: Path,
    topic_prefix: str,
) -> None:
    influx = influxdb1_private()
    db = "outage"
    client_id = f"fw-outage-{topic_prefix[-8:]}"
    n = 4000
    config = site_file(
        tmp_path,
        mqtt={
            "host": mosquitto.host,
            "port": mosquitto.port,
            "client_id": client_id,
            "keepalive_s": KEEPALIVE_S,
        },
        influxdb={
            "url": influx.url,
            "protocol": "v1",
            "database": db,
            "batch_size": 100,
            "flush_interval_s": 0.05,
            "max_pending_lines": 100,
            "spool": {"max_bytes": 30_000},  # some 200 points
        },
        gateway={"state_dir": str(tmp_path / "state"), "queue_size": 200},
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("mqtt.subscribed", timeout_s=60)
        influx.stop()
        payloads = [f"{i / 100:.2f}" for i in range(n)]
        publish_lines(mosquitto.host, mosquitto.port, TOPIC, payloads)
        gw.wait_log("storage.spool_full", timeout_s=60)
        gw.wait_log("mqtt.reading_paused", timeout_s=60)
        # pings 4 and 8 of the pause: more than three keepalives without reading
        gw.wait_log("mqtt.reading_still_paused", timeout_s=90, count=2)
        paused = [r for r in _records(gw.log_path) if r.get("event") == "mqtt.reading_still_paused"]
        assert paused[-1]["paused_s"] >= 3 * KEEPALIVE_S
        influx.start()
        wait_until(lambda: _stored(influx, db)[1] >= n, 180, "every message stored")
        gw.wait_log("mqtt.reading_resumed", timeout_s=30)
    finally:
        assert gw.stop() == 0
    assert _stored(influx, db) == (n, n)  # each message once: nothing twice, nothing lost
    records = _records(gw.log_path)
    events = [r.get("event") for r in records]
    assert events.count("mqtt.connected") == 1
    assert "mqtt.connection_lost" not in events
    [stopped] = [r for r in records if r.get("event") == "gateway.stopped"]
    assert stopped["messages"] == n  # the broker redelivered nothing
    broker = [ln for ln in mosquitto.log_path.read_text().splitlines() if client_id in ln]
    assert sum("New client connected" in ln for ln in broker) == 1, broker
    assert not any("exceeded timeout" in ln for ln in broker), broker
