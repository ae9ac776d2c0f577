"""The central side's pure logic: a fleet record to points, and a site's latest state.

Pure module. ``record_lines`` turns one decoded message into line-protocol
points whose series (measurement + tags) and timestamp depend only on the
message: a redelivered message writes the same point again, and InfluxDB (or
VictoriaMetrics) keeps one; a heartbeat gives none (the site document holds
the latest, which is all the page reads: docs/fleet.md). ``merge_site_state``
folds a record into the site's state document kept in the ``fleet_sites``
key-value bucket (``merge_site_records`` a batch's records of one site, with one
copy of the document); it keeps the newer of two values per zone, device, alert
and kind, so a late or redelivered message never moves the state back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from gateway.fleet.messages import FleetKind, FleetRecord, loads
from gateway.points import ALERT_TRANSITIONS, escape_name, quote_string, timestamp_ns

STATE_VERSION = 1
#: Resolved alerts remembered per site (so a late "raised" cannot reopen one); the
#: oldest go first. A late message older than the 500th last resolution is rare.
CLOSED_ALERTS_KEPT = 500
_OPEN_STATES = ("active", "acknowledged")


def _tags(pairs: list[tuple[str, str]]) -> str:
    """``,k=v`` for each non-empty value, keys sorted (InfluxDB's canonical order)."""
    return "".join(f",{escape_name(k)}={escape_name(v)}" for k, v in sorted(pairs) if v)


def _number(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return repr(f) if f == f and f not in (float("inf"), float("-inf")) else None


def _int(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return f"{value}i"


def _str(value: object) -> str | None:
    return quote_string(value) if isinstance(value, str) else None


def _bool(value: object) -> str | None:
    return ("true" if value else "false") if isinstance(value, bool) else None


def _fields(body: dict[str, Any], spec: list[tuple[str, str, Any]]) -> list[str]:
    out = []
    for field, key, fmt in spec:
        text = fmt(body.get(key))
        if text is not None:
            out.append(f"{escape_name(field)}={text}")
    return out


def _line(measurement: str, tags: list[tuple[str, str]], fields: list[str], at: datetime) -> str:
    return f"{measurement}{_tags(tags)} {','.join(fields)} {timestamp_ns(at)}"


def record_lines(record: FleetRecord) -> list[str]:
    """The points of one fleet message, tagged with province and site.

    A live kind gives zero or one line; an hourly, health or plan record one
    line per zone, service, device kind, device down or planned hour, each
    stamped with its hour's start.
    """
    b = record.body
    where = [("province", record.province), ("site", record.site)]
    if record.kind is FleetKind.HEARTBEAT:  # the site document holds the latest: no point
        return []
    if record.kind in _HOURLY_LINES:
        return _HOURLY_LINES[record.kind](b, where, record.at)
    if record.kind is FleetKind.ZONE:
        if b.get("method") == "none":  # nothing counts the zone: its 0 means "not known"
            return []
        tags = [*where, ("source", "fused"), ("zone", str(b["zone_id"]))]
        fields = _fields(
            b,
            [
                ("count", "occupancy", _int),
                ("density", "density_per_m2", _number),
                ("capacity_ratio", "capacity_ratio", _number),
                ("confidence", "confidence", _number),
                ("expected_wait_s", "expected_wait_s", _number),
                ("level", "level", _str),
                ("method", "method", _str),
                ("los", "level_of_service", _str),
                ("disagreement", "disagreement", _bool),
                ("waiting", "waiting_tickets", _int),
            ],
        )
        measurement = "zone_occupancy"
    elif record.kind is FleetKind.ALERT:
        tags = [
            *where,
            ("device", str(b.get("device_id") or "")),
            ("rule", str(b.get("rule") or "")),
            ("severity", str(b.get("severity") or "")),
            ("zone", str(b.get("zone_id") or "")),
        ]
        fields = [f"transition={quote_string(record.transition or '')}"]
        if record.transition in ALERT_TRANSITIONS:  # a number VictoriaMetrics keeps
            fields.append(f"{record.transition}=1i")
        fields += _fields(
            b,
            [
                ("state", "state", _str),
                ("alert_id", "id", _str),
                ("message", "message", _str),
                ("notifications", "notifications", _int),
                ("value", "value", _number),
                ("threshold", "threshold", _number),
            ],
        )
        measurement = "alerts"
    else:  # FleetKind.DEVICE
        tags = [*where, ("device", str(b["device_id"])), ("kind", str(b.get("kind") or ""))]
        fields = _fields(
            b,
            [
                ("online", "online", _bool),
                ("detail", "detail", _str),
                ("battery", "battery_pct", _number),
                ("linkquality", "linkquality", _number),
                ("fps", "fps", _number),
                ("latency_ms", "latency_ms", _number),
            ],
        )
        measurement = "device_health"
    return [_line(measurement, tags, fields, record.at)] if fields else []


# --------------------------------------------------------------------------- hourly kinds


def _entries(body: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    value = body.get(key)
    if not isinstance(value, dict):
        return []
    return [(str(k), v) for k, v in sorted(value.items()) if isinstance(v, dict)]


def _hourly_lines(body: dict[str, Any], where: list[tuple[str, str]], at: datetime) -> list[str]:
    lines = []
    for zone, z in _entries(body, "zones"):
        fields = _fields(
            z,
            [
                ("people_mean", "people_mean", _number),
                ("people_max", "people_max", _int),
                ("covered_s", "covered_s", _number),
            ],
        )
        if fields:
            lines.append(_line("zone_hourly", [*where, ("zone", zone)], fields, at))
    for service, s in _entries(body, "services"):
        fields = _fields(
            s,
            [
                ("tickets", "tickets", _int),
                ("called", "called", _int),
                ("waits", "waits", _int),
                ("wait_p50_s", "wait_p50_s", _number),
                ("wait_p90_s", "wait_p90_s", _number),
                ("wait_max_s", "wait_max_s", _number),
                ("counters_open", "counters_open", _int),
                ("counters_planned", "counters_planned", _int),
                ("counters_open_mean", "counters_open_mean", _number),
                ("counters_source", "counters_source", _str),
            ],
        )
        if fields:
            lines.append(_line("service_hourly", [*where, ("service", service)], fields, at))
    return lines


def _health_lines(body: dict[str, Any], where: list[tuple[str, str]], at: datetime) -> list[str]:
    lines = []
    for kind, k in _entries(body, "kinds"):
        fields = _fields(
            k,
            [
                ("configured", "configured", _int),
                ("reported", "reported", _int),
                ("online", "online", _int),
                ("down", "down", _int),
                ("downtime_s", "downtime_s", _number),
            ],
        )
        if fields:
            lines.append(_line("device_hourly", [*where, ("kind", kind)], fields, at))
    for device, d in _entries(body, "devices"):
        tags = [*where, ("device", device), ("kind", str(d.get("kind") or ""))]
        fields = _fields(d, [("downtime_s", "downtime_s", _number), ("online", "online", _bool)])
        if fields:
            lines.append(_line("device_downtime", tags, fields, at))
    return lines


def _plan_lines(body: dict[str, Any], where: list[tuple[str, str]], _: datetime) -> list[str]:
    """One ``staffing_plan`` point per group and planned hour, at the hour's start."""
    lines = []
    for service, g in _entries(body, "groups"):
        hours = g.get("hours")
        for h in hours if isinstance(hours, list) else []:
            if not isinstance(h, dict) or not isinstance(h.get("hour"), str):
                continue
            try:
                start = datetime.fromisoformat(h["hour"])
            except ValueError:
                continue
            if start.tzinfo is None:
                continue
            fields = _fields(
                {**h, "available": g.get("available")},
                [
                    ("counters", "counters", _int),
                    ("needed", "needed", _int),
                    ("available", "available", _int),
                    ("short", "short", _bool),
                    ("arrivals", "arrivals", _number),
                    ("expected_wait_s", "expected_wait_s", _number),
                    ("service_level", "service_level", _number),
                ],
            )
            if fields:
                lines.append(_line("staffing_plan", [*where, ("service", service)], fields, start))
    return lines


_HOURLY_LINES = {
    FleetKind.HOURLY: _hourly_lines,
    FleetKind.HEALTH: _health_lines,
    FleetKind.PLAN: _plan_lines,
}


# --------------------------------------------------------------------------- site state


def _newer(entry: object, at: str) -> bool:
    """True when ``at`` is later than the entry's ``at`` (or there is no entry)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("at"), str):
        return True
    return datetime.fromisoformat(at) > datetime.fromisoformat(entry["at"])


def merge_site_state(previous: dict[str, Any] | None, record: FleetRecord) -> dict[str, Any]:
    """The site's state document after ``record``; ``previous`` is not changed.

    Keys: ``province``, ``site``, ``last_seen`` (the latest record time, a
    heartbeat's included), ``last_data`` (the latest record time but
    heartbeats'), ``heartbeat`` (the latest: at, uptime_s, queue,
    devices_online, devices_configured), ``certificates`` (the center's own, from
    the latest heartbeat carrying them: at, list; gateway.fleet.site_certs),
    ``kinds`` (per kind but heartbeat:
    the time and id of its latest message), ``zones``
    (per zone: occupancy, capacity ratio, level, at), ``devices`` (per
    device: online, detail, at) and ``alerts`` (the open ones: rule,
    severity, state, zone, at; a resolved alert leaves).
    """
    state: dict[str, Any] = _copy(previous) if previous else {}
    _merge_into(state, record)
    return state


def merge_site_records(
    previous: dict[str, Any] | None, records: Sequence[FleetRecord]
) -> dict[str, Any] | None:
    """``merge_site_state`` over ``records`` in turn, with one copy of ``previous`` instead
    of one per record (a batch's records of one site); ``previous`` itself when there are
    no records. ``previous`` is not changed."""
    if not records:
        return previous
    state: dict[str, Any] = _copy(previous) if previous else {}
    for record in records:
        _merge_into(state, record)
    return state


def _merge_into(state: dict[str, Any], record: FleetRecord) -> None:
    """Fold one record into ``state`` in place."""
    state.update({"v": STATE_VERSION, "province": record.province, "site": record.site})
    for key in ("kinds", "zones", "devices", "alerts", "closed_alerts", "hours"):
        state.setdefault(key, {})
    at = record.at.isoformat()
    b = record.body
    if "last_data" not in state and "heartbeat" not in state and state.get("last_seen"):
        state["last_data"] = state["last_seen"]  # a document from before heartbeats
    if _newer({"at": state.get("last_seen")} if state.get("last_seen") else None, at):
        state["last_seen"] = at
    if record.kind is FleetKind.HEARTBEAT:
        if _newer(state.get("heartbeat"), at):
            state["heartbeat"] = {"at": at, **{k: b.get(k) for k in _HEARTBEAT_KEPT}}
        if "certificates" in b and _newer(state.get("certificates"), at):  # not in every beat
            state["certificates"] = {"at": at, "list": b["certificates"]}
        return
    if _newer({"at": state.get("last_data")} if state.get("last_data") else None, at):
        state["last_data"] = at
    kind = record.kind.value
    if _newer(state["kinds"].get(kind), at):
        ident = b.get("zone_id") or b.get("id") or b.get("device_id") or b.get("hour")
        state["kinds"][kind] = {"at": at, "id": ident}
    if record.kind in (FleetKind.HOURLY, FleetKind.HEALTH):
        if _newer({"at": state["hours"][kind]} if kind in state["hours"] else None, at):
            state["hours"][kind] = at
    elif record.kind is FleetKind.PLAN:
        if _newer(state.get("plan"), at):
            state["plan"] = {"at": at, "day": b.get("day"), "id": b.get("id")}
    elif record.kind is FleetKind.ZONE:
        zone_id = str(b["zone_id"])
        if _newer(state["zones"].get(zone_id), at):
            state["zones"][zone_id] = {
                "at": at,
                "occupancy": b.get("occupancy"),
                "capacity_ratio": b.get("capacity_ratio"),
                "level": b.get("level"),
                "expected_wait_s": b.get("expected_wait_s"),
            }
    elif record.kind is FleetKind.DEVICE:
        device_id = str(b["device_id"])
        if _newer(state["devices"].get(device_id), at):
            state["devices"][device_id] = {
                "at": at,
                "online": b.get("online"),
                "detail": b.get("detail"),
            }
    elif record.kind is FleetKind.ALERT:
        _merge_alert(state, record, at)


_HEARTBEAT_KEPT = ("uptime_s", "queue", "devices_online", "devices_configured")


def _merge_alert(state: dict[str, Any], record: FleetRecord, at: str) -> None:
    b = record.body
    alert_id = str(b["id"])
    alerts, closed = state["alerts"], state["closed_alerts"]
    if not _newer(alerts.get(alert_id), at) or not _newer(closed.get(alert_id), at):
        return
    if b.get("state") in _OPEN_STATES:
        alerts[alert_id] = {
            "at": at,
            "rule": b.get("rule"),
            "severity": b.get("severity"),
            "state": b.get("state"),
            "zone_id": b.get("zone_id"),
            "device_id": b.get("device_id"),
        }
        closed.pop(alert_id, None)
    else:
        alerts.pop(alert_id, None)
        closed[alert_id] = {"at": at}  # remembered so an older "raised" cannot reopen it
        if len(closed) > CLOSED_ALERTS_KEPT:
            newest = sorted(closed.items(), key=lambda kv: datetime.fromisoformat(kv[1]["at"]))
            state["closed_alerts"] = dict(newest[-CLOSED_ALERTS_KEPT:])


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document (orjson's round trip; ``json``'s for what orjson
    cannot write: an integer beyond 64 bits)."""
    try:
        copied: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    except orjson.JSONEncodeError:
        copied = json.loads(json.dumps(doc))
    return copied


def encode_state(state: dict[str, Any]) -> bytes:
    """The document as compact JSON, keys sorted (orjson; ``json`` for an integer beyond
    64 bits, which orjson cannot write)."""
    try:
        return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def decode_state(value: bytes | None) -> dict[str, Any] | None:
    """A stored state document; None for an empty or unreadable value (rebuilt from the next)."""
    if not value:
        return None
    try:
        data = loads(value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
