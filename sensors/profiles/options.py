"""A profile's settings as a sensor config of its parser, and their checks. Pure module.

``base_settings`` is what a profile contributes to a sensor (decoder, kind,
the decoder's options, the count mode); the site's keys go on top of it.
``check_options`` validates a profile's options with the parser's own
sensor config class, so a misspelt or misplaced option is an error of the
profile file (``options.ignroe: unknown key``), not of every site using it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.settings import (
    DoorCounterSensor,
    GenericJsonSensor,
    HomeAssistantSensor,
    PresenceSensor,
    QueueTicketSensor,
    TasmotaSensor,
    Zigbee2MqttSensor,
)
from sensors.profiles.model import Profile

PARSER_CONFIG: dict[str, type[BaseModel]] = {
    "generic_json": GenericJsonSensor,
    "zigbee2mqtt": Zigbee2MqttSensor,
    "tasmota": TasmotaSensor,
    "homeassistant": HomeAssistantSensor,
    "door_counter": DoorCounterSensor,
    "presence": PresenceSensor,
    "queue_ticket": QueueTicketSensor,
}
COUNT_MODE = {"period": "delta", "cumulative": "cumulative"}


def base_settings(profile: Profile) -> dict[str, Any]:
    """The sensor config keys a profile sets (the site's keys override them)."""
    base: dict[str, Any] = {"decoder": profile.parser, "kind": profile.kind.value}
    base.update(profile.options)
    if profile.counts is not None and profile.parser == "door_counter":
        base["mode"] = COUNT_MODE[profile.counts]
    return base


def check_options(profile: Profile) -> list[str]:
    """What is wrong with a profile's options for its parser (empty: nothing)."""
    if profile.counts == "period" and profile.parser != "door_counter":
        return ["counts: period counts are read by parser door_counter"]
    probe = {
        "id": "profile-check",
        "topic": "profile/check",
        "zone": "profile-check",
        "door": "profile-check",
        **base_settings(profile),
    }
    try:
        PARSER_CONFIG[profile.parser].model_validate(probe)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"options.{loc}: {msg}" if loc else f"options: {msg}")
        return problems
    return []
