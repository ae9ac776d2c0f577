"""The zones as Home Assistant discovery entities, through a real mosquitto.

The demo site runs in process (``build_gateway``) against its own broker. With
``mqtt.homeassistant_discovery.enabled`` the retained
``homeassistant/sensor/floorwatch_demo-hcc/<zone>_<what>/config`` messages are
on the broker; each one's ``state_topic`` carries, retained, the field its
``value_template`` selects, and its ``availability_topic`` says its
``payload_available``. Switched off (the default), nothing is under the prefix.

"Everything retained has arrived" is known without sleeping: after subscribing,
the test publishes a marker on the same filter; the broker sends the retained
messages of a subscription before anything published after it.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config_loader import load_settings
from gateway.peers.influxdb1 import InfluxDB1Server
from tests.integration.gateway_proc import DEMO, wait_until
from tests.integration.test_alerts_e2e import InProcessGateway, publish_count

pytestmark = pytest.mark.integration
NODE = "homeassistant/sensor/floorwatch_demo-hcc"
TEMPLATE = re.compile(r"^\{\{ value_json\.([a-z0-9_.]+) \}\}$")


def site(
    folder: Path, broker: Any, influx: InfluxDB1Server, discovery: bool, drop_zone: str = ""
) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["zones"] = [z for z in data["zones"] if z["id"] != drop_zone]
    data["mqtt"] = {"host": broker.host, "port": broker.port, "client_id": "gw-ha"}
    if discovery:
        data["mqtt"]["homeassistant_discovery"] = {"enabled": True}
    data["influxdb"] = {
        "url": influx.url,
        "protocol": "v1",
        "database": f"ha_{uuid.uuid4().hex[:8]}",
        "flush_interval_s": 0.2,
    }
    data["gateway"] = {"state_dir": str(folder / "state")}
    data["api"] = {"enabled": False}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def retained(broker: Any, topic_filter: str, marker: str) -> dict[str, tuple[bytes, bool]]:
    """Every retained message under the filter (topic -> payload, retain flag)."""
    got: dict[str, tuple[bytes, bool]] = {}
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == marker:
            done.set()
        elif not done.is_set():
            got[msg.topic] = (bytes(msg.payload), bool(msg.retain))

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ha-{uuid.uuid4().hex[:8]}")
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.subscribe([(topic_filter, 1), (marker, 1)])
        assert subscribed.wait(10)
        client.publish(marker, b"end", qos=1).wait_for_publish(10)
        assert done.wait(10), "the marker never came back"
    finally:
        client.loop_stop()
        client.disconnect()
    return got


def select(value_template: str, state: dict[str, Any]) -> Any:
    """What Home Assistant's ``{{ value_json.a.b }}`` renders from the state document."""
    match = TEMPLATE.match(value_template)
    assert match, value_template
    value: Any = state
    for key in match.group(1).split("."):
        assert key in value, f"{key} is not in the state document"
        value = value[key]
    return value


STATE = "floorwatch/demo-hcc/zones/f2-waiting/state"


def started(config: Path, broker: Any) -> InProcessGateway:
    """The gateway connected, past its connect's publishes, and 37 people in the hall.

    The hall's state is published after the connect's republish (discovery first),
    on the same client: once it is retained, so is everything the connect sent.
    """
    inproc = InProcessGateway(config, camera_workers=False)
    inproc.start()
    gateway = inproc.gateway
    assert gateway is not None
    wait_until(lambda: gateway.state_writer.republished >= 1, 30, "the connect's publish")
    publish_count(broker, 37)

    def waiting_has_37() -> bool:
        got = retained(broker, STATE, f"{STATE}-marker")
        return STATE in got and json.loads(got[STATE][0])["occupancy"] == 37

    wait_until(waiting_has_37, 20, "the waiting hall's 37 people retained")
    return inproc


