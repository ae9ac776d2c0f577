"""What a site already announces: Home Assistant MQTT discovery and Zigbee2MQTT's device list.

For a user who already runs Home Assistant or Zigbee2MQTT, ``floorwatch
sensors discover`` (sensors/discover_cli.py) listens to the retained
messages those publish and prints a ready-to-paste ``sensors:`` block. This
module is the pure part: messages in, sensor entries out.

- Home Assistant discovery: ``homeassistant/<component>/[<node>/]<object>/config``
  (published by Zigbee2MQTT, Tasmota, ESPHome and others), abbreviated keys
  (``stat_t``, ``dev_cla``, ``unit_of_meas``, ``val_tpl``, ``~``) expanded.
  A ``sensor`` of device class temperature, humidity, carbon_dioxide or pm25
  (and pressure or illuminance in a Zigbee2MQTT JSON state), or a
  ``binary_sensor`` of class occupancy, presence or motion, is an entry.
  A plain state topic (ESPHome: ``<node>/sensor/<name>/state``) is a
  ``homeassistant`` sensor with its ``quantity`` (and ``unit: fahrenheit`` for
  °F); a JSON state read by ``value_json.<key>`` on a Zigbee2MQTT topic is one
  ``zigbee2mqtt`` sensor per device, whatever number of entities it has.
- Zigbee2MQTT ``<base>/bridge/devices``: every device whose ``exposes`` have
  temperature, humidity, co2, pm25, pressure, illuminance (a climate sensor) or occupancy / presence
  (a presence sensor, ``occupied_count: 1``) is a ``zigbee2mqtt`` entry on
  ``<base>/<friendly name>/#``.

Each entry keeps where it came from (vendor, model, entities) for a comment,
and the device's suggested area as a suggested zone; the zone is for the
user to set (the block says so). A Zigbee2MQTT device whose model has a
device profile (sensors/profiles) is written with ``profile:``. What is
announced but not read (battery, signal strength, a button) is listed as
skipped, with why. Pure module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Home Assistant's abbreviations for the keys used here (homeassistant/components/mqtt/abbreviations.py)
ABBREVIATIONS = {
    "stat_t": "state_topic",
    "dev_cla": "device_class",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
    "uniq_id": "unique_id",
    "dev": "device",
    "avty_t": "availability_topic",
    "o": "origin",
}
DEVICE_ABBREVIATIONS = {
    "mf": "manufacturer",
    "mdl": "model",
    "sa": "suggested_area",
    "ids": "identifiers",
}
CLIMATE = {
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "carbon_dioxide": "co2_ppm",
    "pm25": "pm25_ugm3",
}
Z2M_CLIMATE = {
    "temperature",
    "humidity",
    "co2",
    "pm25",
    "pressure",
    "illuminance",
    "illuminance_lux",
}
# read from a Zigbee2MQTT JSON state only (the homeassistant decoder has no quantity for them)
JSON_ONLY = {"pressure", "illuminance"}
PRESENCE_CLASSES = {"occupancy", "presence", "motion"}
Z2M_PRESENCE = {"occupancy", "presence"}
_VALUE_JSON = re.compile(r"value_json(?:\.([A-Za-z0-9_]+)|\[['\"]([^'\"]+)['\"]\])")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Entry:
    """One sensor entry of the block, and what it is made of."""

    id: str
    kind: str
    decoder: str
    topic: str
    quantity: str | None = None
    unit: str | None = None
    occupied_count: int | None = None
    ignore: list[str] = field(default_factory=list)
    suggested_zone: str | None = None
    source: str = ""  # "Home Assistant discovery" or "Zigbee2MQTT bridge/devices"
    device: str = ""  # vendor model (name)
    reads: list[str] = field(default_factory=list)
    model: str = ""  # the model id the bridge or discovery gave (WSDCGQ11LM)
    name: str = ""  # the device's name in its topics (Zigbee2MQTT's friendly name)


@dataclass
class Discovery:
    entries: dict[str, Entry] = field(default_factory=dict)  # by topic + quantity
    skipped: list[str] = field(default_factory=list)

    def sorted_entries(self) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: (e.kind, e.id))


def slug(text: str) -> str:
    """A floorwatch id from a name: lower case, a-z 0-9 and '-'."""
    return _SLUG.sub("-", text.lower()).strip("-")[:60] or "sensor"


def _expand(config: Mapping[str, Any]) -> dict[str, Any]:
    out = {ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    base = out.get("~")
    if isinstance(base, str):  # '~' stands for the base topic in any *_topic value
        for key, value in list(out.items()):
            if key.endswith("topic") and isinstance(value, str):
                if value.startswith("~"):
                    out[key] = base + value[1:]
                elif value.endswith("~"):
                    out[key] = value[:-1] + base
    device = out.get("device")
    if isinstance(device, Mapping):
        out["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
    return out


def _json_key(template: object) -> str | None:
    if not isinstance(template, str):
        return None
    m = _VALUE_JSON.search(template)
    return None if m is None else (m.group(1) or m.group(2))


def _device_text(device: object) -> str:
    if not isinstance(device, Mapping):
        return ""
    parts = [str(device[k]) for k in ("manufacturer", "model") if device.get(k)]
    name = device.get("name")
    return " ".join(parts) + (f" ({name})" if name else "")


def _area(device: object) -> str | None:
    if isinstance(device, Mapping) and isinstance(device.get("suggested_area"), str):
        return slug(device["suggested_area"])
    return None


def home_assistant(result: Discovery, topic: str, payload: bytes) -> None:
    """One ``homeassistant/.../config`` message into ``result`` (an empty payload is a removal)."""
    levels = topic.split("/")
    if len(levels) < 4 or levels[-1] != "config":
        return
    component = levels[1]
    if not payload.strip():
        return
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        result.skipped.append(f"{topic}: not JSON")
        return
    if not isinstance(raw, Mapping):
        result.skipped.append(f"{topic}: not a JSON object")
        return
    config = _expand(raw)
    name = str(config.get("name") or config.get("unique_id") or "/".join(levels[2:-1]))
    origin = config.get("origin")
    if isinstance(origin, Mapping) and origin.get("name") == "floorwatch":
        result.skipped.append(f"{name}: floorwatch's own zone entity, not a sensor")
        return
    state = config.get("state_topic")
    device_class = config.get("device_class")
    if not isinstance(state, str) or not state:
        result.skipped.append(f"{name}: no state topic")
        return
    key = _json_key(config.get("value_template"))
    if component == "sensor" and device_class in CLIMATE:
        quantity = CLIMATE[str(device_class)]
    elif component == "sensor" and device_class in JSON_ONLY and key is not None:
        quantity = str(device_class)
    elif component == "binary_sensor" and device_class in PRESENCE_CLASSES:
        quantity = "occupancy"
    else:
        what = f"{component} {device_class or 'without a device class'}"
        result.skipped.append(f"{name}: {what} (floorwatch does not read it)")
        return
    device = config.get("device")
    if key is not None:  # a JSON state: Zigbee2MQTT's device topic, one entry per device
        _json_device(result, state, key, quantity, device)
        return
    unit = config.get("unit_of_measurement")
    entry = Entry(
        id=slug(str(config.get("unique_id") or f"{state}")),
        kind="presence" if quantity == "occupancy" else "climate",
        decoder="homeassistant",
        topic=state,
        quantity=quantity,
        unit="fahrenheit" if unit == "°F" else None,
        occupied_count=1 if quantity == "occupancy" else None,
        suggested_zone=_area(device),
        source="Home Assistant discovery",
        device=_device_text(device),
        reads=[f"{name} ({device_class})"],
    )
    result.entries[f"{state}\0{quantity}"] = entry


def _json_device(result: Discovery, state: str, key: str, quantity: str, device: object) -> None:
    entry = result.entries.get(state)
    if entry is None:
        entry = Entry(
            id=slug(state.rsplit("/", 1)[-1]),
            kind="climate",
            decoder="zigbee2mqtt",
            topic=f"{state}/#",
            suggested_zone=_area(device),
            source="Home Assistant discovery",
            device=_device_text(device),
        )
        result.entries[state] = entry
    if quantity == "occupancy":
        entry.kind, entry.occupied_count = "presence", 1
    if key not in entry.reads:
        entry.reads.append(key)


def zigbee2mqtt_devices(result: Discovery, topic: str, payload: bytes) -> None:
    """Zigbee2MQTT's retained ``<base>/bridge/devices`` list into ``result``."""
    base = topic[: -len("/bridge/devices")]
    try:
        devices = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        result.skipped.append(f"{topic}: not JSON")
        return
    if not isinstance(devices, list):
        result.skipped.append(f"{topic}: not a list of devices")
        return
    for device in devices:
        if not isinstance(device, Mapping) or device.get("type") == "Coordinator":
            continue
        name = str(device.get("friendly_name") or device.get("ieee_address") or "")
        definition = device.get("definition")
        if not name or not isinstance(definition, Mapping):
            continue
        properties = set(_properties(definition.get("exposes")))
        climate = sorted(properties & Z2M_CLIMATE)
        presence = sorted(properties & Z2M_PRESENCE)
        described = " ".join(str(definition.get(k, "")) for k in ("vendor", "model")).strip()
        if not climate and not presence:
            result.skipped.append(f"{name} ({described}): no climate or presence value")
            continue
        state = f"{base}/{name}"
        entry = Entry(
            id=slug(name),
            kind="presence" if presence else "climate",
            decoder="zigbee2mqtt",
            topic=f"{state}/#",
            occupied_count=1 if presence else None,
            # an mmWave / PIR sensor's 'temperature' is its chip's, not the room's
            ignore=["temperature"] if presence and "temperature" in climate else [],
            source="Zigbee2MQTT bridge/devices",
            device=f"{described} ({name})",
            model=str(definition.get("model") or ""),
            name=name,
            reads=[p for p in [*climate, *presence] if not (presence and p == "temperature")],
        )
        previous = result.entries.get(state)
        if previous is not None:  # also announced through Home Assistant: keep one
            entry.suggested_zone = previous.suggested_zone
        result.entries[state] = entry


