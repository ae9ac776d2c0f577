"""LoRaWAN envelopes: what is taken from the network server, what from the device."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gateway.observations import PeopleCount
from sensors.decoders import decode
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message
from tests.unit.decoding_support import CTX, RECEIVED, reason, run, sensor

CHIRPSTACK = sensor(
    {
        "id": "dc-cs",
        "kind": "door_counter",
        "decoder": "door_counter",
        "topic": "application/+/device/+/event/+",
        "door": "d",
        "envelope": "chirpstack_v4",
    }
)
TTN = sensor(
    {
        "id": "pc-ttn",
        "kind": "presence",
        "decoder": "presence",
        "topic": "v3/+/devices/+/up",
        "zone": "z",
        "envelope": "ttn_v3",
    }
)


def up(obj: object, **envelope: object) -> str:
    return json.dumps({"time": "2026-11-22T01:15:02Z", "fCnt": 7, "object": obj, **envelope})


def cs(payload: str, topic: str = "application/a/device/e/event/up") -> list[Decoded]:
    return decode(CHIRPSTACK, CTX, Message(topic, payload.encode(), RECEIVED))


def test_network_time_and_frame_counter_when_the_device_has_none() -> None:
    assert cs(up({"total_in": 5, "total_out": 2})) == [
        DoorCounterReading(
            "d", "dc-cs", datetime(2026, 11, 22, 1, 15, 2, tzinfo=UTC), 5, 2, True, 7
        )
    ]


def test_the_device_own_time_and_sequence_win() -> None:
    inner = {"total_in": 5, "total_out": 2, "ts": "2026-11-22T01:14:00Z", "seq": 99}
    assert cs(up(inner)) == [
        DoorCounterReading("d", "dc-cs", datetime(2026, 11, 22, 1, 14, tzinfo=UTC), 5, 2, True, 99)
    ]


@pytest.mark.parametrize("event", ["join", "ack", "txack", "log", "location", "integration"])
def test_chirpstack_events_without_a_reading_decode_to_nothing(event: str) -> None:
    assert cs("{}", f"application/a/device/e/event/{event}") == []


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (json.dumps({"time": "2026-11-22T01:15:02Z", "fCnt": 7}), "set a payload codec"),
        (up([1, 2]), "object: expected a JSON object, got array"),
        (up({"total_in": 5}), "total_in present but total_out missing"),
        ("[]", "expected a JSON object, got array"),
    ],
)
def test_chirpstack_errors(payload: str, why: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(
            CHIRPSTACK, CTX, Message("application/a/device/e/event/up", payload.encode(), RECEIVED)
        )
    assert why in caught.value.reason


def test_ttn_uplink_time_falls_back_to_the_uplink_receipt() -> None:
    payload = json.dumps(
        {
            "uplink_message": {
                "f_cnt": 3,
                "received_at": "2026-11-22T01:15:01Z",
                "decoded_payload": {"count": 4},
            }
        }
    )
    assert run(TTN, payload) == [
        PeopleCount("z", "pc-ttn", 4, datetime(2026, 11, 22, 1, 15, 1, tzinfo=UTC))
    ]


def test_ttn_message_that_is_not_an_uplink() -> None:
    assert "expected a v3 uplink" in reason(TTN, json.dumps({"end_device_ids": {}}))
