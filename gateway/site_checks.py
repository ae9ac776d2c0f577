"""What a site file can get wrong although every value is valid on its own. Pure module.

Run once the schema and the references hold (``gateway.settings.reference_errors``):

- geometry: a zone outline that crosses itself, has no area, leaves its floor's
  plan, or overlaps another zone of the floor (errors); a stated area larger
  than the outline or the plan (warnings);
- counters: a counter number in two service groups (or twice in one) is an
  error: the expected wait would count its capacity twice; a sensor's
  ``counter:`` (a counter-seat presence sensor) must name a counter of a
  service group, and only a presence sensor watches a seat;
- credentials: a camera or InfluxDB 1.x user name without a password is an
  error, an MQTT one a warning (some brokers take a user name alone);
- people sources: a zone nobody counts (no camera ROI or counting rule,
  presence sensor, door counter it balances, or waiting tickets) is a
  warning, unless the zone says ``counted: false``.

Each finding is ``(loc, message)``: the YAML path and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import geometry
from gateway.settings import Loc, SensorKind, Settings, ZoneConfig
from gateway.zones import zone_specs

# An overlap smaller than this (m2) is a rounding of hand-typed corners, not two zones.
OVERLAP_TOLERANCE_M2 = 0.01
# Stated areas may exceed the outline by this share before a warning (measured by hand).
AREA_TOLERANCE = 0.05
_OUTSIDE_TOLERANCE_M = 1e-6

Finding = tuple[Loc, str]


@dataclass(frozen=True, slots=True)
class FloorCover:
    """How much of a floor its zone outlines cover, for the summary."""

    floor_id: str
    plan_m2: float
    outlined_m2: float


def site_errors(settings: Settings) -> list[Finding]:
    return [
        *geometry_errors(settings),
        *counter_errors(settings),
        *seat_errors(settings),
        *credential_errors(settings),
    ]


def site_warnings(settings: Settings) -> list[Finding]:
    return [
        *area_warnings(settings),
        *people_source_warnings(settings),
        *seat_warnings(settings),
        *credential_warnings(settings),
    ]


# --------------------------------------------------------------------------- geometry


def _valid_outline(zone: ZoneConfig) -> bool:
    return geometry.self_crossing(zone.polygon) is None and geometry.area(zone.polygon) > 0


def geometry_errors(settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    plans = {f.id: f.plan for f in settings.floors}
    for i, z in enumerate(settings.zones):
        crossing = geometry.self_crossing(z.polygon)
        if crossing is not None:
            a, b = crossing
            out.append(
                (
                    ("zones", i, "polygon"),
                    f"the outline crosses itself (edges {a + 1} and {b + 1}): list the"
                    " corners in order around the zone",
                )
            )
        elif geometry.area(z.polygon) == 0:
            out.append((("zones", i, "polygon"), "the outline encloses no area"))
        plan = plans[z.floor]
        for k, (x, y) in enumerate(z.polygon):
            tol = _OUTSIDE_TOLERANCE_M
            if not (-tol <= x <= plan.width_m + tol and -tol <= y <= plan.depth_m + tol):
                out.append(
                    (
                        ("zones", i, "polygon", k),
                        f"point ({x:g}, {y:g}) is outside the plan of floor {z.floor!r}"
                        f" (x 0..{plan.width_m:g} m, y 0..{plan.depth_m:g} m)",
                    )
                )
    out.extend(_overlaps(settings))
    return out


def _overlaps(settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    zones = list(enumerate(settings.zones))
    for n, (i, a) in enumerate(zones):
        if not _valid_outline(a):
            continue
        for j, b in zones[n + 1 :]:
            if b.floor != a.floor or not _valid_outline(b):
                continue
            shared = geometry.intersection_area(a.polygon, b.polygon)
            if shared > OVERLAP_TOLERANCE_M2:
                out.append(
                    (
                        ("zones", j, "polygon"),
                        f"overlaps zone {a.id!r} (zones[{i}]) by {shared:.3g} m2: zones of a"
                        " floor must not overlap (people there would be counted in both)",
                    )
                )
    return out


def floor_cover(settings: Settings) -> list[FloorCover]:
    """Per floor: the plan's area and the area the zones' outlines cover."""
    out = []
    for f in settings.floors:
        outlined = sum(
            geometry.area(z.polygon)
            for z in settings.zones
            if z.floor == f.id and _valid_outline(z)
        )
        out.append(FloorCover(f.id, f.plan.width_m * f.plan.depth_m, outlined))
    return out


def area_warnings(settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    for i, z in enumerate(settings.zones):
        if not _valid_outline(z):
            continue
        outline = geometry.area(z.polygon)
        if z.area_m2 > outline * (1 + AREA_TOLERANCE):
            out.append(
                (
                    ("zones", i, "area_m2"),
                    f"{z.area_m2:g} m2 is more than its polygon outlines ({outline:.4g} m2):"
                    " density would read too low; check the area or the corners",
                )
            )
    covers = {c.floor_id: c for c in floor_cover(settings)}
    for i, f in enumerate(settings.floors):
        cover = covers[f.id]
        if f.area_m2 > cover.plan_m2 * (1 + AREA_TOLERANCE):
            out.append(
                (
                    ("floors", i, "area_m2"),
                    f"{f.area_m2:g} m2 is more than its plan holds ({f.plan.width_m:g} x"
                    f" {f.plan.depth_m:g} m = {cover.plan_m2:.4g} m2)",
                )
            )
        elif cover.outlined_m2 > f.area_m2 * (1 + AREA_TOLERANCE):
            out.append(
                (
                    ("floors", i, "area_m2"),
                    f"its zones outline {cover.outlined_m2:.4g} m2, more than its {f.area_m2:g} m2",
                )
            )
    return out


# --------------------------------------------------------------------------- counters, credentials


def counter_errors(settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    owner: dict[int, tuple[int, str]] = {}
    for i, svc in enumerate(settings.services):
        for k, counter in enumerate(svc.counters):
            seen = owner.get(counter)
            if seen is None:
                owner[counter] = (i, svc.id)
            elif seen[0] == i:
                out.append((("services", i, "counters", k), f"counter {counter} is listed twice"))
            else:
                out.append(
                    (
                        ("services", i, "counters", k),
                        f"counter {counter} is also in service {seen[1]!r} (services[{seen[0]}]):"
                        " a counter belongs to one service group (its capacity would count"
                        " twice in the expected waits)",
                    )
                )
    return out


def seat_errors(settings: Settings) -> list[Finding]:
    """A counter-seat sensor names a counter of a service group and is a presence sensor."""
    out: list[Finding] = []
    counters = {c for svc in settings.services for c in svc.counters}
    for i, sensor in enumerate(settings.sensors):
        if sensor.counter is None:
            continue
        if sensor.kind is not SensorKind.PRESENCE:
            out.append(
                (
                    ("sensors", i, "counter"),
                    f"only a presence sensor watches a counter seat (this one is"
                    f" {sensor.kind.value})",
                )
            )
        elif sensor.counter not in counters:
            known = ", ".join(str(c) for c in sorted(counters)) or "none"
            out.append(
                (
                    ("sensors", i, "counter"),
                    f"counter {sensor.counter} is in no service group (services[].counters:"
                    f" {known})",
                )
            )
    return out


def seat_warnings(settings: Settings) -> list[Finding]:
    """A seat sensor that goes stale before a vacant seat is called closed."""
    out: list[Finding] = []
    vacant = settings.seats.vacant_after_s
    for i, sensor in enumerate(settings.sensors):
        if sensor.counter is None or sensor.kind is not SensorKind.PRESENCE:
            continue
        stale = sensor.interval_s * settings.alerts.sensor_stale_factor
        if vacant >= stale:
            out.append(
                (
                    ("sensors", i, "interval_s"),
                    f"seats.vacant_after_s ({vacant:g} s) is longer than this seat sensor's"
                    f" stale age ({stale:g} s): set interval_s to the sensor's heartbeat (a"
                    " PIR that reports only on change repeats its state every hour or so),"
                    " else a vacant seat turns unknown before it is closed",
                )
            )
    return out


def credential_errors(settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    for i, cam in enumerate(settings.cameras):
        ep = cam.onvif
        if "username" in ep.model_fields_set and ep.password is None:
            out.append(
                (
                    ("cameras", i, "onvif", "password"),
                    f"user {ep.username!r} has no password: add password: {{env: NAME}} or"
                    " {file: PATH}, or leave out username for a camera without login",
                )
            )
    influx = settings.influxdb
    if influx.protocol == "v1" and influx.username is not None and influx.password is None:
        out.append(
            (
                ("influxdb", "password"),
                f"user {influx.username!r} has no password: add password: {{env: NAME}} or"
                " {file: PATH}, or leave out username when InfluxDB has no authentication",
            )
        )
    return out


def credential_warnings(settings: Settings) -> list[Finding]:
    """MQTT allows a user name alone, but a broker with accounts refuses it."""
    m = settings.mqtt
    if m.username is not None and m.password is None:
        return [
            (
                ("mqtt", "password"),
                f"user {m.username!r} has no password: a broker with accounts refuses the"
                " connection; add password: {env: MQTT_PASSWORD}",
            )
        ]
    return []


# --------------------------------------------------------------------------- people sources


def people_sources(settings: Settings) -> dict[str, list[str]]:
    """Per zone id, where its occupancy comes from (fusion's own view, in its order)."""
    has_queue = any(s.kind is SensorKind.QUEUE for s in settings.sensors)
    out: dict[str, list[str]] = {}
    for spec in zone_specs(settings):
        sources = [f"camera {c}" for c in spec.cameras]
        sources += [f"presence {p}" for p in spec.presence]
        sources += [f"door counter {d}" for d in spec.door_sensors]
        if spec.services and has_queue:
            sources.append("queue tickets")
        out[spec.id] = sources
    return out


def people_source_warnings(settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    by_zone = people_sources(settings)
    for i, z in enumerate(settings.zones):
        sources = by_zone[z.id]
        if not z.counted:
            if sources:
                out.append(
                    (
                        ("zones", i, "counted"),
                        f"false, but the zone has people sources ({', '.join(sources)}):"
                        " they are not shown",
                    )
                )
            continue
        if not sources:
            out.append(
                (
                    ("zones", i),
                    f"zone {z.id!r} has no people source (no camera ROI or counting rule,"
                    " presence sensor, door counter with door_balance, or queue tickets):"
                    " the control room shows it as 'no data' and its crowd and capacity"
                    " alerts cannot fire; write counted: false if that is meant",
                )
            )
        elif sources == ["queue tickets"]:
            out.append(
                (
                    ("zones", i),
                    f"zone {z.id!r} is counted only from waiting tickets, a lower bound (not"
                    " everybody holds a ticket): add a camera ROI or a presence sensor for a"
                    " true count",
                )
            )
    return out
