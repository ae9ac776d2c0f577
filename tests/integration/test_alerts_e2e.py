"""A morning rush through real mosquitto and `floorwatch run`: levels, alerts, restart, ack.

Presence counts for the waiting hall are published the way the sensor sends
them; a plain paho subscriber on ``floorwatch/demo-hcc/#`` records what the
gateway publishes. Mid-rush the gateway is stopped and started again: the
active alerts come back with the same ids and none is raised twice. An
operator then acknowledges an alert (through ``Gateway.engine``, what the API
calls): the acknowledgement is published, stored in SQLite, and survives the
next restart. Every transition is in InfluxDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gateway.app import Gateway, build_gateway
from gateway.config_loader import load_settings
from gateway.live import Alert
from gateway.observations import DeviceHealth, DeviceKind, PeopleCount
from gateway.peers.influxdb1 import InfluxDB1Server
from tests.integration.gateway_proc import DEMO, FLOORWATCH, GatewayProcess, wait_until

pytestmark = pytest.mark.integration
ROOT = "floorwatch/demo-hcc"
WAITING = f"{ROOT}/zones/f2-waiting/state"
CROWD = f"{ROOT}/alerts/crowd_level:f2-waiting:1"
CAPACITY = f"{ROOT}/alerts/capacity:f2-waiting:1"


def rush_site(folder: Path, broker: Any, influx: InfluxDB1Server, db: str) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["mqtt"] = {"host": broker.host, "port": broker.port, "client_id": "gw-rush"}
    data["influxdb"] = {
        "url": influx.url,
        "protocol": "v1",
        "database": db,
        "flush_interval_s": 0.2,
    }
    data["gateway"] = {"state_dir": str(folder / "state")}
    for zone in data["zones"]:
        if zone["id"] == "f2-waiting":
            zone["crowd"]["dwell_s"] = 2
    for sensor in data["sensors"]:
        sensor["interval_s"] = 3600  # keep sensor_stale alerts out of a short test
    data["alerts"] = {"clear_s": 1, "capacity_dwell_s": 0, "crowd_dwell_s": 0}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Watcher:
    """Records every message under the site's outbound root, in arrival order."""

    def __init__(self, host: str, port: int) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"w-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_a: subscribed.set()
        self._client.connect(host, port)
        self._client.subscribe(f"{ROOT}/#", qos=1)
        self._client.loop_start()
        assert subscribed.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def docs(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _ in self.snapshot() if t == topic and p]

    def levels(self) -> list[str]:
        """The waiting hall's level changes, in order."""
        out: list[str] = []
        for doc in self.docs(WAITING):
            if not out or out[-1] != doc["level"]:
                out.append(doc["level"])
        return out

    def last(self, topic: str) -> dict[str, Any] | None:
        docs = self.docs(topic)
        return docs[-1] if docs else None

    def alert_topics(self) -> set[str]:
        return {t for t, _, _ in self.snapshot() if t.startswith(f"{ROOT}/alerts/")}

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def publish_count(broker: Any, n: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pc-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish("presence/f2-waiting", json.dumps({"count": n}), qos=1).wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def level_is(watcher: Watcher, level: str, occupancy: int) -> Callable[[], bool]:
    def check() -> bool:
        doc = watcher.last(WAITING)
        return doc is not None and doc["level"] == level and doc["occupancy"] == occupancy

    return check


class InProcessGateway:
    """``build_gateway`` on a loop of its own thread: what the API process holds."""

    def __init__(self, config: Path, *, camera_workers: bool = True) -> None:
        self._settings = load_settings(config, {}).settings
        self._camera_workers = camera_workers
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.gateway: Gateway | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self.gateway = build_gateway(self._settings)
            if not self._camera_workers:  # the test plays the camera workers' threads
                self.gateway.services.cameras.clear()
            self._task = asyncio.current_task()
            self._ready.set()
            await self.gateway.run()

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10)
        self.call(lambda gw: gw.engine.wait_ready())

    def call(self, fn: Callable[[Gateway], Any]) -> Any:
        assert self._loop is not None and self.gateway is not None
        gateway = self.gateway
        future: Future[Any] = asyncio.run_coroutine_threadsafe(fn(gateway), self._loop)
        return future.result(15)

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)
        assert not self._thread.is_alive()


def influx_transitions(url: str, db: str) -> list[tuple[str, str]]:
    q = 'SELECT "alert_id", "transition" FROM alerts'
    r = httpx.get(f"{url}/query", params={"db": db, "q": q}, timeout=10)
    r.raise_for_status()
    series = r.json()["results"][0].get("series", [])
    return [(row[1], row[2]) for s in series for row in s["values"]]


