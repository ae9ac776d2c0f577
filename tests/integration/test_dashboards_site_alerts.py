"""The control room's "New alerts per hour" against real peers, over a site's own ``alerts``
points (gateway.points.alert_lines) written by the site gateway's own clients
(gateway.influx_writer.make_client): the panel's exact InfluxQL, expanded as Grafana's
datasource does, on InfluxDB 1.x; on VictoriaMetrics (which runs no InfluxQL, and the site
dashboards have no PromQL) the integer ``raised`` field those points now carry, counted
by PromQL as docs/storage.md shows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboards.build import build_dashboards, dashboard_json
from dashboards.influxql import expand, grafana_interval
from gateway.config_loader import load_settings
from gateway.influx_writer import make_client
from gateway.live import Alert, AlertState, Severity
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.victoriametrics import VictoriaMetricsServer
from gateway.points import alert_lines
from gateway.settings import InfluxConfig

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, an hour's start
H0 = int(T0.timestamp())
H1 = H0 + 3600


def _alert(
    id_: str, minute: int, severity: Severity, *, zone: str | None, device: str | None = None
) -> Alert:
    at = T0 + timedelta(minutes=minute)
    return Alert(
        id=id_,
        rule=id_.split(":")[0],
        severity=severity,
        state=AlertState.ACTIVE,
        zone_id=zone,
        device_id=device,
        message=f"{id_} at {minute}",
        value=1.0,
        threshold=0.8,
        raised_at=at,
        updated_at=at,
    )


def _moved(alert: Alert, minute: int, state: AlertState) -> Alert:
    at = T0 + timedelta(minutes=minute)
    return dataclasses.replace(alert, state=state, updated_at=at)


def scenario(site: str) -> tuple[list[str], list[str], list[str]]:
    """(the engine's lines, a redelivery of the first raise, a raise written before the
    integer field existed). Raised in the hour H0: 3 warnings (one of them a device's alert,
    no zone) and 1 critical; in H1: 1 info, and the old point's warning. The renotified,
    acknowledged and resolved transitions count for nothing."""
    crowd = _alert("crowd_level:f2-waiting", 5, Severity.WARNING, zone="f2-waiting")
    again = _alert("crowd_level:f2-waiting", 30, Severity.WARNING, zone="f2-waiting")
    co2 = _alert("co2_high:f2-counters", 40, Severity.CRITICAL, zone="f2-counters")
    camera = _alert("camera_offline:cam-1", 45, Severity.WARNING, zone=None, device="cam-1")
    battery = _alert("battery_low:th-1", 70, Severity.INFO, zone="f1-hall", device="th-1")
    transitions = [
        (crowd, "raised"),
        (_moved(crowd, 10, AlertState.ACTIVE), "renotified"),
        (_moved(crowd, 15, AlertState.ACKNOWLEDGED), "acknowledged"),
        (_moved(crowd, 20, AlertState.RESOLVED), "resolved"),
        (again, "raised"),
        (co2, "raised"),
        (camera, "raised"),
        (_moved(camera, 50, AlertState.RESOLVED), "resolved"),
        (battery, "raised"),
        (_moved(battery, 90, AlertState.RESOLVED), "resolved"),
    ]
    lines = [line for a, kind in transitions for line in alert_lines(site, a, kind)]
    old = _alert("capacity:f2-waiting", 75, Severity.WARNING, zone="f2-waiting")
    [old_line] = alert_lines(site, old, "raised")
    assert ",raised=1i," in old_line
    return lines, alert_lines(site, crowd, "raised"), [old_line.replace(",raised=1i,", ",")]


def _panel_query() -> str:
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    board = dashboard_json(build_dashboards(settings, "en")[0])
    assert board["uid"] == "floorwatch-control-room"
    [panel] = [p for p in board["panels"] if p["title"] == "New alerts per hour"]
    [target] = panel["targets"]
    assert target["alias"] == "$tag_severity"
    query: str = target["query"]
    return query


def test_new_alerts_per_hour_on_influxdb(
    influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    site = "hcc-demo"
    config = InfluxConfig(url=influxdb1.url, protocol="v1", database=influxdb1_database)
    client = make_client(config)
    try:
        client.prepare()
        for batch in scenario(site):
            client.write("\n".join(batch))
        client.write(
            "\n".join(alert_lines("elsewhere", _alert("x:y", 5, Severity.INFO, zone="y"), "raised"))
        )
    finally:
        client.close()
    from_ms = (H0 - 3600) * 1000
    to_ms = (H0 + 3 * 3600) * 1000  # Grafana's "now-6h" is wider; the panel's hours are fixed
    query = expand(
        _panel_query(),
        from_ms=from_ms,
        to_ms=to_ms,
        interval_ms=grafana_interval(from_ms, to_ms, 800, "30s"),
        variables={"site": [site]},
    )
    series = influxdb1.query(query, influxdb1_database, epoch="s").get("series", [])
    got = {s["tags"]["severity"]: dict(s["values"]) for s in series}
    # time(1h) labels an hour by its start; the redelivered raise is the same point, the
    # old point (no integer field) counts from its string like the others
    assert got == {"warning": {H0: 3, H1: 1}, "critical": {H0: 1}, "info": {H1: 1}}
    fields = influxdb1.query('SHOW FIELD KEYS FROM "alerts"', influxdb1_database)["series"][0]
    assert ["raised", "integer"] in fields["values"]
    assert ["resolved", "integer"] in fields["values"]
    assert ["transition", "string"] in fields["values"]


def _vm(vm: VictoriaMetricsServer, expr: str, start: int, end: int) -> list[dict[str, Any]]:
    params = {"query": expr, "start": start, "end": end, "step": 3600}
    r = httpx.post(f"{vm.url}/api/v1/query_range", data=params, timeout=30.0)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_the_site_points_integer_fields_count_on_victoriametrics(
    victoriametrics: VictoriaMetricsServer, victoriametrics_site: str
) -> None:
    site = victoriametrics_site
    config = InfluxConfig(protocol="v2", url=victoriametrics.url, bucket="site", timeout_s=10)
    client = make_client(config)
    try:
        for batch in scenario(site):
            client.write("\n".join(batch))
    finally:
        client.close()
    victoriametrics.force_flush()
    expr = f'sum by (severity) (count_over_time(alerts_raised{{site="{site}"}}[1h]))'
    got = {
        s["metric"]["severity"]: {int(t): float(v) for t, v in s["values"]}
        for s in _vm(victoriametrics, expr, H0, H0 + 3 * 3600)
    }
    # a step at t counts (t - 1h, t]: the hour H0's raises at H1; the redelivered raise
    # once (the peer's dedup); the old point, without the integer, not at all
    assert got == {"warning": {H1: 3.0}, "critical": {H1: 1.0}, "info": {H1 + 3600: 1.0}}
    for kind, n in (("renotified", 1.0), ("acknowledged", 1.0), ("resolved", 3.0)):
        total = f'sum(count_over_time(alerts_{kind}{{site="{site}"}}[3h]))'
        [series] = _vm(victoriametrics, total, H0 + 3 * 3600, H0 + 3 * 3600)
        assert float(series["values"][0][1]) == n, kind
    # why the integer: the string transition is there, but as 0 whatever it says
    states = f'max_over_time(alerts_transition{{site="{site}"}}[3h])'
    assert {
        float(v)
        for s in _vm(victoriametrics, states, H0 + 3 * 3600, H0 + 3 * 3600)
        for _, v in s["values"]
    } == {0.0}
