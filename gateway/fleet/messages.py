"""Subjects, message ids and payloads of the fleet uplink. Pure module.

Every fleet subject is built here and nowhere else:

- ``<prefix>.<province>.<site>.zone``: a zone's state changed;
- ``<prefix>.<province>.<site>.alert``: an alert was raised, re-notified,
  acknowledged or resolved;
- ``<prefix>.<province>.<site>.device``: a camera's, sensor's or the gateway's
  health changed;
- ``<prefix>.<province>.<site>.hourly``: a local hour closed: people per zone,
  waits, tickets and counters per service group (gateway.fleet.hourly);
- ``<prefix>.<province>.<site>.health``: a local hour closed: devices online vs
  configured, downtime;
- ``<prefix>.<province>.<site>.plan``: the day's staffing plan;
- ``<prefix>.<province>.<site>.heartbeat``: every ``fleet.heartbeat_s``: the
  gateway's clock, uptime, uplink queue depth, devices online vs configured
  (the province page's link state while no zone changes) and, at start, when
  they change and hourly, the center's own certificates (gateway.fleet.site_certs).

The kind is the last token, so a province subscribes to ``<prefix>.<province>.>``
and a site's credentials can be limited to ``<prefix>.<province>.<site>.>``.

The message id (header ``Nats-Msg-Id``) is derived from the content's identity,
never from a counter or the clock: the same zone state, alert transition or
health change sent again (a retry after a timeout, a restarted gateway
republishing) carries the same id, and JetStream stores it once within the
stream's duplicate window.

The payload is one JSON object: ``v`` (format version), ``province``, ``site``,
``kind`` and the record under the kind's name (``alert`` with ``transition``);
times in ISO 8601 UTC, enums as their values (as gateway.outbound). The hourly
kinds' ids are the hour's start (UTC), the plan's its day and a digest of its
figures, a heartbeat's the start of its time bucket (``heartbeat_s`` wide): a
resend, or a restart's first heartbeat within the same bucket, is a duplicate.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

import orjson

from gateway.fleet.hourly_records import HealthSummary, HourSummary
from gateway.fleet.site_certs import SiteCertificate, parse
from gateway.live import Alert, LiveEvent, LiveEventKind, ZoneState
from gateway.observations import DeviceHealth

PAYLOAD_VERSION = 1
MSG_ID_HEADER = "Nats-Msg-Id"

# A NATS subject token: no dots, wildcards or white space. floorwatch ids are
# narrower still (a-z, 0-9, '-', '_'), so every valid id is a valid token.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class FleetKind(StrEnum):
    ZONE = "zone"
    ALERT = "alert"
    DEVICE = "device"
    HOURLY = "hourly"
    HEALTH = "health"
    PLAN = "plan"
    HEARTBEAT = "heartbeat"


@dataclass(frozen=True, slots=True)
class FleetSubjects:
    """The subjects of one site: ``<prefix>.<province>.<site>.<kind>``."""

    prefix: str
    province: str
    site: str

    def __post_init__(self) -> None:
        for name in ("prefix", "province", "site"):
            value = getattr(self, name)
            if not _TOKEN.match(value):
                raise ValueError(f"fleet {name} {value!r} is not a NATS subject token")

    @property
    def site_root(self) -> str:
        return f"{self.prefix}.{self.province}.{self.site}"

    @property
    def inbox_prefix(self) -> str:
        """The site's reply inbox prefix (nats-py ``inbox_prefix``): ``_INBOX.<province>.<site>``."""
        return f"_INBOX.{self.province}.{self.site}"

    @property
    def site_wildcard(self) -> str:
        """Every subject of this site: what a site's stream holds and its credentials allow."""
        return f"{self.site_root}.>"

    @property
    def province_wildcard(self) -> str:
        """Every subject of every site of the province: what the central side reads."""
        return f"{self.prefix}.{self.province}.>"

    def subject(self, kind: FleetKind) -> str:
        return f"{self.site_root}.{kind.value}"

    def parse(self, subject: str) -> tuple[str, str, FleetKind] | None:
        """(province, site, kind) of a fleet subject under this prefix, else None."""
        parts = subject.split(".")
        if len(parts) != 4 or parts[0] != self.prefix:
            return None
        try:
            kind = FleetKind(parts[3])
        except ValueError:
            return None
        return parts[1], parts[2], kind


@dataclass(frozen=True, slots=True)
class FleetMessage:
    """One message for JetStream: where, its de-duplication id, and the bytes."""

    subject: str
    msg_id: str
    payload: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {MSG_ID_HEADER: self.msg_id}


def _stamp(at: datetime) -> str:
    """A UTC instant to the microsecond; an id part, so one form only."""
    if at.tzinfo is None:
        raise ValueError(f"a naive time cannot be a fleet message's time: {at!r}")
    return at.astimezone(UTC).isoformat()