def test_morning_rush_restart_and_acknowledge(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    broker = mosquitto_fresh
    db = f"rush_{uuid.uuid4().hex[:8]}"
    config = rush_site(tmp_path, broker, influxdb1, db)
    watcher = Watcher(broker.host, broker.port)
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("engine.started")
        gw.wait_log("mqtt.connected")
        # 07:30, doors open: a quiet hall, then the rush builds up
        for n, level in ((20, "calm"), (100, "busy"), (150, "crowded")):
            publish_count(broker, n)
            wait_until(level_is(watcher, level, n), 20, f"{n} people -> {level}")
        wait_until(lambda: watcher.last(CROWD) is not None, 10, "the crowd alert")
        raised = watcher.last(CROWD)
        assert raised is not None
        assert (raised["state"], raised["severity"], raised["transition"]) == (
            "active",
            "warning",
            "raised",
        )

        # the gateway restarts mid-rush
        assert gw.stop() == 0
        before = len(watcher.snapshot())
        gw = GatewayProcess(config, tmp_path / "gateway2.log")
        gw.start()
        gw.wait_log("state.republished")
        wait_until(
            lambda: any(t == CROWD and p for t, p, _ in watcher.snapshot()[before:]),
            10,
            "the active alert republished after the restart",
        )
        publish_count(broker, 150)  # the sensor's next report
        publish_count(broker, 190)
        wait_until(level_is(watcher, "critical", 190), 20, "190 people -> critical")
        wait_until(lambda: watcher.last(CAPACITY) is not None, 10, "capacity exceeded")
        wait_until(
            lambda: (watcher.last(CROWD) or {}).get("severity") == "critical",
            10,
            "the crowd alert re-notified as critical",
        )
        crowd = watcher.last(CROWD)
        assert crowd is not None and crowd["transition"] == "renotified"
        assert crowd["raised_at"] == raised["raised_at"]  # the same alert, from before the restart
        assert watcher.alert_topics() == {CROWD, CAPACITY}  # nothing raised twice
        assert gw.stop() == 0
    finally:
        gw.kill()

    # an operator acknowledges the crowd alert through the engine (what the API calls)
    inproc = InProcessGateway(config)
    inproc.start()
    try:
        acked: Alert = inproc.call(
            lambda g: g.engine.acknowledge(
                "crowd_level:f2-waiting:1", by="supervisor-lan", note="opening counters 24-25"
            )
        )
        assert acked.acknowledged_by == "supervisor-lan"
        wait_until(
            lambda: (watcher.last(CROWD) or {}).get("state") == "acknowledged",
            10,
            "the acknowledgement on MQTT",
        )
    finally:
        inproc.stop()
    with sqlite3.connect(tmp_path / "state" / "alerts.sqlite3") as conn:
        kinds = [
            k
            for (k,) in conn.execute(
                "SELECT kind FROM transitions WHERE alert_id = 'crowd_level:f2-waiting:1' ORDER BY seq"
            )
        ]
    assert kinds == ["raised", "renotified", "acknowledged"]
    shown = subprocess.run(
        [str(FLOORWATCH), "alerts", "show", "crowd_level:f2-waiting:1", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "acknowledged by supervisor-lan: opening counters 24-25" in shown

    # and again `floorwatch run`: still acknowledged; the hall empties, the alerts resolve
    gw = GatewayProcess(config, tmp_path / "gateway3.log")
    gw.start()
    try:
        gw.wait_log("state.republished")
        retained = Watcher(broker.host, broker.port)  # a control room that starts now
        try:
            wait_until(lambda: retained.last(CROWD) is not None, 10, "the retained alert")
            doc = retained.last(CROWD)
            assert doc is not None
            assert (doc["state"], doc["acknowledged_by"]) == ("acknowledged", "supervisor-lan")
            assert retained.last(WAITING) is not None
        finally:
            retained.close()
        publish_count(broker, 20)
        wait_until(level_is(watcher, "calm", 20), 20, "20 people -> calm")
        wait_until(
            lambda: all(
                any(t == topic and p == b"" for t, p, _ in watcher.snapshot())
                for topic in (CROWD, CAPACITY)
            ),
            15,
            "both alerts cleared",
        )
        assert (watcher.last(CROWD) or {}).get("state") == "resolved"
        late = Watcher(broker.host, broker.port)  # subscribes now: no alert is retained
        try:
            wait_until(lambda: late.last(WAITING) is not None, 10, "the retained zone state")
            assert late.alert_topics() == set()
        finally:
            late.close()
        assert watcher.levels() == ["calm", "busy", "crowded", "critical", "calm"]
        assert gw.stop() == 0
    finally:
        gw.kill()
        watcher.close()

    expected = {
        ("crowd_level:f2-waiting:1", "raised"),
        ("crowd_level:f2-waiting:1", "renotified"),
        ("crowd_level:f2-waiting:1", "acknowledged"),
        ("crowd_level:f2-waiting:1", "resolved"),
        ("capacity:f2-waiting:1", "raised"),
        ("capacity:f2-waiting:1", "resolved"),
    }
    deadline = time.monotonic() + 20
    while set(influx_transitions(influxdb1.url, db)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(influx_transitions(influxdb1.url, db)) == expected
    q = "SELECT \"level\" FROM zone_occupancy WHERE source = 'fused' AND zone = 'f2-waiting'"
    r = httpx.get(f"{influxdb1.url}/query", params={"db": db, "q": q}, timeout=10).json()
    stored = [row[1] for s in r["results"][0].get("series", []) for row in s["values"]]
    assert {"calm", "busy", "crowded", "critical"} <= set(stored)


def test_camera_counts_through_the_inbox(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    """A camera worker's thread puts counts and health in the inbox; they drive the zone."""
    broker = mosquitto_fresh
    db = f"inbox_{uuid.uuid4().hex[:8]}"
    config = rush_site(tmp_path, broker, influxdb1, db)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["cameras"] = [
        {
            "id": "cam-hall",
            "name": "Waiting hall",
            "onvif": {"host": "127.0.0.1"},
            "rois": [{"zone": "f2-waiting", "polygon": [[0, 0], [1, 0], [1, 1]]}],
        }
    ]
    data["alerts"]["device_dwell_s"] = 1
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    watcher = Watcher(broker.host, broker.port)
    inproc = InProcessGateway(config, camera_workers=False)
    inproc.start()
    try:
        assert inproc.gateway is not None
        inbox = inproc.gateway.inbox

        def camera_worker() -> None:
            now = datetime.now(UTC)
            inbox.put(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, now, "state=streaming"))
            inbox.put(PeopleCount("f2-waiting", "cam-hall", 61, now, confidence=0.9))

        worker = threading.Thread(target=camera_worker)
        worker.start()
        worker.join(5)
        wait_until(
            lambda: (watcher.last(WAITING) or {}).get("method") == "camera", 10, "camera fusion"
        )
        doc = watcher.last(WAITING)
        assert doc is not None and (doc["occupancy"], doc["confidence"]) == (61, 0.9)
        inbox.put(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, datetime.now(UTC), "tampered"))
        tamper = f"{ROOT}/alerts/camera_tampered:cam-hall:1"
        wait_until(lambda: watcher.last(tamper) is not None, 15, "the tamper alert")
    finally:
        inproc.stop()
        watcher.close()
    q = "SELECT \"count\" FROM zone_occupancy WHERE source = 'cam-hall'"
    deadline = time.monotonic() + 20
    stored: list[Any] = []
    while not stored and time.monotonic() < deadline:
        r = httpx.get(f"{influxdb1.url}/query", params={"db": db, "q": q}, timeout=10).json()
        stored = [row[1] for s in r["results"][0].get("series", []) for row in s["values"]]
        time.sleep(0.2)
    assert stored == [61]


def test_a_reconnect_republishes_the_state(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    """Retained state lost on the broker comes back when the gateway reconnects."""
    broker = mosquitto_fresh
    config = rush_site(tmp_path, broker, influxdb1, f"re_{uuid.uuid4().hex[:8]}")
    watcher = Watcher(broker.host, broker.port)
    inproc = InProcessGateway(config)
    inproc.start()
    try:
        publish_count(broker, 150)
        wait_until(lambda: watcher.last(CROWD) is not None, 15, "the crowd alert")
        watcher.close()
        # an operator wipes the broker's retained messages, then the broker restarts
        wiper = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wipe-{uuid.uuid4().hex[:8]}")
        wiper.connect(broker.host, broker.port)
        wiper.loop_start()
        for topic in (WAITING, CROWD):
            wiper.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
        wiper.loop_stop()
        wiper.disconnect()
        assert inproc.gateway is not None
        before = inproc.gateway.state_writer.republished
        broker.restart()
        gateway = inproc.gateway
        wait_until(lambda: gateway.state_writer.republished > before, 30, "a republish")
        fresh = Watcher(broker.host, broker.port)
        try:
            wait_until(lambda: fresh.last(CROWD) is not None, 10, "the alert retained again")
            wait_until(lambda: fresh.last(WAITING) is not None, 10, "the zone state again")
            state = fresh.last(WAITING)
            assert state is not None and state["occupancy"] == 150
        finally:
            fresh.close()
    finally:
        inproc.stop()
