"""Home Assistant style single values: one state per topic.

    homeassistant/sensor/f2_landing_pm25/state  ->  "12.5"
    lobby-node/sensor/temperature/state         ->  "21.5"     (ESPHome)
    lobby-node/binary_sensor/presence/state     ->  "ON"       (ESPHome)

The payload is the value as text (or a JSON number or string), optionally
followed by its unit (``21.5 °C``, ``70.7°F``, ``55 %``); the sensor config
says which quantity it is (``quantity``) and, for a bare number, its unit
(``unit: fahrenheit``). temperature_c, humidity_pct, co2_ppm and pm25_ugm3
make a Climate, count a PeopleCount. ``occupancy`` is a binary sensor
(ON/OFF, true/false, occupied/vacant): a PeopleCount of ``occupied_count``
people, 0 when OFF. All at the receipt time (the payload has no time).

Availability is device health, not an error: Home Assistant's
``unavailable``/``unknown`` states, and ESPHome's ``<node>/status`` topic
(``online``/``offline``, its Last Will) make a DeviceHealth.

A wildcard topic (``+/sensor/temperature/state``) with ``devices`` maps each
device, named by the levels its ``+`` matched, to its own zone, stored as
sensor ``<id>.<device>``. Pure module.
"""

from __future__ import annotations

from gateway.observations import Climate, PeopleCount
from gateway.settings import HomeAssistantSensor
from sensors.decoders.common import (
    DecodeContext,
    availability,
    availability_word,
    binary,
    climate_value,
    convert,
    count,
    device_target,
    need_zone,
    number_with_unit,
    parse_json,
    payload_text,
    people,
    show,
    stamp,
    tidy,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

STATUS_TOPICS = ("status", "availability")


def decode(sensor: HomeAssistantSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    source, zone = device_target(
        sensor.id, sensor.zone, sensor.devices, sensor.topic, message.topic
    )
    text = _state(message.payload)
    when = stamp(None, sensor.id, ctx, message)
    state = availability_word(text)
    if message.topic.rsplit("/", 1)[-1] in STATUS_TOPICS:
        if state is None:
            raise DecodeError(f"status: expected online or offline, got {show(text)}")
        return [availability(source, state, when.at, f"device {'online' if state else 'offline'}")]
    if state is False:
        return [availability(source, False, when.at, f"sensor reports {text.lower()}")]
    zone_id = need_zone(zone, sensor.id)
    quantity = sensor.quantity
    if quantity == "occupancy":
        occupied = binary(text, quantity)
        if sensor.occupied_count is None:
            raise DecodeError(
                "occupancy is binary presence: set occupied_count in the sensor config to store it"
            )
        n = sensor.occupied_count if occupied else 0
        return [PeopleCount(zone_id, source, n, when.at, binary=True)]
    value, unit = number_with_unit(text, quantity)
    unit = unit if unit is not None else sensor.unit
    if quantity == "count":
        n = count(convert(value, unit, quantity), quantity)
        return [PeopleCount(zone_id, source, people(n, ctx.limits), when.at)]
    value = climate_value(quantity, tidy(convert(value, unit, quantity)), ctx.limits)
    return [
        Climate(
            zone_id=zone_id,
            sensor_id=source,
            at=when.at,
            temperature_c=value if quantity == "temperature_c" else None,
            humidity_pct=value if quantity == "humidity_pct" else None,
            co2_ppm=value if quantity == "co2_ppm" else None,
            pm25_ugm3=value if quantity == "pm25_ugm3" else None,
        )
    ]


def _state(payload: bytes) -> str:
    """The state as text: ``26.4``, ``"26.4"`` (a JSON string) or ``unavailable``."""
    text = payload_text(payload).strip()
    if not text:
        raise DecodeError("empty payload")
    if text.startswith(("{", "[", '"')):
        value = parse_json(payload)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise DecodeError(f"expected a single value, got a JSON {type_name(value)}")
        text = str(value).strip()
    return text
