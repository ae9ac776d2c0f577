"""Queue-ticket (QMS) events: one topic for the whole center.

    {"event": "called", "ticket": "A012", "service": "land", "counter": 3,
     "ts": "2026-11-22T01:15:03Z"}

``event`` is issued, called, served or no_show ("no-show", "noshow" and any
letter case accepted); ``counter`` (a counter number, 1-9999) is required
for called and served; ``service`` is the service group's lower-case id;
``ticket`` is the printed ticket number (text, or a whole number). Optional
time under ``ts``, ``timestamp`` or ``time``. It becomes a TicketEvent.
Pure module.
"""

from __future__ import annotations

import re

from gateway.observations import TicketEvent, TicketEventKind
from gateway.settings import ID_PATTERN, QueueTicketSensor
from sensors.decoders.common import (
    DecodeContext,
    JsonValue,
    count,
    parse_object,
    payload_time,
    show,
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
    event = _event(obj.get("event"))
    ticket = _ticket(obj.get("ticket"))
    service = _service(obj.get("service"))
    counter = _counter(obj.get("counter"), event)
    when = payload_time(obj, TIME_KEYS, sensor.id, ctx, message)
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
