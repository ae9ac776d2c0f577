"""The province dashboard as code: built from the central file's registry, every panel an
InfluxQL query filtered by province and site, the same panels in Vietnamese and English,
exported with its provisioning by ``floorwatch dashboards province``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dashboards.build import (
    DatasourceSpec,
    build_province,
    dashboard_json,
    parse_dashboard,
    province_files,
)
from dashboards.cli import dashboards_app, province_view
from dashboards.common import DATASOURCE_UID
from dashboards.influxql import InfluxQLQuery
from dashboards.province import ProvinceView
from gateway.fleet.central_config import parse_central

CENTRAL = """
overview: {timezone: Asia/Ho_Chi_Minh}
sites:
  - {province: hue, id: thuan-hoa, name: TT Thuận Hóa, area: Thuận Hóa}
  - {province: hue, id: phu-xuan, name: TT Phú Xuân}
  - {province: da-nang, id: hai-chau, name: TT Hải Châu}
"""


def view() -> ProvinceView:
    return province_view(parse_central(CENTRAL, {}))


def board(lang: str = "vi") -> dict[str, Any]:
    return dashboard_json(build_province(view(), lang))  # type: ignore[arg-type]


def panels(b: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in b["panels"] if p["type"] != "row"]


def test_the_view_comes_from_the_registry() -> None:
    assert view() == ProvinceView(
        "Asia/Ho_Chi_Minh",
        ("hue", "da-nang"),
        (("thuan-hoa", "TT Thuận Hóa"), ("phu-xuan", "TT Phú Xuân"), ("hai-chau", "TT Hải Châu")),
    )


def test_a_stable_uid_variables_and_every_panel_on_the_datasource_with_both_filters() -> None:
    b = board()
    assert b["uid"] == "floorwatch-province" and b["timezone"] == "Asia/Ho_Chi_Minh"
    variables = {v["name"]: v for v in b["templating"]["list"]}
    assert list(variables) == ["province", "site"]
    assert variables["province"]["current"]["value"] == "hue"
    assert variables["site"]["multi"] is True
    assert [p["id"] for p in b["panels"]] == list(range(1, len(b["panels"]) + 1))
    assert len(panels(b)) == 10
    aliases = []
    for p in panels(b):
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == DATASOURCE_UID and t["rawQuery"] is True
            assert '"province" =~ /^$province$/' in t["query"], p["title"]
            assert '"site" =~ /^$site$/' in t["query"], p["title"]
            aliases.append(t["alias"])
        names = {
            o["matcher"]["options"]: o["properties"][0]["value"]
            for o in p["fieldConfig"]["overrides"]
        }
        if "$tag_site" in [t["alias"] for t in p["targets"]]:
            assert names["thuan-hoa"] == "TT Thuận Hóa", p["title"]
    # a series per center, but the province's total of new alerts and their split by severity
    assert aliases == ["$tag_site"] * 8 + ["Cả tỉnh", "$tag_severity", "$tag_site"]


def test_the_json_round_trips_through_the_models() -> None:
    b = board()
    model = parse_dashboard(json.loads(json.dumps(b)))
    targets = [t for p in model.panels or [] for t in getattr(p, "targets", None) or []]
    assert targets and all(isinstance(t, InfluxQLQuery) for t in targets)
    assert dashboard_json(model) == b


def test_both_languages_same_panels_and_queries() -> None:
    def shape(b: dict[str, Any]) -> list[Any]:
        return [
            (p["id"], p["type"], [t["query"] for t in p.get("targets", [])]) for p in b["panels"]
        ]

    vi, en = board("vi"), board("en")
    assert shape(vi) == shape(en)
    assert (vi["title"], en["title"]) == ("floorwatch: toàn tỉnh", "floorwatch: province")
    registry_names = {"TT Thuận Hóa", "TT Phú Xuân", "TT Hải Châu"}
    for p in en["panels"]:
        for text in (p["title"], p.get("description", "")):
            assert text.isascii(), text
        for o in p.get("fieldConfig", {}).get("overrides", []):
            if o["matcher"]["options"] in ("B", "info", "warning", "critical"):
                continue  # the province's total and the severities (the last test)
            assert o["properties"][0]["value"] in registry_names
    assert [p["title"] for p in vi["panels"]][:2] == ["Hiện tại", "Số người lúc này theo trung tâm"]


def test_the_export_command_writes_the_dashboard_and_provisioning(tmp_path: Path) -> None:
    central = tmp_path / "central.yaml"
    central.write_text(CENTRAL, encoding="utf-8")
    out = tmp_path / "grafana"
    result = CliRunner().invoke(
        dashboards_app,
        [
            "province",
            str(out),
            "-c",
            str(central),
            "--influx-url",
            "http://central:8086",
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3 registered centers" in result.output
    written = json.loads((out / "dashboards" / "floorwatch-province.json").read_text("utf-8"))
    assert written == board("en")
    datasource = (out / "provisioning" / "datasources" / "floorwatch.yaml").read_text("utf-8")
    assert "http://central:8086" in datasource and "dbName: province" in datasource
    assert province_files(view(), DatasourceSpec(database="province", flavour="v1")).keys() == {
        "provisioning/datasources/floorwatch.yaml",
        "provisioning/dashboards/floorwatch.yaml",
        "dashboards/floorwatch-province.json",
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: [{province: hue}]", encoding="utf-8")
    result = CliRunner().invoke(dashboards_app, ["province", str(out), "-c", str(bad)])
    assert result.exit_code == 2 and "sites.0.id" in result.output


RAISED = (
    'SELECT count("transition") FROM "alerts" WHERE "province" =~ /^$province$/'
    ' AND "site" =~ /^$site$/ AND "transition" = \'raised\' AND $timeFilter GROUP BY time(1h)'
)


def test_new_alerts_per_hour_per_center_for_the_province_and_by_severity() -> None:
    """Counted from the string field ``transition``, which every alert point has (the integer
    ``raised`` only those written since it exists): per center stacked, the total as a line."""
    by_title = {p["title"]: p for p in panels(board("en"))}
    alerts = by_title["New alerts per hour"]
    assert [(t["refId"], t["query"], t["alias"]) for t in alerts["targets"]] == [
        ("A", RAISED + ', "site" fill(none)', "$tag_site"),
        ("B", RAISED + " fill(none)", "Province"),
    ]
    custom = alerts["fieldConfig"]["defaults"]["custom"]
    assert (custom["drawStyle"], custom["stacking"]["mode"]) == ("bars", "normal")
    (total,) = [
        o for o in alerts["fieldConfig"]["overrides"] if o["matcher"]["id"] == "byFrameRefID"
    ]
    assert total["matcher"]["options"] == "B"
    assert {p["id"]: p["value"] for p in total["properties"]}["custom.stacking"]["mode"] == "none"
    severity = by_title["New alerts per hour by severity"]
    assert [(t["query"], t["alias"]) for t in severity["targets"]] == [
        (RAISED + ', "severity" fill(none)', "$tag_severity")
    ]
    names = {
        o["matcher"]["options"]: o["properties"][0]["value"]
        for o in severity["fieldConfig"]["overrides"]
    }
    assert names == {"info": "info", "warning": "warning", "critical": "CRITICAL"}
