"""`floorwatch run` end to end: an alert from MQTT reaches an HTTP receiver on loopback,
after the receiver was down and the gateway was killed (SIGKILL) and started again; once.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gateway.notify.outbox import read_status
from gateway.peers.influxdb1 import InfluxDB1Server
from tests.integration.gateway_proc import DEMO, GatewayProcess
from tests.integration.notify_support import HttpReceiver

pytestmark = pytest.mark.integration


def site(folder: Path, broker: Any, influx: InfluxDB1Server, receiver: HttpReceiver) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["cameras"] = []
    data["api"] = {"port": 0}
    data["mqtt"] = {"host": broker.host, "port": broker.port, "client_id": "gw-notify"}
    data["influxdb"] = {
        "url": influx.url,
        "protocol": "v1",
        "database": f"notify_{uuid.uuid4().hex[:8]}",
        "flush_interval_s": 0.2,
    }
    data["gateway"] = {"state_dir": str(folder / "state")}
    for sensor in data["sensors"]:
        sensor["interval_s"] = 3600  # no sensor_stale alerts in a short test
    data["alerts"] = {"clear_s": 1, "capacity_dwell_s": 0}
    data["notifications"] = {
        "channels": [
            {
                "id": "hook",
                "type": "http",
                "url": f"{receiver.url}/floorwatch",
                "timeout_s": 5,
                "json_body": {"alerts": "{alert_ids}", "kind": "{kind}", "title": "{title}"},
            }
        ],
        "routes": [{"match": {"rules": ["capacity"]}, "notify": ["hook"]}],
        "group_window_s": 0,
        "retry_min_s": 0.2,
        "retry_max_s": 0.5,
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def publish_count(broker: Any, n: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pc-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish("presence/f2-waiting", json.dumps({"count": n}), qos=1).wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def test_an_alert_reaches_the_receiver_after_it_returns_across_a_killed_gateway(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    receiver = HttpReceiver()  # down for now
    config = site(tmp_path, mosquitto_fresh, influxdb1, receiver)
    db = tmp_path / "state" / "alerts.sqlite3"
    alert_id = "capacity:f2-waiting:1"
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("notify.started")
        gw.wait_log("mqtt.connected")
        publish_count(mosquitto_fresh, 190)  # capacity 180
        gw.wait_log("notify.failed", count=2)  # raised, queued, tried: the receiver is down
        [queued] = read_status(db, alert_id)
        assert (queued.channel, queued.kind, queued.state) == ("hook", "raised", "queued")
        assert queued.attempts >= 2 and "ConnectError" in (queued.reason or "")
        gw.kill()  # no clean stop

        receiver.start()
        gw = GatewayProcess(config, tmp_path / "gateway2.log")
        gw.start()
        receiver.wait_for(lambda reqs: len(reqs) >= 1)
        gw.wait_log("mqtt.connected")
        publish_count(mosquitto_fresh, 20)  # the crowd is gone: the alert resolves
        receiver.wait_for(lambda reqs: len(reqs) >= 2)
        gw.wait_log("notify.sent", count=2)
        assert gw.stop() == 0
    finally:
        gw.kill()
        receiver.stop()
    got = [(r.json()["alerts"], r.json()["kind"]) for r in receiver.requests]
    assert got == [(alert_id, "raised"), (alert_id, "resolved")]
    assert receiver.requests[0].json()["title"].startswith("[KHẨN CẤP] Khu chờ (118 ghế)")
    assert {d.state for d in read_status(db, alert_id)} == {"sent"}
