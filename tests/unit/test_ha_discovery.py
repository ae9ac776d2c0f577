"""The zones as Home Assistant discovery configs: literal payloads, which zones get climate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from gateway.ha_discovery import DiscoveryMessage, climate_quantities, discovery_messages, removals
from gateway.ha_discovery_record import announce
from gateway.outbound import OutboundTopics
from gateway.settings import MqttConfig, SensorConfig, SiteConfig, ZoneConfig
from sensors.discovery import Discovery, read

SITE = SiteConfig(id="hcc-dn", name="Trung tâm Phục vụ hành chính công Đà Nẵng")
TOPICS = OutboundTopics("floorwatch", "hcc-dn")
SENSORS = TypeAdapter(list[SensorConfig])


def zone(zone_id: str, name: str) -> ZoneConfig:
    return ZoneConfig(
        id=zone_id,
        name=name,
        floor="f1",
        area_m2=100,
        capacity=80,
        polygon=[(0, 0), (10, 0), (10, 10)],
    )


def sensors(*items: dict[str, Any]) -> list[SensorConfig]:
    return SENSORS.validate_python(list(items))


DEVICE = {
    "identifiers": ["floorwatch_hcc-dn"],
    "name": "Trung tâm Phục vụ hành chính công Đà Nẵng",
    "manufacturer": "floorwatch",
}
COMMON = {
    "state_topic": "floorwatch/hcc-dn/zones/f1-waiting/state",
    "availability_topic": "floorwatch/hcc-dn/status",
    "payload_available": "online",
    "payload_not_available": "offline",
    "device": DEVICE,
    "origin": {"name": "floorwatch"},
}
GENERIC_TH = {
    "id": "cl-waiting",
    "kind": "climate",
    "decoder": "generic_json",
    "topic": "airq/waiting",
    "zone": "f1-waiting",
    "fields": {"temperature_c": {"path": "t"}, "humidity_pct": {"path": "rh"}},
}


def by_topic(site_zones: list[ZoneConfig], site_sensors: list[SensorConfig]) -> dict[str, Any]:
    messages = discovery_messages(SITE, site_zones, site_sensors, TOPICS, "homeassistant")
    return {m.topic: json.loads(m.payload.decode("utf-8")) for m in messages}


def test_a_zone_with_a_temperature_and_humidity_sensor_gets_four_entities() -> None:
    got = by_topic([zone("f1-waiting", "Khu chờ (40 ghế)")], sensors(GENERIC_TH))
    prefix = "homeassistant/sensor/floorwatch_hcc-dn"
    assert got == {
        f"{prefix}/f1-waiting_people/config": {
            "unique_id": "floorwatch_hcc-dn_f1-waiting_people",
            "name": "Khu chờ (40 ghế) – Số người",
            "value_template": "{{ value_json.occupancy }}",
            "state_class": "measurement",
            "icon": "mdi:account-group",
            **COMMON,
        },
        f"{prefix}/f1-waiting_level/config": {
            "unique_id": "floorwatch_hcc-dn_f1-waiting_level",
            "name": "Khu chờ (40 ghế) – Mức độ đông",
            "value_template": "{{ value_json.level }}",
            "device_class": "enum",
            "options": ["calm", "busy", "crowded", "critical"],
            **COMMON,
        },
        f"{prefix}/f1-waiting_temperature/config": {
            "unique_id": "floorwatch_hcc-dn_f1-waiting_temperature",
            "name": "Khu chờ (40 ghế) – Nhiệt độ",
            "value_template": "{{ value_json.climate.temperature_c }}",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "state_class": "measurement",
            **COMMON,
        },
        f"{prefix}/f1-waiting_humidity/config": {
            "unique_id": "floorwatch_hcc-dn_f1-waiting_humidity",
            "name": "Khu chờ (40 ghế) – Độ ẩm",
            "value_template": "{{ value_json.climate.humidity_pct }}",
            "device_class": "humidity",
            "unit_of_measurement": "%",
            "state_class": "measurement",
            **COMMON,
        },
    }


def test_vietnamese_names_are_sent_as_utf8_not_escaped() -> None:
    messages = discovery_messages(
        SITE, [zone("f1-entrance", "Sảnh vào")], [], TOPICS, "homeassistant"
    )
    assert "Sảnh vào – Số người".encode() in messages[0].payload
    assert b"\\u" not in messages[0].payload


def test_a_zone_without_climate_sensors_has_people_and_level_only_in_zone_order() -> None:
    zones = [zone("f1-waiting", "Khu chờ"), zone("f1-atm", "ATM")]
    messages = discovery_messages(SITE, zones, sensors(GENERIC_TH), TOPICS, "ha")
    assert [m.topic for m in messages] == [
        "ha/sensor/floorwatch_hcc-dn/f1-waiting_people/config",
        "ha/sensor/floorwatch_hcc-dn/f1-waiting_level/config",
        "ha/sensor/floorwatch_hcc-dn/f1-waiting_temperature/config",
        "ha/sensor/floorwatch_hcc-dn/f1-waiting_humidity/config",
        "ha/sensor/floorwatch_hcc-dn/f1-atm_people/config",
        "ha/sensor/floorwatch_hcc-dn/f1-atm_level/config",
    ]
    atm = json.loads(messages[-1].payload)
    assert atm["state_topic"] == "floorwatch/hcc-dn/zones/f1-atm/state"
    ids = [json.loads(m.payload)["unique_id"] for m in messages]
    assert len(set(ids)) == len(ids)
    assert messages == discovery_messages(SITE, zones, sensors(GENERIC_TH), TOPICS, "ha")


def test_co2_and_pm25_entities_carry_their_device_class_and_unit() -> None:
    site_sensors = sensors(
        {
            "id": "aq",
            "kind": "climate",
            "decoder": "homeassistant",
            "topic": "homeassistant/sensor/+/state",
            "quantity": "co2_ppm",
            "zone": "f1-waiting",
        },
        {**GENERIC_TH, "id": "pm", "fields": {"pm25_ugm3": {"path": "pm"}}},
    )
    got = by_topic([zone("f1-waiting", "Khu chờ")], site_sensors)
    co2 = got["homeassistant/sensor/floorwatch_hcc-dn/f1-waiting_co2/config"]
    pm = got["homeassistant/sensor/floorwatch_hcc-dn/f1-waiting_pm25/config"]
    assert (co2["device_class"], co2["unit_of_measurement"]) == ("carbon_dioxide", "ppm")
    assert co2["value_template"] == "{{ value_json.climate.co2_ppm }}"
    assert (pm["device_class"], pm["unit_of_measurement"]) == ("pm25", "µg/m³")
    assert len(got) == 4  # people, level, co2, pm25: no temperature or humidity mapped


def test_climate_quantities_follow_the_sensors_zones_and_decoders() -> None:
    site_sensors = sensors(
        {
            "id": "z2m",
            "kind": "climate",
            "decoder": "zigbee2mqtt",
            "topic": "zigbee2mqtt/+",
            "zone": "f1-entrance",
            "devices": {"canteen_t": "f1-canteen"},
        },
        {
            "id": "tas",
            "kind": "climate",
            "decoder": "tasmota",
            "topic": "tele/probes/SENSOR",
            "zone": "f1-post",
            "probes": {"DS18B20-2": "f2-waiting"},
        },
        {
            "id": "occ",
            "kind": "presence",
            "decoder": "presence",
            "topic": "presence/f1-atm",
            "zone": "f1-atm",
        },
        {**GENERIC_TH, "fields": {"count": {"path": "n"}}, "kind": "presence", "id": "g"},
    )
    trio = frozenset({"temperature_c", "humidity_pct", "co2_ppm"})
    assert climate_quantities(site_sensors) == {
        "f1-entrance": trio,
        "f1-canteen": trio,
        "f1-post": trio,
        "f2-waiting": trio,
    }


def test_the_setting_is_off_by_default_and_rejects_unknown_keys() -> None:
    assert MqttConfig().homeassistant_discovery.enabled is False
    assert MqttConfig().homeassistant_discovery.prefix == "homeassistant"
    on = MqttConfig.model_validate({"homeassistant_discovery": {"enabled": True, "prefix": "ha"}})
    assert (on.homeassistant_discovery.enabled, on.homeassistant_discovery.prefix) == (True, "ha")
    with pytest.raises(ValidationError, match="extra"):
        MqttConfig.model_validate({"homeassistant_discovery": {"enable": True}})
    with pytest.raises(ValidationError):
        MqttConfig.model_validate({"homeassistant_discovery": {"prefix": "home/#"}})


def test_floorwatch_sensors_discover_skips_floorwatchs_own_entities() -> None:
    """Another gateway's (or our own) zones under homeassistant/ are not proposed as sensors."""
    result = Discovery()
    messages = discovery_messages(
        SITE, [zone("f1-waiting", "Khu chờ")], sensors(GENERIC_TH), TOPICS, "homeassistant"
    )
    for message in messages:
        read(result, message.topic, message.payload)
    assert result.entries == {}
    assert "Khu chờ – Nhiệt độ: floorwatch's own zone entity, not a sensor" in result.skipped
    assert len(result.skipped) == len(messages) == 4


