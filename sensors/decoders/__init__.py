"""Payload decoders, one module per device family, and their registry.

``decode(sensor, ctx, message)`` picks the decoder named by the sensor
config's ``decoder`` and returns what the payload says: observations
(Climate, PeopleCount, DeviceHealth, TicketEvent) and DoorCounterReadings
(made into DoorTraffic by sensors.door_counts).

The contract of every decoder: for ANY bytes it returns a list or raises
DecodeError whose ``reason`` a person can act on ("co2_ppm 65000 outside
[250, 10000]"). Nothing else escapes; the property tests in
tests/unit/test_decoder_properties.py hold every decoder to it. Pure package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

from gateway.settings import (
    DoorCounterSensor,
    GenericJsonSensor,
    HomeAssistantSensor,
    PresenceSensor,
    QueueTicketSensor,
    SensorBase,
    SensorConfig,
    TasmotaSensor,
    Zigbee2MqttSensor,
)
from sensors.decoders import (
    door_counter,
    envelopes,
    generic_json,
    homeassistant,
    presence,
    queue_ticket,
    tasmota,
    zigbee2mqtt,
)
from sensors.decoders.common import DecodeContext
from sensors.models import Decoded, DecodeError, Message

__all__ = ["DECODERS", "DecodeContext", "Decoder", "decode"]

Decoder = Callable[[SensorBase, DecodeContext, Message], list[Decoded]]
"""A decoder of the registry: any sensor config in, for the one family it serves."""

S = TypeVar("S", bound=SensorBase)


def _for(config: type[S], family: Callable[[S, DecodeContext, Message], list[Decoded]]) -> Decoder:
    """A family's decode as a registry Decoder: it checks the config class it was given."""

    def run(sensor: SensorBase, ctx: DecodeContext, message: Message) -> list[Decoded]:
        if not isinstance(sensor, config):
            raise TypeError(f"{family.__module__} decodes {config.__name__}, not {type(sensor)}")
        return family(sensor, ctx, message)

    run.__name__ = run.__qualname__ = f"decode_{config.__name__}"
    return run


DECODERS: Mapping[str, Decoder] = MappingProxyType(
    {
        "generic_json": _for(GenericJsonSensor, generic_json.decode),
        "zigbee2mqtt": _for(Zigbee2MqttSensor, zigbee2mqtt.decode),
        "tasmota": _for(TasmotaSensor, tasmota.decode),
        "homeassistant": _for(HomeAssistantSensor, homeassistant.decode),
        "door_counter": _for(DoorCounterSensor, door_counter.decode),
        "presence": _for(PresenceSensor, presence.decode),
        "queue_ticket": _for(QueueTicketSensor, queue_ticket.decode),
    }
)


def decode(sensor: SensorConfig, ctx: DecodeContext, message: Message) -> list[Decoded]:
    """Decode one message for one sensor; raises DecodeError with a reason.

    A payload over ``validation.max_payload_bytes`` is rejected before it is
    parsed. A sensor behind a LoRaWAN network server (``envelope``) has its
    payload unwrapped first (sensors.decoders.envelopes).
    """
    size, limit = len(message.payload), ctx.limits.max_payload_bytes
    if size > limit:
        raise DecodeError(f"payload of {size} bytes is over the limit of {limit} (not parsed)")
    inner = envelopes.unwrap(sensor.envelope, sensor.id, ctx, message)
    if isinstance(inner, list):
        return inner
    return DECODERS[sensor.decoder](sensor, ctx, inner)
