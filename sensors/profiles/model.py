"""What a device profile file says, and the checks that make a bad one a clear error.

A profile (``sensors/profiles/devices/<name>.yaml``, or any file a site names)
describes one device family or model in data: the wire format it speaks
(``parser``: one of the decoders of sensors.decoders), the settings of that
decoder that fit the device (``options``: fields to ignore, the binary
presence count, the line or region to read, units, field paths, value
maps), where it publishes (``topic``, a template with ``{device}``), how it
says it is online or offline (``availability``), whether its counts are
per period or cumulative (``counts``), what is stored, what the user must
switch on, and the public documents its payloads were taken from.

Pure module: values in, values out (``Profile.model_validate``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from gateway.settings import SensorKind

Parser = Literal[
    "generic_json",
    "zigbee2mqtt",
    "tasmota",
    "homeassistant",
    "door_counter",
    "presence",
    "queue_ticket",
]
Family = Literal[
    "zigbee2mqtt",
    "tasmota",
    "esphome",
    "homeassistant",
    "milesight",
    "axis",
    "vivotek",
    "generic",
    "queue",
]
OptionValue = JsonValue

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
# a dotted path into a JSON document: keys and array indexes, no empty part
_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
PATH_OPTIONS = ("entries_path", "exits_path", "time_path")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Availability(_Strict):
    """How the device says it is up or down (stored as device health, never a decode error)."""

    topic: str = Field(description="the topic it says so on, with {device}: tele/{device}/LWT")
    online: list[str] = Field(
        default_factory=list,
        description="payloads meaning online (none: any reading means online, as in Home Assistant)",
    )
    offline: list[str] = Field(min_length=1, description="payloads meaning offline")


class Profile(_Strict):
    """One device profile file."""

    title: str = Field(min_length=1, description="what the device is, for people")
    vendor: str = Field(min_length=1)
    family: Family
    models: list[str] = Field(
        default_factory=list,
        description="model ids as the device or its bridge names them (discovery matches them)",
    )
    source: list[str] = Field(
        min_length=1, description="the public documents this profile's payloads come from"
    )
    kind: SensorKind
    parser: Parser = Field(description="the wire format: which decoder reads the payloads")
    topic: str | None = Field(
        None, description="topic filter template; {device} is the sensor's 'device'"
    )
    counts: Literal["period", "cumulative"] | None = Field(
        None,
        description="door counters: counts per reporting period, or totals since power-up",
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="settings of the parser's decoder for this device"
    )
    availability: Availability | None = None
    stores: list[str] = Field(min_length=1, description="what floorwatch stores from it")
    requires: list[str] = Field(
        default_factory=list, description="what must be switched on at the device or bridge"
    )
    notes: str = ""

    @field_validator("source")
    @classmethod
    def _cited(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith("https://"):
                raise ValueError(f"a source is a public https:// document, not {url!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        for key in ("decoder", "kind", "id", "topic", "zone", "door", "profile", "mode"):
            if key in self.options:
                where = {"decoder": "parser", "mode": "counts"}.get(key, key)
                raise ValueError(f"options.{key}: set '{where}' at the top of the profile")
        if (self.kind is SensorKind.DOOR_COUNTER) != (self.counts is not None):
            raise ValueError("'counts' (period or cumulative) is for door counters, and only them")
        if self.topic is not None and "{device}" not in self.topic:
            raise ValueError("topic: a template with {device}, e.g. zigbee2mqtt/{device}/#")
        return self


def bad_paths(options: dict[str, OptionValue]) -> list[tuple[str, str]]:
    """(option location, value) of every dotted JSON path in ``options`` that is malformed."""
    found: list[tuple[str, str]] = []
    for key in PATH_OPTIONS:
        value = options.get(key)
        if isinstance(value, str) and not _PATH.match(value):
            found.append((f"options.{key}", value))
    fields = options.get("fields")
    if isinstance(fields, dict):
        for name, spec in fields.items():
            path = spec.get("path") if isinstance(spec, dict) else spec
            if isinstance(path, str) and not _PATH.match(path):
                found.append((f"options.fields.{name}.path", path))
            elif isinstance(path, list):
                for i, item in enumerate(path):
                    if isinstance(item, str) and not _PATH.match(item):
                        found.append((f"options.fields.{name}.path[{i}]", item))
    return found
