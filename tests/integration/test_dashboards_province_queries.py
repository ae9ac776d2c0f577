"""Every province dashboard query runs against a real InfluxDB 1.x holding what ``fleet run``
writes (zone states and alert transitions through gateway.fleet.central.record_lines, the
uplink's hourly aggregates as their lines), expanded the way Grafana's datasource does."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dashboards.build import build_province, dashboard_json
from dashboards.influxql import expand, grafana_interval
from dashboards.province import ProvinceView
from gateway.fleet.central import record_lines
from gateway.fleet.messages import FleetSubjects, alert_message, decode, zone_message
from gateway.live import AlertState
from gateway.peers.influxdb1 import InfluxDB1Server
from tests.integration.test_fleet_central import alert, zone
from tests.province_points import alert_lines

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # test_fleet_central's zone() and alert() times
SITES = {"ba-dinh": 1, "hoan-kiem": 3}  # people factor
VIEW = ProvinceView("Asia/Ho_Chi_Minh", ("ha-noi",), (("ba-dinh", "TT Ba Đình"),))


def fleet_lines() -> list[str]:
    lines: list[str] = []
    for site, factor in SITES.items():
        subjects = FleetSubjects("floorwatch", "ha-noi", site)
        messages = []
        for minute in range(0, 120, 10):
            for zone_id in ("waiting", "entrance"):
                state = dataclasses.replace(
                    zone(minute, (10 + minute // 10) * factor, zone_id),
                    expected_wait_s=60.0 * factor * minute,
                )
                messages.append(zone_message(subjects, state))
        messages.append(alert_message(subjects, alert(AlertState.ACTIVE, 5), "raised"))
        for m in messages:
            lines += record_lines(decode("floorwatch", m.subject, m.payload))
        hour = int(T0.timestamp())
        where = f"province=ha-noi,site={site}"
        lines += [
            f"zone_hourly,{where},zone=waiting people_mean={12.5 * factor},people_max=20i {hour}000000000",
            f"service_hourly,{where},service=land wait_p90_s={300.0 * factor},waits=8i {hour}000000000",
            f"device_hourly,{where},kind=camera configured=2i,online=1i,down={factor - 1}i {hour}000000000",
        ]
    return lines


def test_every_province_panel_query_returns_series(
    influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    influxdb1.create_database(influxdb1_database)
    r = httpx.post(
        f"{influxdb1.url}/write",
        params={"db": influxdb1_database},
        content="\n".join(fleet_lines()),
    )
    assert r.status_code == 204, r.text
    board = dashboard_json(build_province(VIEW))
    variables: dict[str, Any] = {}
    for variable in board["templating"]["list"]:
        q = expand(variable["query"], from_ms=0, to_ms=0, interval_ms=1, variables=variables)
        found = sorted(
            {
                row[1]
                for s in influxdb1.query(q, influxdb1_database).get("series", [])
                for row in s["values"]
            }
        )
        assert found, variable["name"]
        variables[variable["name"]] = found
    assert variables == {"province": ["ha-noi"], "site": ["ba-dinh", "hoan-kiem"]}
    from_ms = int((T0 - timedelta(hours=1)).timestamp() * 1000)
    to_ms = int((T0 + timedelta(hours=3)).timestamp() * 1000)
    results: dict[str, dict[str, list[Any]]] = {}
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            query = expand(
                target["query"],
                from_ms=from_ms,
                to_ms=to_ms,
                interval_ms=grafana_interval(from_ms, to_ms, 800, "30s"),
                variables=variables,
            )
            series = influxdb1.query(query, influxdb1_database).get("series", [])
            label = "severity" if target["alias"] == "$tag_severity" else "site"
            got = {
                s.get("tags", {}).get(label, ""): [v for _, v in s["values"] if v is not None]
                for s in series
            }
            if target["alias"] == "$tag_site":
                assert set(got) == set(SITES), f"{panel['title']}: {query}"
                results[panel["title"]] = got
            else:  # the province's total, the severities
                results[f"{panel['title']} / {target['alias']}"] = got
    # people now: the zones' latest counts summed (minute 110: 21 per zone, times the factor)
    assert results["Số người lúc này theo trung tâm"] == {"ba-dinh": [42], "hoan-kiem": [126]}
    assert results["Thời gian chờ dự kiến lâu nhất lúc này"] == {
        "ba-dinh": [110.0],
        "hoan-kiem": [330.0],
    }
    assert results["Thiết bị hỏng trong giờ gần nhất"] == {"ba-dinh": [0], "hoan-kiem": [2]}
    assert results["Cảnh báo mới theo giờ"] == {"ba-dinh": [1], "hoan-kiem": [1]}
    assert results["Cảnh báo mới theo giờ / Cả tỉnh"] == {"": [2]}
    assert results["Cảnh báo mới theo giờ và mức độ / $tag_severity"] == {"warning": [2]}
    assert results["Bảng xếp hạng thời gian chờ (30 ngày)"] == {
        "ba-dinh": [5.0],
        "hoan-kiem": [15.0],
    }


def test_new_alerts_per_hour_on_influxdb(
    influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    """The alert panels' InfluxQL over the same transitions as the VictoriaMetrics test: counted
    from the string ``transition`` beside the new integer field (no type conflict), the
    redelivered raise overwriting its point; ``time(1h)`` labels an hour by its start."""
    influxdb1.create_database(influxdb1_database)
    batch, again = alert_lines("ha-noi")
    for lines in (batch, again):
        r = httpx.post(
            f"{influxdb1.url}/write", params={"db": influxdb1_database}, content="\n".join(lines)
        )
        assert r.status_code == 204, r.text
    view = ProvinceView("Asia/Ho_Chi_Minh", ("ha-noi",), (), store="influxql")
    panels = {p["title"]: p for p in dashboard_json(build_province(view, "en"))["panels"]}
    targets = [
        *panels["New alerts per hour"]["targets"],
        *panels["New alerts per hour by severity"]["targets"],
    ]
    from_ms = int(T0.timestamp() * 1000)
    to_ms = int((T0 + timedelta(hours=3)).timestamp() * 1000)
    variables = {"province": ["ha-noi"], "site": sorted(SITES)}
    h0 = int(T0.timestamp()) * 10**9  # the hours' starts, in the query's ns
    h1 = h0 + 3600 * 10**9
    got: dict[str, dict[str, dict[int, int]]] = {}
    for target in targets:
        query = expand(
            target["query"],
            from_ms=from_ms,
            to_ms=to_ms,
            interval_ms=grafana_interval(from_ms, to_ms, 800, "30s"),
            variables=variables,
        )
        label = target["alias"].removeprefix("$tag_")
        got[target["alias"]] = {
            s.get("tags", {}).get(label, ""): {t: v for t, v in s["values"] if v is not None}
            for s in influxdb1.query(query, influxdb1_database).get("series", [])
        }
    assert got["$tag_site"] == {"ba-dinh": {h0: 3}, "hoan-kiem": {h1: 1}}
    assert got["Province"] == {"": {h0: 3, h1: 1}}
    assert got["$tag_severity"] == {"warning": {h0: 2, h1: 1}, "critical": {h0: 1}}
    fields = influxdb1.query('SHOW FIELD KEYS FROM "alerts"', influxdb1_database)["series"][0]
    assert ["raised", "integer"] in fields["values"]
    assert ["transition", "string"] in fields["values"]
