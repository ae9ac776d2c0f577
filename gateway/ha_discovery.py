"""The zones as Home Assistant MQTT discovery entities. Pure module.

With ``mqtt.homeassistant_discovery.enabled``, the gateway publishes at every
connect, retained, one discovery config per entity (docs/sensors.md):

- one Home Assistant *device* per site (``identifiers: [floorwatch_<site>]``,
  named as ``site.name``);
- per zone: the people count (``state_class: measurement``) and the crowd
  level (``device_class: enum`` with the four levels);
- per zone observed by a climate sensor: temperature, humidity and CO2
  (``device_class`` and unit), only the quantities its sensors map where the
  site file says which (generic_json ``fields``, homeassistant ``quantity``;
  PM2.5 too when mapped there).

Every entity reads the zone's existing retained state topic
(``<base>/<site>/zones/<zone>/state``) through a ``value_template`` that
selects one field; a field that is null renders ``None``, which Home Assistant
shows as *unknown*. Availability is the gateway's ``status`` topic
(``online`` / ``offline``, also the Last Will). Config topics are
``<prefix>/sensor/floorwatch_<site>/<zone>_<what>/config``; unique ids are
``floorwatch_<site>_<zone>_<what>``: both stable from the site and zone ids.
``removals`` turns the topics announced before and gone now (a deleted zone,
discovery switched off) into empty retained configs, which remove the entities
(the record of what was announced: ``gateway.ha_discovery_record``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.outbound import OutboundTopics
from gateway.settings import (
    CrowdLevel,
    GenericJsonSensor,
    HomeAssistantSensor,
    SensorConfig,
    SensorKind,
    SiteConfig,
    TasmotaSensor,
    Zigbee2MqttSensor,
    ZoneConfig,
)

# our quantity -> (object suffix, Vietnamese name, state field, device_class, unit)
_CLIMATE: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("temperature_c", "temperature", "Nhiệt độ", "temperature_c", "temperature", "°C"),
    ("humidity_pct", "humidity", "Độ ẩm", "humidity_pct", "humidity", "%"),
    ("co2_ppm", "co2", "CO2", "co2_ppm", "carbon_dioxide", "ppm"),
    ("pm25_ugm3", "pm25", "PM2.5", "pm25_ugm3", "pm25", "µg/m³"),
)
DEFAULT_CLIMATE = ("temperature_c", "humidity_pct", "co2_ppm")
PAYLOAD_AVAILABLE = "online"
PAYLOAD_NOT_AVAILABLE = "offline"


@dataclass(frozen=True, slots=True)
class DiscoveryMessage:
    topic: str
    payload: bytes  # JSON, UTF-8 (names as the site file writes them)


def discovery_messages(
    site: SiteConfig,
    zones: Sequence[ZoneConfig],
    sensors: Sequence[SensorConfig],
    topics: OutboundTopics,
    prefix: str,
) -> list[DiscoveryMessage]:
    """Every discovery config for the site, in zone order (people, level, climate)."""
    node = topics.discovery_node
    device = {"identifiers": [node], "name": site.name, "manufacturer": "floorwatch"}
    climate = climate_quantities(sensors)
    out: list[DiscoveryMessage] = []
    for zone in zones:
        common = {
            "state_topic": topics.zone_state(zone.id),
            "availability_topic": topics.status,
            "payload_available": PAYLOAD_AVAILABLE,
            "payload_not_available": PAYLOAD_NOT_AVAILABLE,
            "device": device,
            "origin": {"name": "floorwatch"},
        }
        entities: list[tuple[str, dict[str, Any]]] = [
            (
                "people",
                {
                    "name": f"{zone.name} – Số người",
                    "value_template": "{{ value_json.occupancy }}",
                    "state_class": "measurement",
                    "icon": "mdi:account-group",
                },
            ),
            (
                "level",
                {
                    "name": f"{zone.name} – Mức độ đông",
                    "value_template": "{{ value_json.level }}",
                    "device_class": "enum",
                    "options": [level.value for level in CrowdLevel],
                },
            ),
        ]
        wanted = climate.get(zone.id, frozenset())
        for quantity, what, name, field, device_class, unit in _CLIMATE:
            if quantity in wanted:
                entities.append(
                    (
                        what,
                        {
                            "name": f"{zone.name} – {name}",
                            "value_template": f"{{{{ value_json.climate.{field} }}}}",
                            "device_class": device_class,
                            "unit_of_measurement": unit,
                            "state_class": "measurement",
                        },
                    )
                )
        for what, body in entities:
            object_id = f"{zone.id}_{what}"
            config = {"unique_id": f"{node}_{object_id}", **body, **common}
            out.append(
                DiscoveryMessage(
                    topic=topics.discovery_config(prefix, object_id),
                    payload=json.dumps(config, ensure_ascii=False, separators=(",", ":")).encode(),
                )
            )
    return out


def climate_quantities(sensors: Iterable[SensorConfig]) -> dict[str, frozenset[str]]:
    """Zone id -> the climate quantities its climate sensors report.

    A sensor whose decoder names its quantities (generic_json, homeassistant)
    adds those; any other climate sensor (Zigbee2MQTT, Tasmota) adds
    temperature, humidity and CO2.
    """
    out: dict[str, set[str]] = {}
    for sensor in sensors:
        if sensor.kind is not SensorKind.CLIMATE:
            continue
        if isinstance(sensor, GenericJsonSensor):
            quantities: Iterable[str] = (q for q, *_ in _CLIMATE if q in sensor.fields)
        elif isinstance(sensor, HomeAssistantSensor):
            quantities = (q for q, *_ in _CLIMATE if q == sensor.quantity)
        else:
            quantities = DEFAULT_CLIMATE
        quantities = tuple(quantities)
        for zone_id in _zones_of(sensor):
            out.setdefault(zone_id, set()).update(quantities)
    return {zone_id: frozenset(q) for zone_id, q in out.items() if q}


def _zones_of(sensor: SensorConfig) -> set[str]:
    zones = {sensor.zone} if sensor.zone is not None else set()
    if isinstance(sensor, Zigbee2MqttSensor | TasmotaSensor | HomeAssistantSensor):
        zones.update(sensor.devices.values())
    if isinstance(sensor, TasmotaSensor):
        zones.update(sensor.probes.values())
    return zones


def removals(
    announced: Iterable[str], current: Sequence[DiscoveryMessage]
) -> list[DiscoveryMessage]:
    """Empty retained configs for the topics announced before and not now (sorted).

    ``announced`` is every config topic this gateway ever announced (its record in the
    state directory): a zone deleted from the site file, or all of them when discovery
    is switched off, is then removed from Home Assistant.
    """
    keep = {m.topic for m in current}
    return [DiscoveryMessage(topic, b"") for topic in sorted(set(announced) - keep)]
