"""The province dashboard on a VictoriaMetrics central store, against real peers: every query
(the variables' ``label_values`` and every panel's PromQL) run the way Grafana's Prometheus
datasource runs it, against a real VictoriaMetrics holding what the central writer
(``record_lines``) writes; then ``floorwatch dashboards province-push`` to the Grafana API
server of test_dashboards_provision (Grafana itself cannot be installed here)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dashboards.build import build_province, dashboard_json
from dashboards.influxql import grafana_interval
from dashboards.province import ProvinceView
from gateway.cli import app
from gateway.influx_writer import make_client
from gateway.peers.process import free_port
from gateway.peers.victoriametrics import VictoriaMetricsServer
from gateway.settings import InfluxConfig
from tests.integration.test_dashboards_provision import TOKEN, FakeGrafana, grafana  # noqa: F401
from tests.province_points import SITES, T0, alert_lines, central_lines

pytestmark = pytest.mark.integration

VARIABLE = re.compile(r"label_values\((.+), ([a-z_]+)\)")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(interval: str) -> int:
    return int(interval[:-1]) * UNIT_S[interval[-1]]


def _expand(expr: str, variables: dict[str, list[str]], range_s: int, interval_s: int) -> str:
    """Grafana's Prometheus datasource: a multi-value variable as ``(a|b)``, ``$__range`` and
    ``$__interval`` in seconds (ids need no regex escaping: ``[a-z0-9_-]``)."""
    for name, values in variables.items():
        expr = expr.replace(f"${name}", values[0] if len(values) == 1 else f"({'|'.join(values)})")
    return expr.replace("$__range", f"{range_s}s").replace("$__interval", f"{interval_s}s")


def _values(vm: VictoriaMetricsServer, path: str, params: dict[str, Any]) -> Any:
    r = httpx.post(f"{vm.url}{path}", data=params, timeout=30.0)
    assert r.status_code == 200, (params, r.text)
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]


@pytest.fixture
def own_victoriametrics(tmp_path: Path) -> Iterator[VictoriaMetricsServer]:
    """A server of this test's own: the board's variables list every province and site the
    server holds, so the session's shared one would give other tests' too (by their order)."""
    server = VictoriaMetricsServer(tmp_path / "victoriametrics")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_every_query_runs_on_victoriametrics(own_victoriametrics: VictoriaMetricsServer) -> None:
    victoriametrics = own_victoriametrics
    province = f"p-{uuid.uuid4().hex[:10]}"
    lines = central_lines(province)
    r = httpx.post(
        f"{victoriametrics.url}/api/v2/write",
        params={"bucket": "province"},
        content="\n".join(lines),
    )
    assert r.status_code == 204, r.text
    victoriametrics.force_flush()
    view = ProvinceView(
        "Asia/Ho_Chi_Minh", (province,), (("ba-dinh", "TT Ba Đình"),), store="victoriametrics"
    )
    board = dashboard_json(build_province(view))
    frm, to = T0 - timedelta(hours=1), T0 + timedelta(hours=3)
    from_s, to_s = int(frm.timestamp()), int(to.timestamp())
    variables: dict[str, list[str]] = {}
    for variable in board["templating"]["list"]:
        match = VARIABLE.fullmatch(_expand(variable["query"], variables, 0, 0))
        assert match, variable["query"]
        selector, label = match.groups()
        found = _values(
            victoriametrics,
            f"/api/v1/label/{label}/values",
            {"match[]": selector, "start": from_s, "end": to_s},
        )
        variables[variable["name"]] = sorted(found)
    assert variables == {"province": [province], "site": sorted(SITES)}

    results: dict[str, dict[str, list[float]]] = {}
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            start_s = to_s - _seconds(panel["timeFrom"]) if panel.get("timeFrom") else from_s
            interval_ms = grafana_interval(start_s * 1000, to_s * 1000, 800, "30s")
            step = max(interval_ms // 1000, _seconds(target.get("interval") or "1s"))
            expr = _expand(target["expr"], variables, to_s - start_s, step)
            label = "severity" if target["legendFormat"] == "{{severity}}" else "site"
            if target["instant"]:
                data = _values(victoriametrics, "/api/v1/query", {"query": expr, "time": to_s})
                got = {s["metric"].get(label, ""): [float(s["value"][1])] for s in data["result"]}
            else:
                params = {"query": expr, "start": start_s // step * step, "end": to_s, "step": step}
                data = _values(victoriametrics, "/api/v1/query_range", params)
                got = {
                    s["metric"].get(label, ""): [float(v) for _, v in s["values"]]
                    for s in data["result"]
                }
            if target["legendFormat"] == "{{site}}":
                assert set(got) == set(SITES), f"{panel['title']}: {expr} -> {data}"
                results[panel["title"]] = got
            else:  # the province's total, the severities
                results[f"{panel['title']} / {target['legendFormat']}"] = got
    # the same figures as the InfluxQL board's test (test_dashboards_province_queries)
    assert results["Số người lúc này theo trung tâm"] == {"ba-dinh": [42.0], "hoan-kiem": [126.0]}
    assert results["Thời gian chờ dự kiến lâu nhất lúc này"] == {
        "ba-dinh": [110.0],
        "hoan-kiem": [330.0],
    }
    assert results["Khu vực đầy nhất lúc này (số người / sức chứa)"] == {
        "ba-dinh": [0.21],
        "hoan-kiem": [0.63],
    }
    assert results["Thiết bị hỏng trong giờ gần nhất"] == {"ba-dinh": [0.0], "hoan-kiem": [2.0]}
    assert results["Bảng xếp hạng thời gian chờ (30 ngày)"] == {
        "ba-dinh": [5.0],
        "hoan-kiem": [15.0],
    }
    measured = results["Thời gian chờ thực tế theo giờ (mức 90%)"]
    assert {site: max(v) for site, v in measured.items()} == {"ba-dinh": 5.0, "hoan-kiem": 15.0}
    # people over time: both zones' counts summed per step, from 20 (minute 0) to 42 (110)
    people = results["Số người theo trung tâm"]
    assert (min(people["ba-dinh"]), max(people["ba-dinh"])) == (20.0, 42.0)
    assert (min(people["hoan-kiem"]), max(people["hoan-kiem"])) == (60.0, 126.0)
    waits = results["Thời gian chờ dự kiến lâu nhất theo trung tâm"]
    assert {site: max(v) for site, v in waits.items()} == {"ba-dinh": 110.0, "hoan-kiem": 330.0}
    # one alert raised per center at minute 5: the InfluxQL board's counts
    assert results["Cảnh báo mới theo giờ"] == {"ba-dinh": [1.0], "hoan-kiem": [1.0]}
    assert results["Cảnh báo mới theo giờ / Cả tỉnh"] == {"": [2.0]}
    assert results["Cảnh báo mới theo giờ và mức độ / {{severity}}"] == {"warning": [2.0]}


def test_new_alerts_per_hour_on_victoriametrics(victoriametrics: VictoriaMetricsServer) -> None:
    """The alert panels' exact PromQL over what the central writer's v2 client wrote: raised
    transitions counted per hour, a redelivered one once, the other transitions not at all."""
    province = f"p-{uuid.uuid4().hex[:10]}"
    batch, again = alert_lines(province)
    client = make_client(
        InfluxConfig(protocol="v2", url=victoriametrics.url, bucket="province", timeout_s=10)
    )
    try:
        client.write("\n".join(batch))
        client.write("\n".join(again))  # JetStream redelivered the first raise
    finally:
        client.close()
    victoriametrics.force_flush()
    view = ProvinceView("Asia/Ho_Chi_Minh", (province,), (), store="victoriametrics")
    panels = {p["title"]: p for p in dashboard_json(build_province(view, "en"))["panels"]}
    targets = [
        *panels["New alerts per hour"]["targets"],
        *panels["New alerts per hour by severity"]["targets"],
    ]
    variables = {"province": [province], "site": sorted(SITES)}
    h1, h2 = int((T0 + timedelta(hours=1)).timestamp()), int((T0 + timedelta(hours=2)).timestamp())
    got: dict[str, dict[str, dict[int, float]]] = {}
    for target in targets:
        step = _seconds(target["interval"])  # a day's range: Grafana's interval is below 1h
        expr = _expand(target["expr"], variables, 86400, step)
        params = {"query": expr, "start": int(T0.timestamp()), "end": h2 + 3600, "step": step}
        data = _values(victoriametrics, "/api/v1/query_range", params)
        label = target["legendFormat"].strip("{}")
        got[target["legendFormat"]] = {
            s["metric"].get(label, ""): {int(t): float(v) for t, v in s["values"]}
            for s in data["result"]
        }
    # a bar at h1 counts (T0, h1], at h2 (h1, h2]
    assert got["{{site}}"] == {"ba-dinh": {h1: 3.0}, "hoan-kiem": {h2: 1.0}}
    assert got["Province"] == {"": {h1: 3.0, h2: 1.0}}
    assert got["{{severity}}"] == {"warning": {h1: 2.0, h2: 1.0}, "critical": {h1: 1.0}}
    # why the integer field: the string transition is stored, but as 0 (raised or not)
    where = f'province="{province}"'
    data = _values(
        victoriametrics,
        "/api/v1/query",
        {"query": f"max_over_time(alerts_transition{{{where}}}[3h])", "time": h2 + 3600},
    )
    assert {float(s["value"][1]) for s in data["result"]} == {0.0}


CENTRAL = """
overview: {timezone: Asia/Ho_Chi_Minh, store: victoriametrics}
sites:
  - {province: hue, id: thuan-hoa, name: TT Thuận Hóa}
