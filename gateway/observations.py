"""Observations: the one internal currency between sources and the hub.

Every source (camera counting, MQTT decoders, the queue system) produces these
small immutable records. Times are timezone-aware UTC datetimes. Pure module:
no I/O, no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TicketEventKind(StrEnum):
    ISSUED = "issued"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"


class DeviceKind(StrEnum):
    CAMERA = "camera"
    SENSOR = "sensor"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class PeopleCount:
    """People present in a zone as seen by one source (camera ROI, presence sensor)."""

    zone_id: str
    source_id: str
    count: int
    at: datetime
    confidence: float = 1.0
    # A binary presence sensor's occupied / vacant as the decoders give it (count is the
    # sensor's occupied_count or 0): not a count of people. ``presence_of`` turns it into
    # a ``Presence``; fusion and storage never add it as people.
    binary: bool = False


@dataclass(frozen=True, slots=True)
class Presence:
    """A binary presence sensor's occupied / vacant in a zone or at a counter seat.

    Not a people count: a PIR or mmWave sensor that says "occupied" says somebody
    is there, not how many. ``counter`` is the counter number whose seat the
    sensor watches (a counter-seat sensor: ``counter:`` in its config), else None.
    """

    zone_id: str
    source_id: str
    occupied: bool
    at: datetime
    counter: int | None = None


@dataclass(frozen=True, slots=True)
class DoorTraffic:
    """People who passed a door since the previous observation of the same counter."""

    door_id: str
    source_id: str
    entries: int
    exits: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Climate:
    """Any subset of the climate readings of one sensor in one zone."""

    zone_id: str
    sensor_id: str
    at: datetime
    temperature_c: float | None = None
    humidity_pct: float | None = None
    co2_ppm: float | None = None
    pm25_ugm3: float | None = None
    pressure_hpa: float | None = None  # stored, not used by comfort or alerts
    illuminance_lux: float | None = None  # the same


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """Liveness and vital signs of a camera, sensor or the gateway itself."""

    device_id: str
    kind: DeviceKind
    online: bool
    at: datetime
    detail: str = ""
    battery_pct: float | None = None
    linkquality: float | None = None
    fps: float | None = None
    latency_ms: float | None = None


#: A camera's own ONVIF event states, carried as ``DeviceHealth.detail`` of the
#: camera: detail -> (event, active). They are what the camera reports about its
#: scene and video input, not the health of its stream: the engine keeps tamper
#: and video loss as sticky states, and storage writes them to ``camera_events``
#: instead of ``device_health``.
CAMERA_EVENTS: dict[str, tuple[str, bool]] = {
    "motion": ("motion", True),
    "motion_cleared": ("motion", False),
    "tampered": ("tamper", True),
    "tamper_cleared": ("tamper", False),
    "video_lost": ("video_loss", True),
    "video_restored": ("video_loss", False),
}


def camera_event(obs: DeviceHealth) -> tuple[str, bool] | None:
    """(event, active) if ``obs`` is a camera's event state rather than a health report."""
    return CAMERA_EVENTS.get(obs.detail) if obs.kind is DeviceKind.CAMERA else None


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One event of the queue-ticket system."""

    service_id: str
    ticket: str
    event: TicketEventKind
    at: datetime
    source_id: str
    counter: int | None = None


Observation = PeopleCount | Presence | DoorTraffic | Climate | DeviceHealth | TicketEvent


def presence_of(obs: PeopleCount, counter: int | None = None) -> Presence:
    """A decoder's binary ``PeopleCount`` (``binary=True``) as the ``Presence`` it stands for."""
    return Presence(obs.zone_id, obs.source_id, obs.count > 0, obs.at, counter)
