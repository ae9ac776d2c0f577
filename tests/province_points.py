"""What ``fleet run`` writes to the central store for two centers, for the province dashboard's
tests: zone states, an alert, the uplink's hourly and health records (``central_lines``) and
alert transitions (``alert_lines``), every line through ``gateway.fleet.central.record_lines``
(the central writer), none written by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.fleet.central import record_lines
from gateway.fleet.hourly_records import HealthSummary, HourSummary, KindHour, ServiceHour, ZoneHour
from gateway.fleet.messages import (
    FleetMessage,
    FleetSubjects,
    alert_message,
    decode,
    health_message,
    hourly_message,
    zone_message,
)
from gateway.live import AlertState, Severity
from tests.integration.test_fleet_central import alert, zone

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # test_fleet_central's zone() and alert() times
SITES = {"ba-dinh": 1, "hoan-kiem": 3}  # people factor
PROVINCE = "ha-noi"


def _summaries(factor: int) -> tuple[HourSummary, HealthSummary]:
    end = T0 + timedelta(hours=1)
    local = T0 + timedelta(hours=7)
    service = ServiceHour(8, 8, 8, 120.0, 300.0 * factor, 600.0, 2, None)
    hour = HourSummary(
        T0, end, local, {"waiting": ZoneHour(12.5 * factor, 20, 3600.0)}, {"land": service}
    )
    health = HealthSummary(T0, end, local, {"camera": KindHour(2, 2, 1, factor - 1, 0.0)}, {})
    return hour, health


def central_lines(province: str = PROVINCE) -> list[str]:
    """Line protocol as the central writer writes it: per site, zones ``waiting`` and
    ``entrance`` every 10 minutes for 2 hours from T0 (count (10 + minute // 10) * factor,
    expected wait 60 * factor * minute s), one raised alert, the hour T0's aggregates
    (people mean 12.5 * factor, wait p90 300 * factor s, factor - 1 cameras down)."""
    lines: list[str] = []
    for site, factor in SITES.items():
        subjects = FleetSubjects("floorwatch", province, site)
        messages = []
        for minute in range(0, 120, 10):
            for zone_id in ("waiting", "entrance"):
                state = dataclasses.replace(
                    zone(minute, (10 + minute // 10) * factor, zone_id),
                    expected_wait_s=60.0 * factor * minute,
                )
                messages.append(zone_message(subjects, state))
        messages.append(alert_message(subjects, alert(AlertState.ACTIVE, 5), "raised"))
        hour, health = _summaries(factor)
        messages += [hourly_message(subjects, hour), health_message(subjects, health)]
        for m in messages:
            lines += record_lines(decode("floorwatch", m.subject, m.payload))
    return lines


def alert_lines(province: str = PROVINCE) -> tuple[list[str], list[str]]:
    """Two batches of what the central writer writes for alert transitions (the second a
    redelivery of one message): ba-dinh raises 3 alerts between T0 and T0+1h (a warning twice,
    acknowledged and resolved between, and a critical), hoan-kiem 1 in the next hour (a warning,
    renotified, resolved)."""

    def message(site: str, transition: str, minute: int, **change: Any) -> FleetMessage:
        state = AlertState.RESOLVED if transition == "resolved" else AlertState.ACTIVE
        a = dataclasses.replace(alert(state, minute), **change)
        return alert_message(FleetSubjects("floorwatch", province, site), a, transition)

    climate = {"id": "co2-entrance", "rule": "co2", "severity": Severity.CRITICAL}
    first = message("ba-dinh", "raised", 5)
    messages = [
        first,
        message("ba-dinh", "acknowledged", 10, state=AlertState.ACKNOWLEDGED),
        message("ba-dinh", "resolved", 20),
        message("ba-dinh", "raised", 30),
        message("ba-dinh", "raised", 40, zone_id="entrance", **climate),
        message("hoan-kiem", "raised", 70),
        message("hoan-kiem", "renotified", 80),
        message("hoan-kiem", "resolved", 90),
    ]

    def lines(batch: list[FleetMessage]) -> list[str]:
        return [
            line for m in batch for line in record_lines(decode("floorwatch", m.subject, m.payload))
        ]

    return lines(messages), lines([first])


def numeric_metrics(lines: list[str]) -> dict[str, set[str]]:
    """VictoriaMetrics' metric names (``<measurement>_<field>``) of the numeric and boolean
    fields of ``lines``, each with its tag keys (string fields it keeps as the value 0)."""
    out: dict[str, set[str]] = {}
    for line in lines:
        head, fields, _ = _split(line)
        measurement, *tags = head.split(",")
        keys = {t.split("=", 1)[0] for t in tags}
        for name, value in fields:
            if not value.startswith('"'):
                out.setdefault(f"{measurement}_{name}", set()).update(keys)
    return out


def _split(line: str) -> tuple[str, list[tuple[str, str]], str]:
    """(measurement and tags, fields, timestamp) of a line whose strings hold no ``,`` ``=``
    or unescaped space outside quotes (ours: ids, and messages in quotes)."""
    parts, current, quoted, escaped = [], "", False, False
    for ch in line:
        if escaped:
            current, escaped = current + ch, False
        elif ch == "\\":
            current, escaped = current + ch, True
        elif ch == '"':
            current, quoted = current + ch, not quoted
        elif ch == " " and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    head, fields, stamp = parts
    pairs, field, quoted = [], "", False
    for ch in fields + ",":
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            name, value = field.split("=", 1)
            pairs.append((name, value))
            field = ""
        else:
            field += ch
    return head, pairs, stamp
