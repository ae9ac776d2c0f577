"""The simulator against a real mosquitto: every sensor topic, in its format, nothing lost."""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config_loader import load_settings
from gateway.peers.mosquitto import MosquittoServer
from gateway.settings import Settings
from sensors.simulator.publisher import Published, SimulatorError, run_simulator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
WAIT_S = 15.0


def prefixed_settings(prefix: str) -> Settings:
    """The demo site with every sensor topic moved under ``prefix``."""
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    sensors = [s.model_copy(update={"topic": f"{prefix}/{s.topic}"}) for s in settings.sensors]
    return settings.model_copy(update={"sensors": sensors})


class Capture:
    """A QoS 1 subscriber with a persistent session, recording payloads per topic."""

    def __init__(self, broker: MosquittoServer, topic_filter: str) -> None:
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._filter = topic_filter
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"cap-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        assert self._subscribed.wait(WAIT_S), "no SUBACK"

    def _on_connect(self, client: mqtt.Client, *_a: Any) -> None:
        client.subscribe(self._filter, qos=1)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.messages[msg.topic].append(bytes(msg.payload))
            self._changed.notify_all()

    def total(self) -> int:
        return sum(len(v) for v in self.messages.values())

    def wait_for(self, count: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.total() >= count, WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def check_format(decoder: str, raw: bytes, config: Any) -> None:
    if decoder == "homeassistant":
        assert 0 <= float(raw.decode("utf-8")) < 1000
        return
    body = json.loads(raw)
    if decoder == "tasmota":
        block = "SCD40" if "waiting" in config.id else "SHT3X"
        assert set(body) == {"Time", block, "TempUnit"}
        datetime.strptime(body["Time"], "%Y-%m-%dT%H:%M:%S")
        assert {"Temperature", "Humidity", "DewPoint"} <= set(body[block])
    elif decoder == "zigbee2mqtt":
        assert set(body) == {"battery", "humidity", "linkquality", "temperature", "voltage", "co2"}
    elif decoder == "generic_json":
        assert set(body) == {"ts", "data"} and set(body["data"]) == {"temp_f", "rh", "co2"}
        assert 70 < body["data"]["temp_f"] < 95
    elif decoder == "door_counter":
        assert set(body) == {"in", "out", "seq", "ts"} and body["ts"].endswith("Z")
    elif decoder == "presence" and config.counter is not None:  # a counter seat's PIR
        assert set(body) == {"presence", "ts"} and isinstance(body["presence"], bool)
    elif decoder == "presence":
        assert set(body) == {"count", "ts"} and body["count"] >= 0
    elif decoder == "queue_ticket":
        assert set(body) == {"event", "ticket", "service", "counter", "ts"}
        assert body["event"] in {"issued", "called", "served", "no_show"}
    else:
        raise AssertionError(f"unexpected decoder {decoder}")


def test_every_sensor_topic_receives_its_format(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    settings = prefixed_settings(topic_prefix)
    capture = Capture(mosquitto, f"{topic_prefix}/#")
    sent: list[Published] = []
    try:
        stats = run_simulator(
            settings,
            host=mosquitto.host,
            port=mosquitto.port,
            seed=7,
            start=START,
            speed=3600.0,
            stop=threading.Event(),
            until=START + timedelta(minutes=20),
            on_published=sent.append,
        )
        capture.wait_for(stats.published)
    finally:
        capture.close()
    assert stats.published == len(sent) == capture.total()
    assert stats.acknowledged == stats.published and stats.dropped == 0
    for config in settings.sensors:
        received = capture.messages[config.topic]
        assert received, f"nothing on {config.topic}"
        if config.kind.value != "queue":
            reports = int(20 * 60 / config.interval_s)
            assert len(received) in (reports, reports + 1), config.topic  # both ends count
        for raw in received:
            check_format(config.decoder, raw, config)
    for topic, payloads in capture.messages.items():  # per topic, in publishing order
        assert payloads == [p.payload for p in sent if p.topic == topic]


def test_survives_a_broker_restart_without_losing_readings(
    mosquitto_fresh: MosquittoServer, topic_prefix: str
) -> None:
    settings = prefixed_settings(topic_prefix)
    capture = Capture(mosquitto_fresh, f"{topic_prefix}/#")
    stop = threading.Event()
    published = threading.Event()
    result: dict[str, Any] = {}

    def on_published(_msg: Published) -> None:
        published.set()

    def simulate() -> None:
        result["stats"] = run_simulator(
            settings,
            host=mosquitto_fresh.host,
            port=mosquitto_fresh.port,
            seed=3,
            start=START,
            speed=600.0,
            stop=stop,
            until=START + timedelta(minutes=60),
            on_published=on_published,
            drain_timeout_s=20.0,
        )

    runner = threading.Thread(target=simulate, name="simulator-under-test")
    try:
        runner.start()
        assert published.wait(WAIT_S)
        mosquitto_fresh.restart()
        runner.join(60)
        assert not runner.is_alive()
        stats = result["stats"]
        capture.wait_for(stats.published)
    finally:
        stop.set()
        runner.join(10)
        capture.close()
    assert stats.connects >= 2 and stats.disconnects >= 1
    assert stats.unacknowledged == 0 and stats.dropped == 0
    door = [json.loads(p) for p in capture.messages[f"{topic_prefix}/counters/d-main"]]
    seqs = sorted({d["seq"] for d in door})
    assert seqs == list(range(seqs[0], seqs[0] + 61)), "a door-counter report went missing"


def test_no_broker_is_an_error_after_the_connect_timeout(tmp_path: Path) -> None:
    broker = MosquittoServer(tmp_path / "never-started")  # a free port nobody listens on
    settings = prefixed_settings("unused")
    with pytest.raises(SimulatorError, match="no MQTT broker"):
        run_simulator(
            settings,
            host=broker.host,
            port=broker.port,
            seed=1,
            start=START,
            speed=60.0,
            stop=threading.Event(),
            connect_timeout_s=1.5,
        )