def _encode(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__}")


def _payload(subjects: FleetSubjects, kind: FleetKind, body: dict[str, Any]) -> bytes:
    envelope = {
        "v": PAYLOAD_VERSION,
        "province": subjects.province,
        "site": subjects.site,
        "kind": kind.value,
        **body,
    }
    return json.dumps(envelope, default=_encode, ensure_ascii=False, separators=(",", ":")).encode()


def zone_message(subjects: FleetSubjects, state: ZoneState) -> FleetMessage:
    msg_id = f"{subjects.site_root}:zone:{state.zone_id}:{_stamp(state.updated_at)}"
    body = {"zone": dataclasses.asdict(state)}
    return FleetMessage(
        subjects.subject(FleetKind.ZONE), msg_id, _payload(subjects, FleetKind.ZONE, body)
    )


def alert_message(subjects: FleetSubjects, alert: Alert, transition: str) -> FleetMessage:
    if not transition or ":" in transition:
        raise ValueError(f"not an alert transition: {transition!r}")
    msg_id = f"{subjects.site_root}:alert:{alert.id}:{transition}:{_stamp(alert.updated_at)}"
    body = {"transition": transition, "alert": dataclasses.asdict(alert)}
    return FleetMessage(
        subjects.subject(FleetKind.ALERT), msg_id, _payload(subjects, FleetKind.ALERT, body)
    )


def device_message(subjects: FleetSubjects, health: DeviceHealth) -> FleetMessage:
    msg_id = f"{subjects.site_root}:device:{health.device_id}:{_stamp(health.at)}"
    body = {"device": dataclasses.asdict(health)}
    return FleetMessage(
        subjects.subject(FleetKind.DEVICE), msg_id, _payload(subjects, FleetKind.DEVICE, body)
    )


def hourly_message(subjects: FleetSubjects, summary: HourSummary) -> FleetMessage:
    msg_id = f"{subjects.site_root}:hourly:{_stamp(summary.hour)}"
    body = {"hourly": dataclasses.asdict(summary)}
    return FleetMessage(
        subjects.subject(FleetKind.HOURLY), msg_id, _payload(subjects, FleetKind.HOURLY, body)
    )


def health_message(subjects: FleetSubjects, summary: HealthSummary) -> FleetMessage:
    msg_id = f"{subjects.site_root}:health:{_stamp(summary.hour)}"
    body = {"health": dataclasses.asdict(summary)}
    return FleetMessage(
        subjects.subject(FleetKind.HEALTH), msg_id, _payload(subjects, FleetKind.HEALTH, body)
    )


def plan_message(subjects: FleetSubjects, plan: dict[str, Any]) -> FleetMessage:
    """The day's plan (``gateway.fleet.hourly.plan_body``): its id is ``<day>:<digest>``."""
    ident = plan.get("id")
    if not isinstance(ident, str) or not ident:
        raise ValueError("a plan without its id")
    msg_id = f"{subjects.site_root}:plan:{ident}"
    body = {"plan": plan}
    return FleetMessage(
        subjects.subject(FleetKind.PLAN), msg_id, _payload(subjects, FleetKind.PLAN, body)
    )


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The gateway's sign of life: its clock, how long it has run, what it holds back.

    ``devices_online``/``devices_configured`` are None where the sender does not
    know its devices (the count is then left out of the payload). ``certificates``:
    the center's own certificates (gateway.fleet.site_certs) in the heartbeats that
    carry them; None in the others (left out of the payload).
    """

    at: datetime
    uptime_s: float
    queue: int
    devices_online: int | None = None
    devices_configured: int | None = None
    certificates: tuple[SiteCertificate, ...] | None = None


def heartbeat_message(subjects: FleetSubjects, beat: Heartbeat, bucket_s: float) -> FleetMessage:
    """A heartbeat; its id is the start of its ``bucket_s``-wide time bucket (UTC)."""
    if bucket_s <= 0:
        raise ValueError(f"a heartbeat bucket must be positive: {bucket_s!r}")
    _stamp(beat.at)  # refuses a naive time
    epoch = beat.at.timestamp()
    start = datetime.fromtimestamp(epoch - epoch % bucket_s, UTC)
    msg_id = f"{subjects.site_root}:heartbeat:{_stamp(start)}"
    body: dict[str, Any] = {
        "at": beat.at.astimezone(UTC),
        "uptime_s": round(beat.uptime_s, 1),
        "queue": beat.queue,
    }
    if beat.devices_online is not None and beat.devices_configured is not None:
        body["devices_online"] = beat.devices_online
        body["devices_configured"] = beat.devices_configured
    if beat.certificates is not None:
        body["certificates"] = [c.entry() for c in beat.certificates]
    return FleetMessage(
        subjects.subject(FleetKind.HEARTBEAT),
        msg_id,
        _payload(subjects, FleetKind.HEARTBEAT, {"heartbeat": body}),
    )


def message_for(subjects: FleetSubjects, event: LiveEvent) -> FleetMessage | None:
    """The fleet message of a live event; None for an event without its record."""
    if event.kind is LiveEventKind.ZONE and event.zone is not None:
        return zone_message(subjects, event.zone)
    if event.kind is LiveEventKind.ALERT and event.alert is not None and event.transition:
        return alert_message(subjects, event.alert, event.transition)
    if event.kind is LiveEventKind.DEVICE and event.device is not None:
        return device_message(subjects, event.device)
    return None


@dataclass(frozen=True, slots=True)
class SitePermissions:
    """What a site's NATS user needs, and nothing more: its subjects and its stream."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def site_permissions(subjects: FleetSubjects, stream: str, *, create: bool) -> SitePermissions:
    """The publish/subscribe allow lists of one site's user (NATS ``permissions``).

    It may publish under ``<prefix>.<province>.<site>.>`` only, ask for its stream's
    info (and create it, with ``create``), and receive replies (JetStream's acks
    come to the client's inbox: the site's own prefix, ``_INBOX.<province>.<site>``,
    so it cannot read replies meant for other clients).
    """
    if not _TOKEN.match(stream):
        raise ValueError(f"stream {stream!r} is not a NATS subject token")
    api = [f"$JS.API.STREAM.INFO.{stream}"]
    if create:
        api.append(f"$JS.API.STREAM.CREATE.{stream}")
    return SitePermissions((subjects.site_wildcard, *api), (f"{subjects.inbox_prefix}.>",))


