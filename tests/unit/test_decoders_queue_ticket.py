"""queue_ticket: QMS events -> TicketEvent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.observations import DeviceHealth, TicketEvent, TicketEventKind
from tests.unit.decoding_support import (
    RECEIVED,
    Fixture,
    check_fixture,
    demo,
    fixtures,
    reason,
    run,
)

SENSOR = demo("qms")
AT = datetime(2026, 11, 22, 1, 15, 3, tzinfo=UTC)
TS = '"ts": "2026-11-22T01:15:03Z"'


def event(
    kind: TicketEventKind, counter: int | None = None, ticket: str = "A012", service: str = "land"
) -> TicketEvent:
    return TicketEvent(service, ticket, kind, AT, "qms", counter)


@pytest.mark.parametrize("fixture", fixtures("queue_ticket"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            f'{{"event": "issued", "ticket": "A012", "service": "land", {TS}}}',
            event(TicketEventKind.ISSUED),
        ),
        (
            f'{{"event": "ISSUED", "ticket": " A012 ", "service": "land", "counter": null, {TS}}}',
            event(TicketEventKind.ISSUED),
        ),
        (
            f'{{"event": "called", "ticket": "A012", "service": "land", "counter": 3, {TS}}}',
            event(TicketEventKind.CALLED, 3),
        ),
        (
            f'{{"event": "served", "ticket": "A012", "service": "land", "counter": "4", {TS}}}',
            event(TicketEventKind.SERVED, 4),
        ),
        (
            f'{{"event": "no_show", "ticket": "A012", "service": "land", {TS}}}',
            event(TicketEventKind.NO_SHOW),
        ),
        (
            f'{{"event": "noshow", "ticket": "A012", "service": "land", {TS}}}',
            event(TicketEventKind.NO_SHOW),
        ),
        (
            f'{{"event": "no-show", "ticket": 12, "service": "land", {TS}}}',
            event(TicketEventKind.NO_SHOW, ticket="12"),
        ),
        (
            f'{{"event": "issued", "ticket": "Đ-07", "service": "civil", {TS}}}',
            event(TicketEventKind.ISSUED, ticket="Đ-07", service="civil"),
        ),
        (
            '{"event": "issued", "ticket": "A012", "service": "land", "timestamp": "2026-11-22T08:15:03+07:00"}',
            event(TicketEventKind.ISSUED),
        ),
    ],
    ids=[
        "issued",
        "case-and-spaces",
        "called",
        "served-counter-text",
        "no_show",
        "noshow",
        "no-show-int-ticket",
        "vietnamese-ticket",
        "timestamp-offset",
    ],
)
def test_events(payload: str, expected: TicketEvent) -> None:
    assert run(SENSOR, payload) == [expected]


def test_no_time_uses_receipt() -> None:
    decoded = run(SENSOR, '{"event": "issued", "ticket": "B3", "service": "tax"}')
    assert decoded == [TicketEvent("tax", "B3", TicketEventKind.ISSUED, RECEIVED, "qms")]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (
            '{"ticket": "A1", "service": "land"}',
            "event missing (expected issued, called, served or no_show)",
        ),
        (
            '{"event": "cancelled", "ticket": "A1", "service": "land"}',
            "event 'cancelled' is not issued, called, served or no_show",
        ),
        (
            '{"event": 1, "ticket": "A1", "service": "land"}',
            "event 1 is not issued, called, served or no_show",
        ),
        ('{"event": "issued", "service": "land"}', "ticket missing"),
        (
            '{"event": "issued", "ticket": "", "service": "land"}',
            "ticket '' is not a ticket number (1-32 printable characters)",
        ),
        ('{"event": "issued", "ticket": "A\\u0000", "service": "land"}', "is not a ticket number"),
        (
            '{"event": "issued", "ticket": "\\ud800", "service": "land"}',
            "ticket '\\ud800' is not a ticket number",
        ),
        (
            '{"event": "issued", "ticket": ["A1"], "service": "land"}',
            "ticket: expected text, got array",
        ),
        ('{"event": "issued", "ticket": -4, "service": "land"}', "ticket: -4 is negative"),
        ('{"event": "issued", "ticket": "A1"}', "service missing"),
        (
            '{"event": "issued", "ticket": "A1", "service": "Land"}',
            "service 'Land' is not a service id (lower-case a-z, 0-9, '-', '_')",
        ),
        ('{"event": "issued", "ticket": "A1", "service": "đất đai"}', "is not a service id"),
        ('{"event": "issued", "ticket": "A1", "service": 5}', "service 5 is not a service id"),
        (
            '{"event": "called", "ticket": "A1", "service": "land"}',
            "counter missing: a called event needs the counter number",
        ),
        (
            '{"event": "called", "ticket": "A1", "service": "land", "counter": 0}',
            "counter 0 outside [1, 9999]",
        ),
        (
            '{"event": "called", "ticket": "A1", "service": "land", "counter": 2.5}',
            "counter: 2.5 is not a whole number",
        ),
        (
            '{"event": "called", "ticket": "A1", "service": "land", "counter": "three"}',
            "counter: expected a number, got string 'three'",
        ),
    ],
)
def test_errors(payload: str, why: str) -> None:
    assert why in reason(SENSOR, payload)


def test_future_time_is_not_an_error() -> None:
    payload = '{"event": "issued", "ticket": "A1", "service": "land", "ts": "2026-11-22T02:15:03Z"}'
    ticket, health = run(SENSOR, payload)
    assert ticket == TicketEvent("land", "A1", TicketEventKind.ISSUED, RECEIVED, "qms")
    assert isinstance(health, DeviceHealth)
    assert health.detail == "clock skew +3598 s; using receipt time"