def test_discovery_configs_point_at_the_retained_zone_state(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    broker = mosquitto_fresh
    config = site(tmp_path, broker, influxdb1, discovery=True)
    zones = [z.id for z in load_settings(config, {}).settings.zones]
    inproc = started(config, broker)
    try:
        configs = retained(broker, "homeassistant/#", "homeassistant/test-marker")
        states = retained(broker, "floorwatch/demo-hcc/#", "floorwatch/demo-hcc/test-marker")
    finally:
        inproc.stop()

    assert all(flag for _, flag in configs.values()), "every config is retained"
    docs = {topic: json.loads(payload) for topic, (payload, _) in configs.items()}
    for zone_id in zones:
        assert f"{NODE}/{zone_id}_people/config" in docs
        assert f"{NODE}/{zone_id}_level/config" in docs
    # the demo's climate sensors: Tasmota in f1-entrance and f2-waiting, Zigbee2MQTT in
    # f1-canteen (temperature, humidity, CO2), generic_json in f2-counters (three fields),
    # homeassistant PM2.5 on f2-landing
    climate = {
        t.split("/")[-2] for t in docs if not t.endswith(("_people/config", "_level/config"))
    }
    assert climate == {
        *(
            f"{z}_{q}"
            for z in ("f1-entrance", "f1-canteen", "f2-waiting")
            for q in ("temperature", "humidity", "co2")
        ),
        "f2-counters_temperature",
        "f2-counters_humidity",
        "f2-counters_co2",
        "f2-landing_pm25",
    }
    assert len(docs) == 2 * len(zones) + len(climate)

    people = docs[f"{NODE}/f2-waiting_people/config"]
    assert people["unique_id"] == "floorwatch_demo-hcc_f2-waiting_people"
    assert people["state_topic"] == STATE
    assert people["state_class"] == "measurement"
    assert people["availability_topic"] == "floorwatch/demo-hcc/status"
    assert people["device"]["identifiers"] == ["floorwatch_demo-hcc"]
    level = docs[f"{NODE}/f2-waiting_level/config"]
    assert level["options"] == ["calm", "busy", "crowded", "critical"]

    for topic, doc in docs.items():
        state_payload, state_retained = states[doc["state_topic"]]
        assert state_retained, topic
        value = select(doc["value_template"], json.loads(state_payload))
        if topic.endswith("_level/config"):
            assert value in doc["options"]
        elif topic.endswith("_people/config"):
            assert isinstance(value, int)
        else:
            assert value is None or isinstance(value, float | int)
        status, status_retained = states[doc["availability_topic"]]
        assert status_retained and status.decode() == doc["payload_available"]
    assert select(people["value_template"], json.loads(states[STATE][0])) == 37


def test_discovery_is_off_by_default(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    broker = mosquitto_fresh
    config = site(tmp_path, broker, influxdb1, discovery=False)
    inproc = started(config, broker)
    try:
        configs = retained(broker, "homeassistant/#", "homeassistant/test-marker")
    finally:
        inproc.stop()
    assert configs == {}


def test_a_deleted_zone_and_then_all_are_removed_from_home_assistant(
    tmp_path: Path, mosquitto_fresh: Any, influxdb1: InfluxDB1Server
) -> None:
    """The gateway's record in its state directory clears what the site file dropped."""
    broker = mosquitto_fresh
    atm = {f"{NODE}/f1-atm_people/config", f"{NODE}/f1-atm_level/config"}
    inproc = started(site(tmp_path, broker, influxdb1, discovery=True), broker)
    inproc.stop()
    before = retained(broker, "homeassistant/#", "homeassistant/test-marker")
    assert atm <= set(before)

    inproc = started(site(tmp_path, broker, influxdb1, discovery=True, drop_zone="f1-atm"), broker)
    inproc.stop()
    after = retained(broker, "homeassistant/#", "homeassistant/test-marker")
    assert set(after) == set(before) - atm
    assert all(payload for payload, _ in after.values())

    inproc = started(site(tmp_path, broker, influxdb1, discovery=False), broker)
    inproc.stop()
    assert retained(broker, "homeassistant/#", "homeassistant/test-marker") == {}