# --------------------------------------------------------------------------- dead letters

#: Headers of a dead letter (a message the central worker could not decode, kept).
DEAD_REASON_HEADER = "Floorwatch-Reason"
DEAD_SUBJECT_HEADER = "Floorwatch-Subject"
DEAD_STREAM_HEADER = "Floorwatch-Stream"
DEAD_SEQ_HEADER = "Floorwatch-Stream-Seq"
_HEADER_MAX = 1024


def dead_letter_wildcard(prefix: str) -> str:
    """Every dead letter: ``<prefix>_dead.>``, apart from the sites' ``<prefix>.>``."""
    return f"{prefix}_dead.>"


def dead_letter_subject(prefix: str, subject: str) -> str:
    """``<prefix>_dead.<province>.<site>`` of an undecodable message's subject; ``unknown``
    for both where the subject is not ``<prefix>.<province>.<site>...``."""
    parts = subject.split(".")
    where = ("unknown", "unknown")
    if len(parts) >= 3 and parts[0] == prefix and all(_TOKEN.match(p) for p in parts[1:3]):
        where = (parts[1], parts[2])
    return f"{prefix}_dead.{where[0]}.{where[1]}"


def _header_value(text: str) -> str:
    """One line of printable ASCII (NATS header values), at most _HEADER_MAX characters."""
    flat = " ".join(text.split()).encode("ascii", "backslashreplace").decode("ascii")
    return flat if len(flat) <= _HEADER_MAX else flat[: _HEADER_MAX - 3] + "..."


def dead_letter_headers(
    reason: str, subject: str, stream: str | None, seq: int | None
) -> dict[str, str]:
    """A dead letter's headers; with the stream and sequence it came from, the message id
    ``<stream>:<seq>``, so the same message rejected again is stored once."""
    headers = {
        DEAD_REASON_HEADER: _header_value(reason),
        DEAD_SUBJECT_HEADER: _header_value(subject),
    }
    if stream is not None and seq is not None:
        headers |= {
            DEAD_STREAM_HEADER: stream,
            DEAD_SEQ_HEADER: str(seq),
            MSG_ID_HEADER: f"{stream}:{seq}",
        }
    return headers


# --------------------------------------------------------------------------- decoding


class FleetDecodeError(ValueError):
    """A message that is not a fleet message of this format: ``reason`` says why."""


@dataclass(frozen=True, slots=True)
class FleetRecord:
    """One decoded fleet message: who sent it, what kind, and its record as sent.

    ``at`` is the record's own time (a zone's ``updated_at``, an alert's
    ``updated_at``, a device's ``at``): the same message decodes to the same
    record every time it is delivered.
    """

    province: str
    site: str
    kind: FleetKind
    at: datetime
    body: dict[str, Any]
    transition: str | None = None

    @property
    def site_key(self) -> str:
        """``<province>.<site>``: the site's key in the central key-value bucket."""
        return f"{self.province}.{self.site}"