def _properties(exposes: object) -> Iterable[str]:
    if not isinstance(exposes, list):
        return
    for item in exposes:
        if not isinstance(item, Mapping):
            continue
        prop = item.get("property")
        if isinstance(prop, str):
            yield prop
        yield from _properties(item.get("features"))


def read(result: Discovery, topic: str, payload: bytes) -> None:
    """Route one retained message to the reader of its kind."""
    if topic.endswith("/bridge/devices"):
        zigbee2mqtt_devices(result, topic, payload)
    elif topic.startswith("homeassistant/") and topic.endswith("/config"):
        home_assistant(result, topic, payload)


@dataclass(frozen=True)
class ProfileHint:
    """What the block needs of a device profile to suggest it."""

    name: str
    topic: str | None  # its template, with {device}
    models: tuple[str, ...]


def suggest(entry: Entry, hints: Iterable[ProfileHint]) -> ProfileHint | None:
    """The profile of a Zigbee2MQTT device's model (WSDCGQ11LM, or "... (WSDCGQ11LM)")."""
    if entry.decoder != "zigbee2mqtt" or not entry.model:
        return None
    for hint in hints:
        if any(entry.model == m or f"({m})" in entry.model for m in hint.models):
            return hint
    return None


def _entry_lines(e: Entry, hints: Iterable[ProfileHint]) -> list[str]:
    hint = suggest(e, hints)
    if hint is None:
        lines = [f"    kind: {e.kind}", f"    decoder: {e.decoder}"]
        lines.append(f"    topic: {json.dumps(e.topic, ensure_ascii=False)}")
        if e.quantity is not None:
            lines.append(f"    quantity: {e.quantity}")
        if e.unit is not None:
            lines.append(f"    unit: {e.unit}")
        if e.occupied_count is not None:
            lines.append(f"    occupied_count: {e.occupied_count}")
        if e.ignore:
            lines.append(f"    ignore: [{', '.join(e.ignore)}]")
        return lines
    lines = [f"    profile: {hint.name}  # floorwatch sensors profiles {hint.name}"]
    if hint.topic is not None and hint.topic.replace("{device}", e.name) == e.topic:
        lines.append(f"    device: {json.dumps(e.name, ensure_ascii=False)}")
    else:
        lines.append(f"    topic: {json.dumps(e.topic, ensure_ascii=False)}")
    return lines


