"""End to end: simulator -> real mosquitto -> `floorwatch run` -> real InfluxDB / VictoriaMetrics.

Also the failure stories of the foundation issue: InfluxDB down during 10,000
messages, a broker restart, a SIGKILL of the gateway mid-stream.

Every test plays a fixed past day (``MORNING``), whatever the date it runs on:
the simulator's day and the payloads' times are the same on every run, and the
gateway is told to accept readings that old (``ANY_PAST``). Both InfluxDB 1.x
(the default retention policy keeps everything) and the VictoriaMetrics peer
(``-retentionPeriod=100y``) keep points of any past day.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config_loader import load_settings
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.victoriametrics import VictoriaMetricsServer
from sensors.simulator.publisher import SimulatorStats, run_simulator
from tests.integration.gateway_proc import (
    GatewayProcess,
    publish_lines,
    site_file,
    wait_until,
)

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# A weekday morning, pinned: the simulator seeds its visitors with the day.
MORNING = datetime(2026, 12, 4, 8, 0, tzinfo=TZ)  # a Friday
# The gateway rejects readings older than validation.max_age_s: accept 50 years.
ANY_PAST = {"max_age_s": 50 * 366 * 86400}


def influx_rows(url: str, db: str, query: str) -> list[list[Any]]:
    r = httpx.get(f"{url}/query", params={"db": db, "q": query, "epoch": "ms"}, timeout=10)
    r.raise_for_status()
    result = r.json()["results"][0]
    if result.get("error", "").startswith("database not found"):
        return []  # the gateway has not created it yet
    if "error" in result:
        raise AssertionError(result["error"])
    rows: list[list[Any]] = []
    for series in result.get("series", []):
        rows.extend(series["values"])
    return rows


def rows_at_least(url: str, db: str, query: str, n: int) -> Callable[[], bool]:
    return lambda: len(influx_rows(url, db, query)) >= n


def influx_count(url: str, db: str, query: str) -> int:
    rows = influx_rows(url, db, query)
    return int(rows[0][1]) if rows else 0


class Capture:
    """A plain paho subscriber recording what the simulator published (the ground truth)."""

    def __init__(self, host: str, port: int) -> None:
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"cap-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_message = self._on_message
        self._ready = threading.Event()
        self._client.on_subscribe = lambda *_a: self._ready.set()
        self._client.connect(host, port)
        self._client.subscribe("#", qos=1)
        self._client.loop_start()
        assert self._ready.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages[msg.topic].append(bytes(msg.payload))

    def snapshot(self) -> dict[str, list[bytes]]:
        with self._lock:
            return {t: list(v) for t, v in self.messages.items()}

    def total(self) -> int:
        with self._lock:
            return sum(len(v) for t, v in self.messages.items() if not t.startswith("floorwatch/"))

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def simulate(config: Path, host: str, port: int, start: datetime, hours: float) -> SimulatorStats:
    settings = load_settings(config, {}).settings
    return run_simulator(
        settings,
        host=host,
        port=port,
        seed=11,
        start=start,
        speed=7200.0,
        stop=threading.Event(),
        until=start + timedelta(hours=hours),
    )


def iso_ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def test_simulated_morning_reaches_influxdb_v1_intact(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    db = f"e2e_{uuid.uuid4().hex[:8]}"
    config = site_file(
        tmp_path,
        mqtt={"host": mosquitto_fresh.host, "port": mosquitto_fresh.port, "client_id": "gw-e2e"},
        influxdb={"url": influxdb1.url, "protocol": "v1", "database": db, "flush_interval_s": 0.2},
        gateway={"state_dir": str(tmp_path / "state")},
        validation=ANY_PAST,
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    capture = Capture(mosquitto_fresh.host, mosquitto_fresh.port)
    try:
        gw.wait_log("mqtt.connected")
        stats = simulate(config, mosquitto_fresh.host, mosquitto_fresh.port, MORNING, hours=1.0)
        # the ground truth is complete only once the capture holds every message the
        # broker acknowledged to the simulator (QoS 1): snapshotting earlier can miss
        # the last ones in flight while the gateway already stored them
        assert stats.dropped == 0 and stats.unacknowledged == 0
        wait_until(
            lambda: capture.total() >= stats.acknowledged, 30, "the capture to see everything"
        )
        published = capture.snapshot()

        # presence: every (time, count) published is stored, exactly
        for topic, source in (
            ("presence/f2-waiting", "pc-f2-waiting"),
            ("presence/f1-entrance", "pc-f1-entrance"),
        ):
            sent = sorted(
                (iso_ms(json.loads(p)["ts"]), json.loads(p)["count"]) for p in published[topic]
            )
            assert len(sent) > 10
            q = f"SELECT \"count\" FROM zone_occupancy WHERE source = '{source}'"  # noqa: S608
            wait_until(rows_at_least(influxdb1.url, db, q, len(sent)), 30, q)
            stored = sorted((int(t), int(v)) for t, v in influx_rows(influxdb1.url, db, q))
            assert stored == sent

        # Tasmota climate: device-local time and temperature intact
        tas = [json.loads(p) for p in published["tele/cl-f2-waiting/SENSOR"]]
        sent_t = sorted(
            (
                int(datetime.fromisoformat(p["Time"]).replace(tzinfo=TZ).timestamp() * 1000),
                p["SCD40"]["CarbonDioxide"],
            )
            for p in tas
        )
        q = "SELECT co2 FROM climate WHERE sensor = 'cl-f2-waiting'"
        wait_until(lambda: len(influx_rows(influxdb1.url, db, q)) >= len(sent_t), 30, q)
        assert sorted((int(t), v) for t, v in influx_rows(influxdb1.url, db, q)) == sent_t

        # queue tickets: one point per event
        events = [json.loads(p) for p in published["qms/events"]]
        assert any(e["event"] == "issued" for e in events)
        q = 'SELECT count("count") FROM queue'
        wait_until(lambda: influx_count(influxdb1.url, db, q) == len(events), 30, q)

        # cumulative door counter: stored deltas add up to the published totals
        door = [json.loads(p) for p in published["counters/d-main"]]
        expected_entries = door[-1]["in"] - door[0]["in"]
        q = "SELECT sum(entries) FROM door_traffic WHERE door = 'd-main'"
        wait_until(lambda: influx_count(influxdb1.url, db, q) == expected_entries, 30, q)
        assert expected_entries > 0
    finally:
        capture.stop()
        assert gw.stop() == 0
    assert "gateway.stopped" in gw.log_events()


def test_v2_protocol_into_victoriametrics(
    tmp_path: Path, mosquitto_fresh: Any, victoriametrics: VictoriaMetricsServer
) -> None:
    bucket = f"b{uuid.uuid4().hex[:8]}"
    site_id = f"v2-{uuid.uuid4().hex[:8]}"  # VictoriaMetrics ignores the v2 bucket: isolate by site
    config = site_file(
        tmp_path,
        site={"id": site_id},
        mqtt={"host": mosquitto_fresh.host, "port": mosquitto_fresh.port, "client_id": "gw-v2"},
        influxdb={
            "url": victoriametrics.url,
            "protocol": "v2",
            "bucket": bucket,
            "org": "test",
            "flush_interval_s": 0.2,
        },
        gateway={"state_dir": str(tmp_path / "state")},
        validation=ANY_PAST,
    )
    gw = GatewayProcess(
        config, tmp_path / "gateway.log", env={"FLOORWATCH_INFLUXDB__TOKEN": "unused-by-vm"}
    )
    gw.start()
    try:
        gw.wait_log("mqtt.connected")
        base = (MORNING + timedelta(hours=2)).astimezone(UTC)
        payloads = [
            json.dumps(
                {
                    "count": i % 97,
                    "ts": (base + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                }
            )
            for i in range(500)
        ]
        publish_lines(mosquitto_fresh.host, mosquitto_fresh.port, "presence/f2-waiting", payloads)
        expected = sorted(
            (int((base + timedelta(seconds=i)).timestamp() * 1000), float(i % 97))
            for i in range(500)
        )

        def stored() -> list[tuple[int, float]]:
            return victoriametrics.export_series(
                "zone_occupancy_count", {"source": "pc-f2-waiting", "site": site_id}
            )

        wait_until(lambda: len(stored()) >= 500, 30, "500 points in VictoriaMetrics")
        assert sorted(stored()) == expected
    finally:
        assert gw.stop() == 0


def test_influxdb_outage_loses_nothing(tmp_path: Path, mosquitto_fresh: Any) -> None:
    influx = InfluxDB1Server(tmp_path / "influx")
    influx.start()
    config = site_file(
        tmp_path,
        mqtt={"host": mosquitto_fresh.host, "port": mosquitto_fresh.port, "client_id": "gw-outage"},
        influxdb={
            "url": influx.url,
            "protocol": "v1",
            "database": "outage",
            "flush_interval_s": 0.2,
            "retry_max_s": 2,
        },
        gateway={"state_dir": str(tmp_path / "state")},
        validation=ANY_PAST,
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("mqtt.connected")
        influx.stop()
        base = (MORNING + timedelta(hours=3)).astimezone(UTC)
        n = 10_000
        payloads = [
            json.dumps(
                {
                    "count": i % 150,
                    "ts": (base + timedelta(milliseconds=100 * i))
                    .isoformat()
                    .replace("+00:00", "Z"),
                }
            )
            for i in range(n)
        ]
        publish_lines(mosquitto_fresh.host, mosquitto_fresh.port, "presence/f2-waiting", payloads)
        spool = tmp_path / "state" / "spool"
        wait_until(
            lambda: spool_lines(spool) >= n, 60, "all points in the spool while InfluxDB is down"
        )
        influx.start()
        q = 'SELECT count("count"), sum("count") FROM zone_occupancy WHERE source = \'pc-f2-waiting\''
        wait_until(
            lambda: (
                bool(influx_rows(influx.url, "outage", q))
                and influx_rows(influx.url, "outage", q)[0][1] == n
            ),
            90,
            "replay",
        )
        assert influx_rows(influx.url, "outage", q)[0][2] == sum(i % 150 for i in range(n))
        wait_until(lambda: spool_lines(spool) == 0, 30, "the spool to drain")
    finally:
        gw.stop()
        influx.stop()


def spool_lines(folder: Path) -> int:
    if not folder.exists():
        return 0
    total = 0
    for path in folder.iterdir():
        if path.is_file() and path.suffix == ".lp":
            total += sum(
                1 for line in path.read_bytes().splitlines() if line.startswith(b"zone_occupancy")
            )
    return total


def test_broker_restart_delivers_what_was_published_meanwhile(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    db = f"restart_{uuid.uuid4().hex[:8]}"
    config = site_file(
        tmp_path,
        mqtt={
            "host": mosquitto_fresh.host,
            "port": mosquitto_fresh.port,
            "client_id": "gw-restart",
            "reconnect_min_s": 3.0,
            "reconnect_max_s": 6.0,
        },
        influxdb={"url": influxdb1.url, "protocol": "v1", "database": db, "flush_interval_s": 0.2},
        gateway={"state_dir": str(tmp_path / "state")},
        validation=ANY_PAST,
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    base = (MORNING + timedelta(hours=1)).astimezone(UTC)

    def batch(lo: int, hi: int) -> list[str]:
        return [
            json.dumps(
                {"count": i, "ts": (base + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")}
            )
            for i in range(lo, hi)
        ]

    q = "SELECT count(\"count\") FROM zone_occupancy WHERE source = 'pc-f2-counters'"
    try:
        gw.wait_log("mqtt.connected")
        publish_lines(
            mosquitto_fresh.host, mosquitto_fresh.port, "presence/f2-counters", batch(0, 100)
        )
        wait_until(lambda: influx_count(influxdb1.url, db, q) == 100, 30, "first 100")
        mosquitto_fresh.restart()
        # the gateway waits >= 1.5 s before reconnecting: these land in its persistent session
        publish_lines(
            mosquitto_fresh.host, mosquitto_fresh.port, "presence/f2-counters", batch(100, 300)
        )
        gw.wait_log("mqtt.connected", count=2, timeout_s=30)
        wait_until(
            lambda: influx_count(influxdb1.url, db, q) == 300, 30, "all 300 after the restart"
        )
        assert "mqtt.disconnected" in gw.log_events()
    finally:
        assert gw.stop() == 0


def test_sigkill_mid_stream_loses_no_acknowledged_message(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    db = f"kill_{uuid.uuid4().hex[:8]}"
    config = site_file(
        tmp_path,
        mqtt={"host": mosquitto_fresh.host, "port": mosquitto_fresh.port, "client_id": "gw-kill"},
        influxdb={
            "url": influxdb1.url,
            "protocol": "v1",
            "database": db,
            "flush_interval_s": 0.5,
            "batch_size": 500,
        },
        gateway={"state_dir": str(tmp_path / "state")},
        validation=ANY_PAST,
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    n = 20_000
    base = (MORNING + timedelta(hours=5)).astimezone(UTC)
    payloads = [
        json.dumps(
            {
                "count": i % 200,
                "ts": (base + timedelta(milliseconds=50 * i)).isoformat().replace("+00:00", "Z"),
            }
        )
        for i in range(n)
    ]
    q = "SELECT count(\"count\") FROM zone_occupancy WHERE source = 'pc-f2-waiting'"
    try:
        gw.wait_log("mqtt.connected")
        publisher = threading.Thread(
            target=publish_lines,
            args=(mosquitto_fresh.host, mosquitto_fresh.port, "presence/f2-waiting", payloads),
        )
        publisher.start()
        wait_until(lambda: influx_count(influxdb1.url, db, q) >= 1000, 60, "some points stored")
        gw.kill()
        stored_at_kill = influx_count(influxdb1.url, db, q)
        publisher.join(120)
        gw = GatewayProcess(config, tmp_path / "gateway2.log")
        gw.start()
        wait_until(
            lambda: influx_count(influxdb1.url, db, q) == n, 120, f"all {n} points after restart"
        )
        assert stored_at_kill < n, "the kill happened mid-stream"
    finally:
        gw.stop()
