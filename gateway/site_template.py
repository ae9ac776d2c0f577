"""A new center's site file from a few answers (``floorwatch init``). Pure module.

The answers are what a local technician knows on day one: the center's name,
its floors and their size, counters, waiting seats, service groups, opening
hours, and which cameras and sensors it has. ``site_yaml`` lays the floors out
in zones, shares the counters among the groups and floors, wires each camera,
door counter, climate sensor and the ticket system to its zones, and writes a
commented YAML file that ``floorwatch config check`` accepts; the comments say
what to measure and adjust on site.

Layout of a floor (W x D metres, the street side at y = 0): a floor with up to
``HALL_MAX_COUNTERS`` counters is one hall (waiting seats and counters in one
room, as in most commune centers); a larger one is a waiting area at the front
(``WAITING_SHARE`` of the depth) and the counters' band at the back.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.settings import ID_PATTERN

HALL_MAX_COUNTERS = 6
WAITING_SHARE = 0.6
M2_PER_STANDING_PERSON = 2.0  # comfortable standing density for a capacity estimate
CITIZEN_SEATS_PER_COUNTER = 2  # the citizen's chair and one for a companion
Session = tuple[str, str]
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True, slots=True)
class SiteAnswers:
    site_id: str
    name: str
    width_m: float
    depth_m: float
    counters: int
    waiting_seats: int
    services: tuple[str, ...]
    floors: int = 1
    timezone: str = "Asia/Ho_Chi_Minh"
    weekday_sessions: tuple[Session, ...] = (("07:30", "11:30"), ("13:30", "17:00"))
    saturday_sessions: tuple[Session, ...] = (("07:30", "11:30"),)
    cameras: tuple[str, ...] = ()
    camera_user: str | None = None
    door_counter: bool = False
    climate_sensors: int = 0
    tickets: bool = True
    mqtt_host: str = "127.0.0.1"
    influx_url: str = "http://127.0.0.1:8086"


def answer_errors(a: SiteAnswers) -> list[str]:
    """What is wrong with the answers, each as a sentence naming the answer."""
    out: list[str] = []
    if not re.match(ID_PATTERN, a.site_id):
        out.append(f"site id {a.site_id!r}: lower-case letters, digits, '-' and '_' only")
    if not a.name.strip():
        out.append("name: give the center's name")
    if a.floors < 1:
        out.append("floors: at least 1")
    if a.width_m <= 0 or a.depth_m <= 0:
        out.append("floor size: width and depth in metres, more than 0")
    if a.counters < max(1, a.floors):
        out.append(f"counters: at least one per floor ({max(1, a.floors)})")
    if a.waiting_seats < 0:
        out.append("waiting seats: 0 or more")
    if not a.services:
        out.append("service groups: name at least one")
    elif len(a.services) > a.counters:
        out.append(f"service groups: {len(a.services)} groups need at least as many counters")
    ids = [service_id(s) for s in a.services]
    if len(set(ids)) < len(ids):
        out.append("service groups: two names give the same id; make them differ")
    if any(not i for i in ids):
        out.append("service groups: a name needs at least one letter or digit")
    try:
        ZoneInfo(a.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.append(f"time zone {a.timezone!r}: unknown (e.g. Asia/Ho_Chi_Minh)")
    for what, sessions in (("weekday", a.weekday_sessions), ("saturday", a.saturday_sessions)):
        out.extend(_session_errors(what, sessions))
    if not a.weekday_sessions:
        out.append("weekday hours: give at least one session, e.g. 07:30-11:30")
    if a.climate_sensors < 0:
        out.append("climate sensors: 0 or more")
    if a.camera_user is not None and not a.cameras:
        out.append("camera user: give the cameras' addresses too")
    return out


def _session_errors(what: str, sessions: tuple[Session, ...]) -> list[str]:
    out = []
    last_end = ""
    for start, end in sessions:
        if not (_TIME.match(start) and _TIME.match(end)):
            out.append(f"{what} hours {start}-{end}: write HH:MM-HH:MM, e.g. 07:30-11:30")
        elif end <= start or start < last_end:
            out.append(
                f"{what} hours {start}-{end}: sessions in order, each ending after it starts"
            )
        last_end = end
    return out


def parse_sessions(text: str) -> tuple[Session, ...]:
    """``"07:30-11:30, 13:30-17:00"`` -> ((start, end), ...); ``""`` or ``"closed"`` -> ()."""
    text = text.strip()
    if text.lower() in ("", "closed", "nghỉ", "nghi", "-"):
        return ()
    out = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        out.append((_hh_mm(start), _hh_mm(end)) if sep else (part.strip(), ""))
    return tuple(out)


def _hh_mm(text: str) -> str:
    text = text.strip().replace("h", ":")
    hours, _, minutes = text.partition(":")
    if hours.isdigit() and (minutes or "0").isdigit():
        return f"{int(hours):02d}:{int(minutes or 0):02d}"
    return text


def service_id(name: str) -> str:
    """``"Tư pháp – Hộ tịch"`` -> ``"tu-phap-ho-tich"`` (ASCII, as ids must be)."""
    text = name.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class _Zone:
    id: str
    name: str
    floor: int
    kind: str
    y0: float
    y1: float
    seats: int
    capacity: int
    services: tuple[str, ...] = ()
    door_balance: bool | None = None  # None: not written (the default, true)
    note: str = ""


@dataclass(slots=True)
class _Plan:
    a: SiteAnswers
    counters_on: list[list[int]] = field(default_factory=list)  # per floor
    groups: list[tuple[str, str, list[int]]] = field(default_factory=list)  # id, name, counters
    zones: list[_Zone] = field(default_factory=list)


def _share(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _plan(a: SiteAnswers) -> _Plan:
    plan = _Plan(a)
    n = 1
    for count in _share(a.counters, a.floors):
        plan.counters_on.append(list(range(n, n + count)))
        n += count
    n = 1
    for name, count in zip(a.services, _share(a.counters, len(a.services)), strict=True):
        plan.groups.append((service_id(name), name, list(range(n, n + count))))
        n += count
    seats = _share(a.waiting_seats, a.floors)
    area = a.width_m * a.depth_m
    for f, counters in enumerate(plan.counters_on, start=1):
        groups = tuple(g for g, _, cs in plan.groups if set(cs) & set(counters))
        citizen_seats = CITIZEN_SEATS_PER_COUNTER * len(counters)
        if len(counters) <= HALL_MAX_COUNTERS:
            hall_seats = seats[f - 1] + citizen_seats
            plan.zones.append(
                _Zone(
                    f"f{f}-hall",
                    "Sảnh tiếp nhận và trả kết quả" if a.floors == 1 else f"Sảnh tầng {f}",
                    f,
                    "waiting",
                    0.0,
                    a.depth_m,
                    hall_seats,
                    max(hall_seats, round(area / M2_PER_STANDING_PERSON)),
                    groups,
                )
            )
            continue
        y = round(a.depth_m * WAITING_SHARE, 2)
        wait_area, counter_area = a.width_m * y, a.width_m * (a.depth_m - y)
        plan.zones.append(
            _Zone(
                f"f{f}-waiting",
                f"Khu chờ ({seats[f - 1]} ghế)",
                f,
                "waiting",
                0.0,
                y,
                seats[f - 1],
                max(seats[f - 1], round(wait_area / M2_PER_STANDING_PERSON)),
                groups,
            )
        )
        plan.zones.append(
            _Zone(
                f"f{f}-counters",
                f"Quầy {counters[0]}–{counters[-1]}",
                f,
                "counters",
                y,
                a.depth_m,
                citizen_seats,
                max(citizen_seats, round(counter_area / M2_PER_STANDING_PERSON)),
            )
        )
    if a.door_counter:
        first = plan.zones[0]
        if a.floors > 1 or sum(1 for z in plan.zones if z.floor == 1) > 1:
            plan.zones[0] = dataclasses.replace(
                first,
                door_balance=False,
                note="the street door counter counts the whole building, not this zone"
                " alone (open plan): its counts are kept for arrivals and history",
            )
    return plan


# --------------------------------------------------------------------------- YAML


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _n(value: float) -> str:
    return f"{value:g}"


def _sessions(sessions: tuple[Session, ...]) -> str:
    return "\n".join(f"        - {{start: {_q(start)}, end: {_q(end)}}}" for start, end in sessions)


def site_yaml(a: SiteAnswers) -> str:
    """The commented site file for the answers (check ``answer_errors`` first)."""
    plan = _plan(a)
    out = [
        f"# floorwatch site file: {a.name}",
        "# Written by `floorwatch init`; check it with `floorwatch config check FILE`.",
        "# Every key is listed in docs/configuration.md. Measure on site and adjust:",
        "# the floor plan, the zone outlines, the seats and the cameras' ROIs.",
        "",
        "site:",
        f"  id: {a.site_id}",
        f"  name: {_q(a.name)}",
        f"  timezone: {a.timezone}",
        "  opening_hours:  # times quoted: an unquoted 07:30 is a number in YAML",
        "    - days: [mon, tue, wed, thu, fri]",
        "      sessions:",
        _sessions(a.weekday_sessions),
    ]
    if a.saturday_sessions:
        out += ["    - days: [sat]", "      sessions:", _sessions(a.saturday_sessions)]
    out += ["", "floors:  # plan: the floor's extent in metres; zones are drawn inside it"]
    for f in range(1, a.floors + 1):
        out.append(
            f"  - {{id: f{f}, name: {_q(f'Tầng {f}')}, level: {f},"
            f" area_m2: {_n(a.width_m * a.depth_m)},"
            f" plan: {{width_m: {_n(a.width_m)}, depth_m: {_n(a.depth_m)}}}}}"
        )
    out += _zones_yaml(plan)
    out += _doors_services_yaml(plan)
    out += _sensors_yaml(plan)
    out += _cameras_yaml(plan)
    out += [
        "",
        "mqtt:",
        f"  host: {a.mqtt_host}",
        "  port: 1883",
        f"  client_id: floorwatch-{a.site_id}  # keep it stable: the broker keeps its session",
        "  # username: floorwatch",
        "  # password: {env: MQTT_PASSWORD}",
        "",
        "influxdb:",
        f"  url: {a.influx_url}",
        "  protocol: v2",
        "  # token: {env: INFLUX_TOKEN}",
        "",
        "gateway:",
        "  state_dir: state  # alert store, spool, day state",
        "",
    ]
    return "\n".join(out)


def _zones_yaml(plan: _Plan) -> list[str]:
    a = plan.a
    out = [
        "",
        "zones:  # capacity: an estimate at 2 m2 a person; use the fire-safety maximum if lower",
    ]
    for z in plan.zones:
        w, y0, y1 = _n(a.width_m), _n(z.y0), _n(z.y1)
        out += [
            f"  - id: {z.id}",
            f"    name: {_q(z.name)}",
            f"    floor: f{z.floor}",
            f"    kind: {z.kind}",
            f"    area_m2: {_n(a.width_m * (z.y1 - z.y0))}  # usable area: subtract pillars, desks",
            f"    seats: {z.seats}",
            f"    capacity: {z.capacity}",
            f"    polygon: [[0, {y0}], [{w}, {y0}], [{w}, {y1}], [0, {y1}]]",
        ]
        if z.kind == "waiting" and a.floors > 1:
            out.append(f"    services: [{', '.join(z.services)}]  # tickets waiting here")
        if z.door_balance is False:
            out.append(f"    door_balance: false  # {z.note}")
    return out


def _doors_services_yaml(plan: _Plan) -> list[str]:
    out: list[str] = []
    if plan.a.door_counter:
        out += [
            "",
            "doors:",
            f"  - {{id: d-main, name: {_q('Cửa chính')}, floor: f1,"
            f" into_zone: {plan.zones[0].id}}}",
        ]
    out += ["", "services:  # queue-ticket service groups; each counter in one group"]
    for gid, name, counters in plan.groups:
        out.append(
            f"  - {{id: {gid}, name: {_q(name)},"
            f" counters: [{', '.join(str(c) for c in counters)}], service_time_s: 600}}"
        )
    return out


def _sensors_yaml(plan: _Plan) -> list[str]:
    a = plan.a
    lines: list[str] = []
    if a.door_counter:
        lines.append(
            "  - {id: dc-main, kind: door_counter, decoder: door_counter, mode: cumulative,"
            " topic: counters/d-main, door: d-main, interval_s: 60}"
        )
    for k in range(a.climate_sensors):
        zone = plan.zones[k % len(plan.zones)].id
        sid = f"cl-{zone}" + (f"-{k // len(plan.zones) + 1}" if k >= len(plan.zones) else "")
        lines.append(
            f"  - {{id: {sid}, kind: climate, decoder: zigbee2mqtt,"
            f" topic: zigbee2mqtt/{sid}, zone: {zone}, interval_s: 60}}"
        )
    if a.tickets:
        lines.append(
            "  - {id: qms, kind: queue, decoder: queue_ticket, topic: qms/events, interval_s: 900}"
        )
    if not lines:
        return []
    return ["", "sensors:  # topics: as the devices publish them (docs/sensors.md)", *lines]


def _cameras_yaml(plan: _Plan) -> list[str]:
    a = plan.a
    if not a.cameras:
        return []
    out = [
        "",
        "cameras:  # ROIs: the zone's floor in the picture, 0..1; redraw them on a snapshot",
    ]
    by_floor: dict[int, list[int]] = {}
    for i in range(len(a.cameras)):
        by_floor.setdefault(i % a.floors + 1, []).append(i)
    for i, host in enumerate(a.cameras):
        floor = i % a.floors + 1
        zones = [z for z in plan.zones if z.floor == floor]
        mates = by_floor[floor]
        mine = [z for k, z in enumerate(zones) if k % len(mates) == mates.index(i)] or zones
        out += [f"  - id: cam-{i + 1}", f"    name: {_q(f'Camera {i + 1} tầng {floor}')}"]
        if a.camera_user is None:
            out.append(f"    # add username and password: {{env: CAM_{i + 1}_PASSWORD}}")
            out.append(f"    onvif: {{host: {_q(host)}}}")
        else:
            out.append(
                f"    onvif: {{host: {_q(host)}, username: {_q(a.camera_user)},"
                f" password: {{env: CAM_{i + 1}_PASSWORD}}}}"
            )
        out.append("    rois:")
        for k, z in enumerate(mine):
            x0 = round(0.02 + 0.96 * k / len(mine), 3)
            x1 = round(0.02 + 0.96 * (k + 1) / len(mine), 3)
            out.append(
                f"      - {{zone: {z.id}, polygon: [[{x0}, 0.3], [{x1}, 0.3],"
                f" [{x1}, 0.98], [{x0}, 0.98]]}}"
            )
    return out