def test_removals_clear_what_was_announced_and_is_gone_only() -> None:
    current = discovery_messages(SITE, [zone("f1-waiting", "Khu chờ")], [], TOPICS, "ha")
    gone = "ha/sensor/floorwatch_hcc-dn/f1-atm_people/config"
    announced = [gone, current[0].topic, gone]
    assert removals(announced, current) == [DiscoveryMessage(gone, b"")]
    assert removals([], current) == []
    assert [m.topic for m in removals([current[1].topic, gone], [])] == sorted(
        [current[1].topic, gone]
    )


def test_the_record_keeps_every_topic_announced_until_it_is_cleared(tmp_path: Path) -> None:
    zones = [zone("f1-waiting", "Khu chờ"), zone("f1-atm", "ATM")]
    first = discovery_messages(SITE, zones, [], TOPICS, "ha")
    assert announce(tmp_path, first) == first  # nothing announced before
    record = json.loads((tmp_path / "ha-discovery.json").read_text(encoding="utf-8"))
    assert record == sorted(m.topic for m in first)

    second = discovery_messages(SITE, zones[:1], [], TOPICS, "ha")  # f1-atm deleted
    out = announce(tmp_path, second)
    assert out == [
        DiscoveryMessage("ha/sensor/floorwatch_hcc-dn/f1-atm_level/config", b""),
        DiscoveryMessage("ha/sensor/floorwatch_hcc-dn/f1-atm_people/config", b""),
        *second,
    ]
    # switched off: everything ever announced is cleared, at every start
    assert [m.payload for m in announce(tmp_path, [])] == [b""] * 4
    assert [m.payload for m in announce(tmp_path, [])] == [b""] * 4


def test_an_unreadable_record_is_reported_and_started_afresh(tmp_path: Path) -> None:
    (tmp_path / "ha-discovery.json").write_text("{not json", encoding="utf-8")
    current = discovery_messages(SITE, [zone("f1-waiting", "Khu chờ")], [], TOPICS, "ha")
    assert announce(tmp_path, current) == current
    assert json.loads((tmp_path / "ha-discovery.json").read_text(encoding="utf-8")) == sorted(
        m.topic for m in current
    )