"""


def test_province_push_creates_then_overwrites(
    grafana: tuple[str, FakeGrafana],  # noqa: F811
    tmp_path: Path,
) -> None:
    url, state = grafana
    central = tmp_path / "central.yaml"
    central.write_text(CENTRAL, encoding="utf-8")
    token_file = tmp_path / "grafana.token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    argv = ["dashboards", "province-push", "--url", url, "-c", str(central)]
    env = {"FLOORWATCH_INFLUX_TOKEN": "vm-secret"}
    runner = CliRunner()
    first = runner.invoke(app, [*argv, "--token-file", str(token_file)], env=env)
    assert first.exit_code == 0, first.output
    assert "dashboard floorwatch-province created" in first.output
    second = runner.invoke(app, argv, env={**env, "FLOORWATCH_GRAFANA_TOKEN": TOKEN})
    assert second.exit_code == 0, second.output
    assert "folder updated; datasource updated" in second.output
    assert "dashboard floorwatch-province updated" in second.output
    for output in (first.output, second.output):
        assert TOKEN not in output and "vm-secret" not in output
    assert list(state.dashboards) == ["floorwatch-province"]
    assert state.dashboards["floorwatch-province"]["version"] == 2
    ds = state.datasources["floorwatch-victoriametrics"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://victoriametrics:8428"
    assert ds["secureJsonData"] == {"httpHeaderValue1": "Bearer vm-secret"}
    stored = state.dashboards["floorwatch-province"]["dashboard"]
    assert {t["datasource"]["uid"] for p in stored["panels"] for t in p.get("targets", [])} == {
        "floorwatch-victoriametrics"
    }

    refused = runner.invoke(app, argv, env={"FLOORWATCH_GRAFANA_TOKEN": "wrong"})
    assert refused.exit_code == 1 and "refused the token" in refused.output
    assert "wrong" not in refused.output
    gone = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    argv[3] = gone
    unreachable = runner.invoke(app, argv, env={"FLOORWATCH_GRAFANA_TOKEN": TOKEN})
    assert unreachable.exit_code == 1 and f"cannot reach Grafana at {gone}" in unreachable.output
    missing = runner.invoke(app, argv, env={})
    assert missing.exit_code == 2 and "no Grafana token" in missing.output
