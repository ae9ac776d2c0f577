"""Home Assistant style single values: one state per topic.

    homeassistant/sensor/f2_landing_pm25/state  ->  "12.5"

The payload is the value as text (or a JSON number or string); the sensor
config says which quantity it is (``quantity``) and, optionally, its unit
(``unit: fahrenheit``). temperature_c, humidity_pct, co2_ppm and pm25_ugm3
make a Climate, count a PeopleCount, all at the receipt time (the payload has
no time). Home Assistant's "unavailable" and "unknown" states are not errors:
they make a DeviceHealth with online=False. Pure module.
"""

from __future__ import annotations

from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.settings import HomeAssistantSensor
from sensors.decoders.common import (
    DecodeContext,
    climate_value,
    convert,
    count,
    need_zone,
    number,
    parse_json,
    payload_text,
    people,
    stamp,
    tidy,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

NOT_A_VALUE = ("unavailable", "unknown")


def decode(sensor: HomeAssistantSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    text = _state(message.payload)
    when = stamp(None, sensor.id, ctx, message)
    if text.lower() in NOT_A_VALUE:
        return [
            DeviceHealth(
                device_id=sensor.id,
                kind=DeviceKind.SENSOR,
                online=False,
                at=when.at,
                detail=f"sensor reports {text.lower()}",
            )
        ]
    zone = need_zone(sensor.zone, sensor.id)
    quantity = sensor.quantity
    if quantity == "count":
        n = count(convert(number(text, quantity), sensor.unit, quantity), quantity)
        return [PeopleCount(zone, sensor.id, people(n, ctx.limits), when.at)]
    value = tidy(convert(number(text, quantity), sensor.unit, quantity))
    value = climate_value(quantity, value, ctx.limits)
    return [
        Climate(
            zone_id=zone,
            sensor_id=sensor.id,
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