_TIME_KEY = {
    FleetKind.ZONE: "updated_at",
    FleetKind.ALERT: "updated_at",
    FleetKind.DEVICE: "at",
    FleetKind.HOURLY: "hour",
    FleetKind.HEALTH: "hour",
    FleetKind.PLAN: "computed_at",
    FleetKind.HEARTBEAT: "at",
}
_ID_KEY = {
    FleetKind.ZONE: "zone_id",
    FleetKind.ALERT: "id",
    FleetKind.DEVICE: "device_id",
    FleetKind.HOURLY: "hour",
    FleetKind.HEALTH: "hour",
    FleetKind.PLAN: "id",
    FleetKind.HEARTBEAT: "at",
}
#: What a record of these kinds must hold besides its id and time: a mapping each.
_MAPS = {
    FleetKind.HOURLY: ("zones", "services"),
    FleetKind.HEALTH: ("kinds", "devices"),
    FleetKind.PLAN: ("groups",),
}


#: A byte's class for bytes.translate: a digit becomes ``0``, anything else ``x``.
_DIGIT_CLASS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_LONG_RUN = b"0" * 19  # 19 digits in a row: maybe an integer beyond 64 bits


def loads(payload: bytes) -> Any:
    """``json.loads(payload)``, faster: orjson reads a document three to four times
    faster and the same way, except what it refuses (NaN, an infinite number, bad
    JSON: then ``json`` reads it, or gives its reason) and an integer beyond 64 bits
    (below -2**63 or above 2**64 - 1: orjson makes it a float, ``json`` keeps the
    integer), which needs 19 digits or more: a payload with such a run of digits
    goes to ``json``. The run is found by mapping digits to one byte and searching
    (0.5 µs for a zone state's 635 bytes; a regular expression took 4.5 µs, four
    times orjson's parse, and 6 % of a central worker's CPU)."""
    if _LONG_RUN not in payload.translate(_DIGIT_CLASS):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    return json.loads(payload)


def decode(prefix: str, subject: str, payload: bytes) -> FleetRecord:
    """The record of a fleet message; FleetDecodeError for anything else.

    The subject and the payload's envelope must agree (a site cannot claim
    another site's identity inside its own subject).
    """
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != prefix:
        raise FleetDecodeError(f"not a fleet subject under {prefix!r}: {subject!r}")
    try:
        kind = FleetKind(parts[3])
    except ValueError:
        raise FleetDecodeError(f"unknown kind {parts[3]!r} in {subject!r}") from None
    try:
        data = loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FleetDecodeError(f"payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FleetDecodeError("payload is not a JSON object")
    if data.get("v") != PAYLOAD_VERSION:
        raise FleetDecodeError(f"payload version {data.get('v')!r}, expected {PAYLOAD_VERSION}")
    envelope = (data.get("province"), data.get("site"), data.get("kind"))
    if envelope != (parts[1], parts[2], kind.value):
        raise FleetDecodeError(f"payload says {envelope!r} but the subject is {subject!r}: refused")
    body = data.get(kind.value)
    if not isinstance(body, dict):
        raise FleetDecodeError(f"payload has no {kind.value!r} object")
    ident = body.get(_ID_KEY[kind])
    if not isinstance(ident, str) or not ident:
        raise FleetDecodeError(f"{kind.value} without {_ID_KEY[kind]!r}")
    at = _parse_time(body.get(_TIME_KEY[kind]), f"{kind.value}.{_TIME_KEY[kind]}")
    for key in _MAPS.get(kind, ()):
        if not isinstance(body.get(key), dict):
            raise FleetDecodeError(f"{kind.value} without a {key!r} object")
    if kind is FleetKind.HEARTBEAT:
        _check_heartbeat(body)
    transition = None
    if kind is FleetKind.ALERT:
        transition = data.get("transition")
        if not isinstance(transition, str) or not transition:
            raise FleetDecodeError("alert without 'transition'")
    return FleetRecord(parts[1], parts[2], kind, at, body, transition)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_heartbeat(body: dict[str, Any]) -> None:
    uptime = body.get("uptime_s")
    if isinstance(uptime, bool) or not isinstance(uptime, int | float) or uptime < 0:
        raise FleetDecodeError("heartbeat without a non-negative 'uptime_s'")
    if not _count(body.get("queue")):
        raise FleetDecodeError("heartbeat without a non-negative integer 'queue'")
    online, configured = body.get("devices_online"), body.get("devices_configured")
    if (online, configured) != (None, None) and not (_count(online) and _count(configured)):
        raise FleetDecodeError("heartbeat's device counts must both be non-negative integers")
    if "certificates" in body:  # optional: an older gateway sends none
        try:
            parse(body["certificates"])
        except ValueError as exc:
            raise FleetDecodeError(f"heartbeat's {exc}") from None


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise FleetDecodeError(f"{where} is missing or not a string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise FleetDecodeError(f"{where} is not an ISO 8601 time: {value!r}") from None
    if at.tzinfo is None:
        raise FleetDecodeError(f"{where} has no time zone: {value!r}")
    return at.astimezone(UTC)