def sensors_block(result: Discovery, hints: Iterable[ProfileHint] = ()) -> str:
    """The ``sensors:`` YAML block to paste into the site file, with comments.

    A Zigbee2MQTT device whose model has a profile among ``hints`` is written
    with ``profile:``; any other entry with its decoder and options.
    """
    hints = tuple(hints)
    lines = [
        "# Found by floorwatch sensors discover. Set each sensor's zone (a zones[].id of",
        "# this site: 'floorwatch config check' names the ones left), and its interval_s",
        "# if the device reports less often than every 300 s.",
        "sensors:",
    ]
    ids: set[str] = set()
    for e in result.sorted_entries():
        sensor_id = e.id
        n = 2
        while sensor_id in ids:
            sensor_id, n = f"{e.id}-{n}", n + 1
        ids.add(sensor_id)
        lines.append(f"  # {e.device or 'device'}: {', '.join(e.reads)} ({e.source})")
        lines.append(f"  - id: {sensor_id}")
        lines.extend(_entry_lines(e, hints))
        if e.suggested_zone is not None:
            lines.append(f"    zone: {e.suggested_zone}  # the device's suggested area: check it")
        else:
            lines.append("    zone: null  # set: the zone this device is in")
    if not result.entries:
        lines[-1] = "sensors: []  # nothing floorwatch reads was announced"
    for why in sorted(set(result.skipped)):
        lines.append(f"# skipped: {why}")
    return "\n".join(lines) + "\n"
