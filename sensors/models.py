"""Values shared by the MQTT source and the decoders. Pure module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.observations import Observation


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound MQTT message as the decoders see it."""

    topic: str
    payload: bytes
    received_at: datetime  # UTC, aware: the gateway's clock at receipt


@dataclass(frozen=True, slots=True)
class DoorCounterReading:
    """What a door people counter reported, before de-duplication.

    ``cumulative`` readings are totals since the counter's power-up (they reset
    to zero on a reboot); delta readings are counts since the previous report.
    ``seq`` is the device's message sequence number when it sends one.
    """

    door_id: str
    sensor_id: str
    at: datetime
    entries: int
    exits: int
    cumulative: bool
    seq: int | None = None


Decoded = Observation | DoorCounterReading


class DecodeError(Exception):
    """A payload that cannot be turned into observations; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
