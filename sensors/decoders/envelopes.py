"""LoRaWAN network-server envelopes around a device's decoded payload.

A LoRaWAN sensor (Milesight VS121/VS133/VS135, ...) reaches MQTT through a
network server, which wraps the payload its codec decoded in its own JSON:

- ChirpStack v4, ``application/<app>/device/<dev_eui>/event/up``:
  ``{"time": "...", "deviceInfo": {...}, "fCnt": 48, "object": {...decoded...}}``;
  ``event/status`` carries the battery level (``batteryLevel``, %).
- The Things Stack (TTN) v3, ``v3/<app>@<tenant>/devices/<dev>/up``:
  ``{"received_at": "...", "uplink_message": {"f_cnt": 42, "decoded_payload": {...}}}``.

``unwrap`` returns the decoded payload as a new Message for the family decoder,
with the network server's receive time under ``time`` and the frame counter
under ``fcnt`` when the payload has none of its own; or the observations of a
non-uplink event (status: battery; join, ack, downlink, location: nothing).
Pure module.
"""

from __future__ import annotations

import json
from typing import Literal

from gateway.observations import DeviceHealth, DeviceKind
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    JsonValue,
    battery,
    lookup,
    number,
    parse_object,
    payload_time,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

Envelope = Literal["none", "chirpstack_v4", "ttn_v3"]

# Events a network server publishes that carry no sensor reading.
CHIRPSTACK_SILENT = ("join", "ack", "txack", "log", "location", "integration")
TTN_SILENT = ("join", "down", "service", "location")


def unwrap(
    envelope: Envelope, sensor_id: str, ctx: DecodeContext, message: Message
) -> Message | list[Decoded]:
    """The inner payload as a Message, or the observations of a non-uplink event."""
    if envelope == "chirpstack_v4":
        return _chirpstack(sensor_id, ctx, message)
    if envelope == "ttn_v3":
        return _ttn(message)
    return message


def _event(topic: str, marker: str) -> str | None:
    parts = topic.split("/")
    if marker in parts:
        index = parts.index(marker)
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


def _chirpstack(sensor_id: str, ctx: DecodeContext, message: Message) -> Message | list[Decoded]:
    event = _event(message.topic, "event")
    if event in CHIRPSTACK_SILENT:
        return []
    obj = parse_object(message.payload)
    if event == "status":
        when = payload_time(obj, ("time",), sensor_id, ctx, message)
        level = obj.get("batteryLevel")
        pct = None if level is None else battery(number(level, "batteryLevel"))
        return [
            DeviceHealth(
                device_id=sensor_id,
                kind=DeviceKind.SENSOR,
                online=True,
                at=when.at,
                detail="external power" if obj.get("externalPowerSource") is True else "",
                battery_pct=pct,
            ),
            *when.health,
        ]
    inner = obj.get("object")
    if inner is None:
        raise DecodeError(
            "ChirpStack uplink without 'object': set a payload codec in the device profile"
        )
    return _inner(message, inner, obj.get("time"), obj.get("fCnt"), "object")


def _ttn(message: Message) -> Message | list[Decoded]:
    tail = message.topic.rsplit("/", 1)[-1]
    parts = message.topic.split("/")
    if tail in TTN_SILENT or any(p in TTN_SILENT for p in parts[-3:-1]):
        return []
    obj = parse_object(message.payload)
    uplink = obj.get("uplink_message")
    if not isinstance(uplink, dict):
        raise DecodeError("TTN message without 'uplink_message' (expected a v3 uplink)")
    inner = uplink.get("decoded_payload")
    if inner is None:
        raise DecodeError(
            "TTN uplink without 'decoded_payload': set a payload formatter for the device"
        )
    received = obj.get("received_at")
    if received is None:
        received = uplink.get("received_at")
    return _inner(message, inner, received, lookup(uplink, "f_cnt"), "decoded_payload")


def _inner(
    message: Message, inner: JsonValue, at: JsonValue, fcnt: JsonValue, name: str
) -> Message:
    if not isinstance(inner, dict):
        raise DecodeError(f"{name}: expected a JSON object, got {type_name(inner)}")
    body: JsonObject = dict(inner)
    if at is not None and not any(body.get(k) is not None for k in ("ts", "timestamp", "time")):
        body["time"] = at
    if fcnt is not None and not any(body.get(k) is not None for k in ("seq", "sequence", "fcnt")):
        body["fcnt"] = fcnt
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Message(message.topic, payload, message.received_at)
