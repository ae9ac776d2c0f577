"""The province dashboard for a VictoriaMetrics central store: chosen by the central file's
``overview.store`` or ``--store``, every panel a PromQL query on the Prometheus datasource that
names only metrics and labels the central writer (``record_lines``) produces; the datasource
body for VictoriaMetrics; the export command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from dashboards.build import DatasourceSpec, build_province, dashboard_json, datasource_body
from dashboards.cli import dashboards_app, province_view
from dashboards.province_promql import DATASOURCE_UID, PROMETHEUS_TYPE
from gateway.fleet.central_config import parse_central
from tests.province_points import central_lines, numeric_metrics

CENTRAL = """
overview: {timezone: Asia/Ho_Chi_Minh, store: victoriametrics}
sites:
  - {province: hue, id: thuan-hoa, name: TT Thuận Hóa}
  - {province: hue, id: phu-xuan, name: TT Phú Xuân}
"""
VARIABLE = re.compile(r"label_values\(([a-z_][a-z0-9_]*)(?:\{[^}]*\})?, ([a-z_]+)\)")
SELECTOR = re.compile(r"([a-z_][a-z0-9_]*)\{([^}]*)\}")
BY = re.compile(r"by \(([a-z_, ]+)\)")


def board(lang: str = "vi", central: str = CENTRAL) -> dict[str, Any]:
    return dashboard_json(build_province(province_view(parse_central(central, {})), lang))  # type: ignore[arg-type]


def targets(b: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(p["title"], t) for p in b["panels"] for t in p.get("targets", [])]


def test_the_store_comes_from_the_central_file_or_the_option() -> None:
    central = parse_central(CENTRAL, {})
    assert province_view(central).store == "victoriametrics"
    assert province_view(central, "influxql").store == "influxql"
    default = parse_central(CENTRAL.replace(", store: victoriametrics", ""), {})
    assert province_view(default).store == "influxql"


def test_every_target_is_promql_on_the_prometheus_datasource() -> None:
    b = board()
    assert b["uid"] == "floorwatch-province"
    for variable in b["templating"]["list"]:
        assert variable["datasource"] == {"type": PROMETHEUS_TYPE, "uid": DATASOURCE_UID}
        assert variable["query"].startswith("label_values(")
    found = targets(b)
    assert len(found) == 11  # the InfluxQL board's
    legends = []
    for title, t in found:
        assert t["datasource"] == {"type": PROMETHEUS_TYPE, "uid": DATASOURCE_UID}, title
        assert "query" not in t and "rawQuery" not in t, title
        expr = t["expr"]
        assert expr.count("(") == expr.count(")") and "SELECT" not in expr, title
        legends.append(t["legendFormat"])
        assert t["instant"] is (t["range"] is False), title
        if title.startswith(
            ("Số người lúc", "Khu vực đầy nhất", "Thời gian chờ dự kiến lâu nhất lúc")
        ):
            assert t["instant"] is True, title
    # a series per center, but the province's total of new alerts and their split by severity
    assert legends == ["{{site}}"] * 8 + ["Cả tỉnh", "{{severity}}", "{{site}}"]


def test_every_query_names_series_and_labels_the_central_writer_writes() -> None:
    written = numeric_metrics(central_lines())
    b = board()
    exprs = [t["expr"] for _, t in targets(b)]
    seen = set()
    for expr in exprs:
        selectors = SELECTOR.findall(expr)
        assert selectors, expr
        for name, matchers in selectors:
            assert name in written, f"{name} is not written by record_lines: {expr}"
            labels = {m.split("=")[0] for m in matchers.split(",")}
            assert labels <= written[name], (name, labels)
            assert {"province"} <= labels
            seen.add(name)
        for name, by in zip(SELECTOR.findall(expr), BY.findall(expr), strict=False):
            assert set(by.split(", ")) <= written[name[0]], (name, by)
    for variable in b["templating"]["list"]:
        name, label = VARIABLE.fullmatch(variable["query"]).groups()  # type: ignore[union-attr]
        assert name in written and label == variable["name"] and label in written[name]
    assert seen == {
        "zone_occupancy_count",
        "zone_occupancy_capacity_ratio",
        "zone_occupancy_expected_wait_s",
        "device_hourly_down",
        "service_hourly_wait_p90_s",
        "alerts_raised",
    }


def test_both_languages_same_queries_and_the_registry_names() -> None:
    def shape(b: dict[str, Any]) -> list[Any]:
        return [
            (p["id"], p["type"], [t["expr"] for t in p.get("targets", [])]) for p in b["panels"]
        ]

    vi, en = board("vi"), board("en")
    assert shape(vi) == shape(en)
    first = next(p for p in vi["panels"] if p["type"] != "row")
    names = {
        o["matcher"]["options"]: o["properties"][0]["value"]
        for o in first["fieldConfig"]["overrides"]
    }
    assert names == {"thuan-hoa": "TT Thuận Hóa", "phu-xuan": "TT Phú Xuân"}


def test_the_victoriametrics_datasource() -> None:
    spec = DatasourceSpec(url="http://vm:8428", store="victoriametrics")
    assert datasource_body(spec, None) == {
        "uid": DATASOURCE_UID,
        "name": "floorwatch VictoriaMetrics",
        "type": "prometheus",
        "access": "proxy",
        "url": "http://vm:8428",
        "isDefault": False,
        "jsonData": {"httpMethod": "POST", "timeInterval": "30s"},
    }
    bearer = datasource_body(spec, "s3cret")
    assert bearer["jsonData"]["httpHeaderName1"] == "Authorization"
    assert bearer["secureJsonData"] == {"httpHeaderValue1": "Bearer s3cret"}
    basic = datasource_body(
        DatasourceSpec(url="http://vm", user="grafana", store="victoriametrics"), "pw"
    )
    assert basic["basicAuth"] is True and basic["basicAuthUser"] == "grafana"
    assert basic["secureJsonData"] == {"basicAuthPassword": "pw"}


def test_the_export_command_follows_the_store(tmp_path: Path) -> None:
    central = tmp_path / "central.yaml"
    central.write_text(CENTRAL, encoding="utf-8")
    out = tmp_path / "vm"
    result = CliRunner().invoke(dashboards_app, ["province", str(out), "-c", str(central)])
    assert result.exit_code == 0, result.output
    assert "2 registered centers" in result.output and "(victoriametrics)" in result.output
    written = json.loads((out / "dashboards" / "floorwatch-province.json").read_text("utf-8"))
    assert written == board()
    ds = yaml.safe_load(
        (out / "provisioning" / "datasources" / "floorwatch.yaml").read_text("utf-8")
    )
    assert ds["datasources"][0]["type"] == "prometheus"
    assert ds["datasources"][0]["url"] == "http://victoriametrics:8428"
    out2 = tmp_path / "influx"
    result = CliRunner().invoke(
        dashboards_app, ["province", str(out2), "-c", str(central), "--store", "influxql"]
    )
    assert result.exit_code == 0, result.output
    written = json.loads((out2 / "dashboards" / "floorwatch-province.json").read_text("utf-8"))
    assert all(t.get("rawQuery") is True for _, t in targets(written))
    result = CliRunner().invoke(
        dashboards_app, ["province", str(out2), "-c", str(central), "--store", "sql"]
    )
    assert result.exit_code == 2 and "--store must be one of" in result.output


RAISED = 'alerts_raised{province=~"$province",site=~"$site"}'


def test_new_alerts_per_hour_count_the_integer_raised_field() -> None:
    """``alerts_raised`` (the writer's ``raised=1i``; its string ``transition`` is 0 there),
    counted in steps of at least an hour: per center, for the province, by severity."""
    by_title = {p["title"]: p for p in board("en")["panels"]}
    alerts = by_title["New alerts per hour"]
    assert [
        (t["refId"], t["expr"], t["legendFormat"], t["interval"]) for t in alerts["targets"]
    ] == [
        ("A", f"sum by (site) (count_over_time({RAISED}[$__interval]))", "{{site}}", "1h"),
        ("B", f"sum(count_over_time({RAISED}[$__interval]))", "Province", "1h"),
    ]
    severity = by_title["New alerts per hour by severity"]
    assert [(t["expr"], t["legendFormat"]) for t in severity["targets"]] == [
        (f"sum by (severity) (count_over_time({RAISED}[$__interval]))", "{{severity}}")
    ]
    assert all(t["range"] is True for p in (alerts, severity) for t in p["targets"])
