"""Observations -> InfluxDB line protocol. Pure module: values in, strings out.

One observation becomes at most one line, with a nanosecond timestamp taken from the observation (never from a clock), so
writing the same observation twice overwrites the same point: replays are
idempotent. The schema (tags in brackets) is documented in docs/storage.md:

- ``zone_occupancy[site,source,zone]`` count (int), density (people/m²),
  capacity_ratio (count/capacity), confidence
- ``climate[sensor,site,zone]`` temperature, humidity, co2, pm25, pressure (hPa), illuminance
  (lux) (the present ones)
- ``presence[counter,sensor,site,zone]`` occupied (bool): a binary presence sensor's reading
  (``Presence``, or a decoder's ``PeopleCount.binary``); never a ``zone_occupancy`` count;
  ``counter`` only where the observation carries it
- ``counter_seat[counter,service,site]`` the engine's debounced seat state
  (``gateway.seats``): state (string open / closed / unknown), open (int 1 / 0, absent
  while unknown), occupied (bool, the undebounced reading, absent while unknown)
- ``door_traffic[door,sensor,site]`` entries, exits (int)
- ``device_health[device,kind,site]`` online (bool), detail (string), battery,
  linkquality, fps, latency_ms (the present ones)
- ``camera_events[camera,event,site]`` active (bool): a camera's ONVIF motion,
  tamper and video-loss states (``gateway.observations.CAMERA_EVENTS``)
- ``queue[event,service,site]`` ticket (string), counter (int, if present), count=1i
- ``zone_occupancy[site,source=fused,zone]`` the fused zone state: count, density,
  capacity_ratio, confidence, level (string), method (string), los (string, if used),
  disagreement (bool), waiting (int) and expected_wait_s (if known), occupied (bool, when a
  binary sensor of the zone is fresh); method ``binary`` (only occupied / vacant known):
  occupied, level, method and confidence, no count
- ``alerts[device,rule,severity,site,zone]`` one point per alert transition: state,
  transition, alert_id, message (strings), value, threshold, notifications (int), and an
  integer field named after the transition, always 1 (``raised=1i``, ``ALERT_TRANSITIONS``:
  VictoriaMetrics stores a string field as 0, so PromQL counts the integer)

Tags are written sorted by key (what InfluxDB does anyway, cheaper for it).
The lines are built by hand: a zone-occupancy line costs about 2.5-4 µs here
against about 10.5 µs for ``influxdb_client.Point`` measured on the same
machine (float formatting is most of ours); on an edge box writing thousands
of points per second that difference is most of the writer's CPU.

Escaping follows the InfluxDB line-protocol rules: in the measurement commas and
spaces are backslash-escaped, in tag keys, tag values and field keys commas,
equals signs and spaces; string field values are double-quoted with ``"`` and
``\\`` escaped. A backslash in a name is written as is, unless it would escape
the next character (it precedes a backslash, one of the escaped characters, or
ends the name): then it is doubled. InfluxDB 1.x keeps a lone backslash
literally and both 1.x and 2.x read the common cases back unchanged. Line
protocol is line-oriented, so a CR or LF inside any value becomes a space. An
empty tag value omits the tag (line protocol has no empty tag values); a
non-finite float omits the field.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from gateway.live import Alert, ZoneState
from gateway.observations import (
    Climate,
    DeviceHealth,
    DoorTraffic,
    Observation,
    PeopleCount,
    Presence,
    TicketEvent,
    camera_event,
    presence_of,
)
from gateway.seats import SeatState, SeatStatus
from gateway.settings import ZoneConfig

#: An alert point's transitions that also get an integer field of their name, ``raised=1i``
#: beside ``transition="raised"``: VictoriaMetrics keeps no string field (it stores 0), so
#: ``count_over_time(alerts_raised[1h])`` is how PromQL counts new alerts (docs/storage.md).
#: One list for the site's points (``alert_lines``) and the central writer's
#: (``gateway.fleet.central.record_lines``); a transition not in it keeps the string only.
ALERT_TRANSITIONS = ("raised", "renotified", "acknowledged", "resolved")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_S = 1_000_000_000

# A backslash that would otherwise escape what follows it (or dangle at the end).
_NAME_BACKSLASH = re.compile(r"\\(?=[\\ ,=]|$)")
_MEASUREMENT_BACKSLASH = re.compile(r"\\(?=[\\ ,]|$)")
_NAME_SPECIAL = re.compile(r"[\\ ,=\r\n]")
_NAME_ESCAPES = str.maketrans({" ": "\\ ", ",": "\\,", "=": "\\="})
_MEASUREMENT_ESCAPES = str.maketrans({" ": "\\ ", ",": "\\,"})
_NEWLINES = str.maketrans({"\r": " ", "\n": " "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\r": " ", "\n": " "})


@dataclass(frozen=True, slots=True)
class ZoneGeometry:
    """What the points need to know of a zone: its usable area and its capacity."""

    area_m2: float
    capacity: int

    @classmethod
    def from_zone(cls, zone: ZoneConfig) -> ZoneGeometry:
        return cls(area_m2=zone.area_m2, capacity=zone.capacity)


def zone_geometries(zones: Iterable[ZoneConfig]) -> dict[str, ZoneGeometry]:
    """zone id -> geometry, for ``to_lines``."""
    return {z.id: ZoneGeometry.from_zone(z) for z in zones}


# --------------------------------------------------------------------------- escaping


@lru_cache(maxsize=8192)
def escape_name(value: str) -> str:
    """Escape a tag key, tag value or field key (cached: tags repeat on every line)."""
    if _NAME_SPECIAL.search(value) is None:
        return value
    value = value.translate(_NEWLINES)
    return _NAME_BACKSLASH.sub(r"\\\\", value).translate(_NAME_ESCAPES)


def escape_measurement(value: str) -> str:
    if _NAME_SPECIAL.search(value) is None:
        return value
    value = value.translate(_NEWLINES)
    return _MEASUREMENT_BACKSLASH.sub(r"\\\\", value).translate(_MEASUREMENT_ESCAPES)


def quote_string(value: str) -> str:
    """A string field value: double-quoted, with backslashes and quotes escaped."""
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def timestamp_ns(at: datetime) -> int:
    """Nanoseconds since the Unix epoch, exact (no float rounding)."""
    if at.tzinfo is None:
        raise ValueError(f"observation time {at.isoformat()} has no time zone")
    d = at - _EPOCH
    return (d.days * 86400 + d.seconds) * _NS_PER_S + d.microseconds * 1000


def _float(value: float) -> str | None:
    f = float(value)
    return repr(f) if math.isfinite(f) else None


@lru_cache(maxsize=8192)
def _tag(key: str, value: str) -> str:
    """``,key=value`` escaped, or nothing for an empty value (line protocol has none)."""
    return f",{escape_name(key)}={escape_name(value)}" if value else ""


def _line(series: str, fields: list[str], ns: int) -> list[str]:
    if not fields:
        return []
    return [f"{series} {','.join(fields)} {ns}"]


# --------------------------------------------------------------------------- schema


def to_lines(site_id: str, obs: Observation, zones: Mapping[str, ZoneGeometry]) -> list[str]:
    """The line-protocol lines (zero or one) of one observation."""
    if isinstance(obs, PeopleCount):
        if obs.binary:  # occupied / vacant, not a count of people
            return _presence(site_id, presence_of(obs))
        return _people(site_id, obs, zones.get(obs.zone_id))
    if isinstance(obs, Presence):
        return _presence(site_id, obs)
    if isinstance(obs, Climate):
        return _climate(site_id, obs)
    if isinstance(obs, DoorTraffic):
        series = (
            f"door_traffic{_tag('door', obs.door_id)}{_tag('sensor', obs.source_id)}"
            f"{_tag('site', site_id)}"
        )
        fields = [f"entries={int(obs.entries)}i", f"exits={int(obs.exits)}i"]
        return _line(series, fields, timestamp_ns(obs.at))
    if isinstance(obs, DeviceHealth):
        return _health(site_id, obs)
    return _ticket(site_id, obs)


def _people(site_id: str, obs: PeopleCount, zone: ZoneGeometry | None) -> list[str]:
    series = (
        f"zone_occupancy{_tag('site', site_id)}{_tag('source', obs.source_id)}"
        f"{_tag('zone', obs.zone_id)}"
    )
    count = int(obs.count)
    fields = [f"count={count}i"]
    if zone is not None:
        if zone.area_m2 > 0 and (density := _float(count / zone.area_m2)) is not None:
            fields.append(f"density={density}")
        if zone.capacity > 0:
            fields.append(f"capacity_ratio={_float(count / zone.capacity)}")
    confidence = _float(obs.confidence)
    if confidence is not None:
        fields.append(f"confidence={confidence}")
    return _line(series, fields, timestamp_ns(obs.at))


def _presence(site_id: str, obs: Presence) -> list[str]:
    counter = "" if obs.counter is None else str(obs.counter)
    series = (
        f"presence{_tag('counter', counter)}{_tag('sensor', obs.source_id)}"
        f"{_tag('site', site_id)}{_tag('zone', obs.zone_id)}"
    )
    occupied = "true" if obs.occupied else "false"
    return _line(series, [f"occupied={occupied}"], timestamp_ns(obs.at))


def _climate(site_id: str, obs: Climate) -> list[str]:
    fields = []
    for key, value in (
        ("temperature", obs.temperature_c),
        ("humidity", obs.humidity_pct),
        ("co2", obs.co2_ppm),
        ("pm25", obs.pm25_ugm3),
        ("pressure", obs.pressure_hpa),
        ("illuminance", obs.illuminance_lux),
    ):
        if value is not None and (text := _float(value)) is not None:
            fields.append(f"{key}={text}")
    if not fields:
        return []
    series = (
        f"climate{_tag('sensor', obs.sensor_id)}{_tag('site', site_id)}{_tag('zone', obs.zone_id)}"
    )
    return _line(series, fields, timestamp_ns(obs.at))


def _health(site_id: str, obs: DeviceHealth) -> list[str]:
    event = camera_event(obs)
    if event is not None:  # the camera's own event state, kept apart from its stream's health
        name, active = event
        series = (
            f"camera_events{_tag('camera', obs.device_id)}{_tag('event', name)}"
            f"{_tag('site', site_id)}"
        )
        return _line(series, [f"active={'true' if active else 'false'}"], timestamp_ns(obs.at))
    series = (
        f"device_health{_tag('device', obs.device_id)}{_tag('kind', obs.kind.value)}"
        f"{_tag('site', site_id)}"
    )
    fields = [
        f"online={'true' if obs.online else 'false'}",
        f"detail={quote_string(obs.detail)}",
    ]
    for key, value in (
        ("battery", obs.battery_pct),
        ("linkquality", obs.linkquality),
        ("fps", obs.fps),
        ("latency_ms", obs.latency_ms),
    ):
        if value is not None and (text := _float(value)) is not None:
            fields.append(f"{key}={text}")
    return _line(series, fields, timestamp_ns(obs.at))


def ticket_offset_ns(ticket: str, counter: int | None) -> int:
    """A stable 0..999 ns offset that keeps two tickets stamped in the same instant apart.

    Ticket systems stamp events to the second; two tickets issued for the same
    service within one second would otherwise be one series and timestamp, and
    the second would overwrite the first. The offset depends only on the ticket
    (and counter), so a replay of the same event still overwrites itself.
    """
    key = f"{ticket}\x00{'' if counter is None else counter}".encode()
    return zlib.crc32(key) % 1000


def _ticket(site_id: str, obs: TicketEvent) -> list[str]:
    series = (
        f"queue{_tag('event', obs.event.value)}{_tag('service', obs.service_id)}"
        f"{_tag('site', site_id)}"
    )
    fields = [f"ticket={quote_string(obs.ticket)}"]
    if obs.counter is not None:
        fields.append(f"counter={int(obs.counter)}i")
    fields.append("count=1i")
    return _line(series, fields, timestamp_ns(obs.at) + ticket_offset_ns(obs.ticket, obs.counter))


# --------------------------------------------------------------------------- engine output


def zone_state_lines(site_id: str, state: ZoneState) -> list[str]:
    """The fused state of a zone: ``zone_occupancy`` with ``source=fused``.

    Nothing while no source counts the zone (method ``none``): its 0 is "not
    known", and a stored 0 would read as an empty zone in every mean of history.
    """
    if state.method == "none":
        return []
    series = f"zone_occupancy{_tag('site', site_id)}{_tag('source', 'fused')}{_tag('zone', state.zone_id)}"
    occupied = [] if state.presence is None else [f"occupied={_bool(state.presence == 'occupied')}"]
    if state.method == "binary":  # occupied / vacant only: no number to store
        fields = [
            *occupied,
            f"confidence={_float(state.confidence)}",
            f"level={quote_string(state.level.value)}",
            f"method={quote_string(state.method)}",
        ]
        return _line(series, fields, timestamp_ns(state.updated_at))
    fields = [f"count={int(state.occupancy)}i"]
    for key, value in (
        ("density", state.density_per_m2),
        ("capacity_ratio", state.capacity_ratio),
        ("confidence", state.confidence),
        ("expected_wait_s", state.expected_wait_s),
    ):
        if value is not None and (text := _float(value)) is not None:
            fields.append(f"{key}={text}")
    fields.append(f"level={quote_string(state.level.value)}")
    fields.append(f"method={quote_string(state.method)}")
    if state.level_of_service is not None:
        fields.append(f"los={quote_string(state.level_of_service)}")
    fields.append(f"disagreement={'true' if state.disagreement else 'false'}")
    if state.waiting_tickets is not None:
        fields.append(f"waiting={int(state.waiting_tickets)}i")
    fields.extend(occupied)
    return _line(series, fields, timestamp_ns(state.updated_at))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def seat_lines(site_id: str, seat: SeatState, at: datetime) -> list[str]:
    """A counter seat's state at ``at``: ``counter_seat`` (open 1 / 0 for hourly means)."""
    series = (
        f"counter_seat{_tag('counter', str(seat.counter))}"
        f"{_tag('service', seat.service_id or '')}{_tag('site', site_id)}"
    )
    fields = [f"state={quote_string(seat.status.value)}"]
    if seat.status is not SeatStatus.UNKNOWN:
        fields.append(f"open={1 if seat.status is SeatStatus.OPEN else 0}i")
    if seat.occupied is not None:
        fields.append(f"occupied={_bool(seat.occupied)}")
    return _line(series, fields, timestamp_ns(at))


def alert_lines(site_id: str, alert: Alert, transition: str) -> list[str]:
    """One ``alerts`` point per transition, stamped with the transition's time."""
    series = (
        f"alerts{_tag('device', alert.device_id or '')}{_tag('rule', alert.rule)}"
        f"{_tag('severity', alert.severity.value)}{_tag('site', site_id)}"
        f"{_tag('zone', alert.zone_id or '')}"
    )
    fields = [f"state={quote_string(alert.state.value)}", f"transition={quote_string(transition)}"]
    if transition in ALERT_TRANSITIONS:  # a number VictoriaMetrics keeps
        fields.append(f"{transition}=1i")
    fields += [
        f"alert_id={quote_string(alert.id)}",
        f"message={quote_string(alert.message)}",
        f"notifications={int(alert.notifications)}i",
    ]
    for key, value in (("value", alert.value), ("threshold", alert.threshold)):
        if value is not None and (text := _float(value)) is not None:
            fields.append(f"{key}={text}")
    return _line(series, fields, timestamp_ns(alert.updated_at))
