"""Queue-ticket (QMS) events: one topic for the whole center.

    {"event": "called", "ticket": "A012", "service": "land", "counter": 3,
     "ts": "2026-11-22T01:15:03Z"}

``event`` is issued, called, served or no_show ("no-show", "noshow" and any
letter case accepted); ``counter`` (a counter number, 1-9999) is required
for called and served; ``service`` is the service group's lower-case id;
``ticket`` is the printed ticket number (text, or a whole number). Optional
time under ``ts``, ``timestamp`` or ``time``. It becomes a TicketEvent.

A third-party system is read by configuration alone: ``fields`` gives the
dotted path of each part (``fields: {event: type, ticket: data.number,
service: data.queue_id, counter: data.desk, time: data.created}``),
``events`` maps its event values to ours (``{CALL: called, DONE: served}``;
a value not in the map is an error naming it; ``ignore`` for events that are
not a ticket's step), ``services`` maps its service codes (text or numbers)
to service ids, ``time`` may list several paths (the first present: a
system that stamps each step under its own key), and ``counter: null`` reads
a system that sends no counter number. Pure module.
"""

from __future__ import annotations

import re

from gateway.observations import TicketEvent, TicketEventKind
from gateway.settings import ID_PATTERN, QueueTicketSensor
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    JsonValue,
    Stamp,
    count,
    lookup,
    parse_object,
    parse_time,
    payload_time,
    show,
    stamp,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

TIME_KEYS = ("ts", "timestamp", "time")
EVENTS: dict[str, TicketEventKind] = {
    "issued": TicketEventKind.ISSUED,
    "called": TicketEventKind.CALLED,
    "served": TicketEventKind.SERVED,
    "no_show": TicketEventKind.NO_SHOW,
    "no-show": TicketEventKind.NO_SHOW,
    "noshow": TicketEventKind.NO_SHOW,
}
NEEDS_COUNTER = (TicketEventKind.CALLED, TicketEventKind.SERVED)
TICKET_MAX = 32
COUNTER_MAX = 9999
_SERVICE_ID = re.compile(ID_PATTERN)


def decode(sensor: QueueTicketSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    obj = parse_object(message.payload)
    paths = sensor.fields
    event = _mapped_event(sensor, lookup(obj, paths.event), paths.event)
    if event is None:
        return []  # an event the config marks as not a ticket's step
    ticket = _ticket(lookup(obj, paths.ticket))
    service = _mapped_service(sensor, lookup(obj, paths.service), paths.service)
    raw_counter = None if paths.counter is None else lookup(obj, paths.counter)
    counter = None if paths.counter is None else _counter(raw_counter, event)
    when = _when(sensor, ctx, message, obj)
    return [
        TicketEvent(
            service_id=service,
            ticket=ticket,
            event=event,
            at=when.at,
            source_id=sensor.id,
            counter=counter,
        ),
        *when.health,
    ]


def _code(raw: JsonValue) -> str | None:
    """A system's code as text: "CALL", 3 -> "3"; None for anything else."""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return None


def _when(
    sensor: QueueTicketSensor, ctx: DecodeContext, message: Message, obj: JsonObject
) -> Stamp:
    paths = sensor.fields.time
    if paths is None:
        return payload_time(obj, TIME_KEYS, sensor.id, ctx, message)
    for path in [paths] if isinstance(paths, str) else paths:
        raw = lookup(obj, path)
        if raw is not None:
            return stamp(parse_time(raw, None, ctx.timezone, path), sensor.id, ctx, message)
    return stamp(None, sensor.id, ctx, message)


def _mapped_event(sensor: QueueTicketSensor, raw: JsonValue, path: str) -> TicketEventKind | None:
    """Our event kind; None for an event the config says to ignore."""
    if not sensor.events:
        return _event(raw)
    code = _code(raw)
    if code is None:
        raise DecodeError(f"{path}: expected an event code, got {show(raw)}")
    kind = sensor.events.get(code)
    if kind is None:
        known = ", ".join(sorted(sensor.events))
        raise DecodeError(f"{path} {show(code)} is not in the sensor's events ({known})")
    return None if kind == "ignore" else TicketEventKind(kind)


def _mapped_service(sensor: QueueTicketSensor, raw: JsonValue, path: str) -> str:
    if not sensor.services:
        return _service(raw)
    code = _code(raw)
    if code is None or code not in sensor.services:
        known = ", ".join(sorted(sensor.services))
        raise DecodeError(f"{path} {show(raw)} is not in the sensor's services ({known})")
    return sensor.services[code]


def _event(raw: JsonValue) -> TicketEventKind:
    if isinstance(raw, str):
        kind = EVENTS.get(raw.strip().lower())
        if kind is not None:
            return kind
    if raw is None:
        raise DecodeError("event missing (expected issued, called, served or no_show)")
    raise DecodeError(f"event {show(raw)} is not issued, called, served or no_show")


def _ticket(raw: JsonValue) -> str:
    if raw is None:
        raise DecodeError("ticket missing")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(count(raw, "ticket"))
    if not isinstance(raw, str):
        raise DecodeError(f"ticket: expected text, got {type_name(raw)}")
    ticket = raw.strip()
    if not ticket or len(ticket) > TICKET_MAX or not ticket.isprintable():
        raise DecodeError(
            f"ticket {show(raw)} is not a ticket number (1-{TICKET_MAX} printable characters)"
        )
    return ticket


def _service(raw: JsonValue) -> str:
    if raw is None:
        raise DecodeError("service missing")
    if not isinstance(raw, str) or _SERVICE_ID.fullmatch(raw) is None:
        raise DecodeError(
            f"service {show(raw)} is not a service id (lower-case a-z, 0-9, '-', '_')"
        )
    return raw


def _counter(raw: JsonValue, event: TicketEventKind) -> int | None:
    if raw is None:
        if event in NEEDS_COUNTER:
            raise DecodeError(f"counter missing: a {event.value} event needs the counter number")
        return None
    number = count(raw, "counter")
    if not 1 <= number <= COUNTER_MAX:
        raise DecodeError(f"counter {number} outside [1, {COUNTER_MAX}]")
    return number
