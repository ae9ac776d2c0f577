"""What a simulated device reports, before it is encoded for the wire. Pure module.

One frozen record per device family kind; ``at`` is the device's time of the
reading (aware UTC, millisecond resolution). ``payloads`` turns a reading into
the bytes the configured decoder family expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.observations import TicketEventKind


@dataclass(frozen=True, slots=True)
class PresenceReading:
    """A people-count sensor's count for its zone (true occupancy plus sensor noise)."""

    sensor_id: str
    at: datetime
    count: int


@dataclass(frozen=True, slots=True)
class SeatReading:
    """A counter-seat sensor's occupied / vacant (a PIR over the clerk's chair)."""

    sensor_id: str
    at: datetime
    occupied: bool


@dataclass(frozen=True, slots=True)
class DoorCountReading:
    """A door counter report.

    ``cumulative``: ``entries``/``exits`` are totals since the counter's power-up.
    Otherwise they are the passages since the previous report. ``seq`` numbers
    the device's reports and restarts at 0 when the device reboots.
    """

    sensor_id: str
    at: datetime
    entries: int
    exits: int
    seq: int
    cumulative: bool


@dataclass(frozen=True, slots=True)
class ClimateReading:
    """A climate sensor's values; ``None`` where the device has no such probe."""

    sensor_id: str
    at: datetime
    temperature_c: float
    humidity_pct: float
    co2_ppm: float | None
    pm25_ugm3: float
    battery_pct: int | None = None
    linkquality: int | None = None


@dataclass(frozen=True, slots=True)
class TicketReading:
    """One event of the queue-ticket system."""

    sensor_id: str
    at: datetime
    event: TicketEventKind
    ticket: str
    service_id: str
    counter: int | None


SimReading = PresenceReading | SeatReading | DoorCountReading | ClimateReading | TicketReading
