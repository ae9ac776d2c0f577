"""``floorwatch sensors discover`` against retained discovery messages on a real mosquitto.

The retained messages are what ESPHome and Zigbee2MQTT publish (shapes from
https://www.home-assistant.io/integrations/mqtt/#discovery-messages,
https://esphome.io/components/mqtt.html and
https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html#zigbee2mqtt-bridge-devices):
abbreviated keys and the '~' base topic, a Zigbee2MQTT device announced
through Home Assistant AND in bridge/devices (one entry, not two), a presence
sensor whose temperature is its chip's, things floorwatch does not read. The
command runs as a subprocess; its output is parsed as YAML, every entry
validates as a sensor config once its zone is set, and decodes a payload of
its device.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import TypeAdapter

from gateway.peers.mosquitto import MosquittoServer
from gateway.settings import SensorConfig
from sensors.decoders import decode
from sensors.profiles.expand import profile_context
from tests.unit.decoding_support import CTX, message

pytestmark = pytest.mark.integration
FLOORWATCH = Path(sys.executable).parent / "floorwatch"

ESPHOME_DEVICE = {"ids": "a4cf12b3c4d5", "name": "lobby-node", "sa": "Lobby", "mf": "espressif"}
AQARA = {"ids": ["zigbee2mqtt_0x00158d0001a2b3c4"], "name": "lobby_aqara", "mf": "Aqara"}
RETAINED: dict[str, Any] = {
    # ESPHome, abbreviated, with '~'
    "homeassistant/sensor/lobby-node/temperature/config": {
        "~": "lobby-node/sensor/temperature",
        "stat_t": "~/state",
        "dev_cla": "temperature",
        "unit_of_meas": "°F",
        "name": "Temperature",
        "uniq_id": "lobby-nodesensortemperature",
        "avty_t": "lobby-node/status",
        "dev": ESPHOME_DEVICE,
    },
    "homeassistant/binary_sensor/lobby-node/presence/config": {
        "stat_t": "lobby-node/binary_sensor/presence/state",
        "dev_cla": "occupancy",
        "name": "Presence",
        "uniq_id": "lobby-nodebinary_sensorpresence",
        "dev": ESPHOME_DEVICE,
    },
    "homeassistant/sensor/lobby-node/wifi_signal/config": {
        "stat_t": "lobby-node/sensor/wifi_signal/state",
        "dev_cla": "signal_strength",
        "name": "WiFi Signal",
        "dev": ESPHOME_DEVICE,
    },
    # Zigbee2MQTT's own Home Assistant discovery of an Aqara WSDCGQ11LM
    "homeassistant/sensor/0x00158d0001a2b3c4/temperature/config": {
        "state_topic": "zigbee2mqtt/lobby_aqara",
        "value_template": "{{ value_json.temperature }}",
        "device_class": "temperature",
        "unit_of_measurement": "°C",
        "unique_id": "0x00158d0001a2b3c4_temperature_zigbee2mqtt",
        "device": AQARA,
        "origin": {"name": "Zigbee2MQTT"},
    },
    "homeassistant/sensor/0x00158d0001a2b3c4/humidity/config": {
        "state_topic": "zigbee2mqtt/lobby_aqara",
        "value_template": "{{ value_json['humidity'] }}",
        "device_class": "humidity",
        "unit_of_measurement": "%",
        "device": AQARA,
    },
    "homeassistant/sensor/0x00158d0001a2b3c4/battery/config": {
        "state_topic": "zigbee2mqtt/lobby_aqara",
        "value_template": "{{ value_json.battery }}",
        "device_class": "battery",
        "device": AQARA,
    },
    "zigbee2mqtt/bridge/devices": [
        {
            "ieee_address": "0x00124b0018e2a4f2",
            "type": "Coordinator",
            "friendly_name": "Coordinator",
        },
        {
            "ieee_address": "0x00158d0001a2b3c4",
            "type": "EndDevice",
            "friendly_name": "lobby_aqara",
            "definition": {
                "model": "WSDCGQ11LM",
                "vendor": "Aqara",
                "exposes": [
                    {
                        "type": "numeric",
                        "name": "temperature",
                        "property": "temperature",
                        "unit": "°C",
                    },
                    {"type": "numeric", "name": "humidity", "property": "humidity", "unit": "%"},
                    {"type": "numeric", "name": "pressure", "property": "pressure", "unit": "hPa"},
                    {"type": "numeric", "name": "battery", "property": "battery", "unit": "%"},
                ],
            },
        },
        {
            "ieee_address": "0x54ef441000123456",
            "type": "Router",
            "friendly_name": "counter 07 fp1",
            "definition": {
                "model": "RTCGQ14LM",
                "vendor": "Aqara",
                "exposes": [
                    {"type": "binary", "name": "presence", "property": "presence"},
                    {"type": "enum", "name": "presence_event", "property": "presence_event"},
                    {"type": "numeric", "name": "temperature", "property": "temperature"},
                ],
            },
        },
        {
            "ieee_address": "0x00158d000aaaaaaa",
            "type": "EndDevice",
            "friendly_name": "lobby_button",
            "definition": {
                "model": "WXKG11LM",
                "vendor": "Aqara",
                "exposes": [{"type": "enum", "name": "action", "property": "action"}],
            },
        },
    ],
}


def _retain(broker: MosquittoServer) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="discovery-announcer")
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [
        client.publish(topic, json.dumps(doc), qos=1, retain=True)
        for topic, doc in RETAINED.items()
    ]
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def _discover(broker: MosquittoServer) -> str:
    done = subprocess.run(
        [
            str(FLOORWATCH),
            "sensors",
            "discover",
            "--host",
            broker.host,
            "--port",
            str(broker.port),
            "--wait",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_discover_prints_a_ready_to_paste_sensors_block(mosquitto_fresh: MosquittoServer) -> None:
    _retain(mosquitto_fresh)
    text = _discover(mosquitto_fresh)
    entries = {e["id"]: e for e in yaml.safe_load(text)["sensors"]}
    assert entries == {
        "lobby-nodesensortemperature": {
            "id": "lobby-nodesensortemperature",
            "kind": "climate",
            "decoder": "homeassistant",
            "topic": "lobby-node/sensor/temperature/state",
            "quantity": "temperature_c",
            "unit": "fahrenheit",
            "zone": "lobby",  # the device's suggested area
        },
        "lobby-nodebinary-sensorpresence": {
            "id": "lobby-nodebinary-sensorpresence",
            "kind": "presence",
            "decoder": "homeassistant",
            "topic": "lobby-node/binary_sensor/presence/state",
            "quantity": "occupancy",
            "occupied_count": 1,
            "zone": "lobby",
        },
        "lobby-aqara": {  # announced twice (HA discovery and bridge/devices): one entry
            "id": "lobby-aqara",
            "profile": "aqara-wsdcgq11lm",  # its model has a device profile
            "device": "lobby_aqara",
            "zone": None,
        },
        "counter-07-fp1": {
            "id": "counter-07-fp1",
            "kind": "presence",
            "decoder": "zigbee2mqtt",
            "topic": "zigbee2mqtt/counter 07 fp1/#",
            "occupied_count": 1,
            "ignore": ["temperature"],  # its chip's
            "zone": None,
        },
    }
    assert "# skipped: WiFi Signal: sensor signal_strength (floorwatch does not read it)" in text
    assert "# skipped: lobby_button (Aqara WXKG11LM): no climate or presence value" in text
    assert "zone: null  # set: the zone this device is in" in text
    # the Aqara's pressure is read too (stored with the climate reading)
    assert "# Aqara WSDCGQ11LM (lobby_aqara): humidity, pressure, temperature" in text

    # pasted, with the zones set, every entry is a valid sensor that reads its device
    configs = {
        sid: TypeAdapter(SensorConfig).validate_python(
            {**e, "zone": e["zone"] or "f1-entrance"}, context=profile_context()
        )
        for sid, e in entries.items()
    }
    [climate] = decode(
        configs["lobby-aqara"],
        CTX,
        message('{"temperature": 27.31, "humidity": 58.28}', topic="zigbee2mqtt/lobby_aqara"),
    )
    assert (climate.temperature_c, climate.humidity_pct) == (27.31, 58.28)  # type: ignore[union-attr]
    [fahrenheit] = decode(
        configs["lobby-nodesensortemperature"],
        CTX,
        message("78.8", topic="lobby-node/sensor/temperature/state"),
    )
    assert fahrenheit.temperature_c == 26.0  # type: ignore[union-attr]


def test_nothing_announced_is_an_empty_block(mosquitto_fresh: MosquittoServer) -> None:
    text = _discover(mosquitto_fresh)
    assert yaml.safe_load(text) == {"sensors": []}


def test_an_unreachable_broker_is_a_clear_error() -> None:
    done = subprocess.run(
        [str(FLOORWATCH), "sensors", "discover", "--host", "127.0.0.1", "--port", "9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot reach the broker at 127.0.0.1:9" in done.stderr
