"""The dashboards as code: JSON round-trips through the SDK models; every panel queries InfluxQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dashboards.build import (
    DatasourceSpec,
    build_dashboards,
    dashboard_json,
    datasource_body,
    parse_dashboard,
    provisioning_files,
)
from dashboards.common import DATASOURCE_UID, site_view
from dashboards.influxql import (
    InfluxQLQuery,
    duration_ms,
    escape_regex,
    expand,
    format_duration,
    grafana_interval,
)
from gateway.config_loader import load_settings
from gateway.settings import ComfortBand, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


@pytest.fixture(scope="module")
def boards(settings: Settings) -> list[dict[str, Any]]:
    return [dashboard_json(m) for m in build_dashboards(settings)]


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def test_three_dashboards_with_stable_uids(boards: list[dict[str, Any]]) -> None:
    assert [b["uid"] for b in boards] == [
        "floorwatch-control-room",
        "floorwatch-managers",
        "floorwatch-facility",
    ]
    for board in boards:
        assert board["timezone"] == "Asia/Ho_Chi_Minh"
        assert len(_panels(board)) >= 5
        ids = [p["id"] for p in board["panels"]]
        assert ids == list(range(1, len(ids) + 1))


def test_exported_json_round_trips_through_the_models(boards: list[dict[str, Any]]) -> None:
    for board in boards:
        text = json.dumps(board, sort_keys=True)
        model = parse_dashboard(json.loads(text))
        assert json.dumps(dashboard_json(model), sort_keys=True) == text
        targets = [t for p in model.panels or [] for t in getattr(p, "targets", None) or []]
        assert targets and all(isinstance(t, InfluxQLQuery) for t in targets)


def test_every_panel_has_the_datasource_and_influxql_queries(
    boards: list[dict[str, Any]],
) -> None:
    for board in boards:
        for panel in _panels(board):
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
                assert target["rawQuery"] is True
                assert target["query"].startswith("SELECT "), target["query"]
                assert "$timeFilter" in target["query"] or "${__from}" in target["query"]
        for variable in board["templating"]["list"]:
            assert variable["datasource"]["uid"] == DATASOURCE_UID
            assert variable["query"].startswith("SHOW TAG VALUES")


def test_facility_draws_each_climate_zone_against_its_own_band(settings: Settings) -> None:
    zones = list(settings.zones)
    assert zones[5].id == "f2-waiting"
    zones[5] = zones[5].model_copy(update={"comfort": ComfortBand(temperature_c=(24.0, 26.5))})
    band = settings.model_copy(update={"zones": zones})
    board = dashboard_json(build_dashboards(band)[2])
    titles = {p["title"]: p for p in _panels(board)}
    waiting = titles["Khu chờ (118 ghế): temperature (24–26.5 °C)"]
    steps = waiting["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 24.0, 26.5]
    climate_zones = [z for z in site_view(settings).zones if z.has_climate]
    assert len(_panels(board)) == 3 * len(climate_zones)


def test_heatmap_has_one_row_per_opening_hour(boards: list[dict[str, Any]]) -> None:
    [heatmap] = [p for p in boards[1]["panels"] if p["type"] == "heatmap"]
    # demo site: 07:30-11:30, 13:30-17:00 -> hours 7..16
    assert [t["alias"] for t in heatmap["targets"]] == [f"{h:02d}:00" for h in range(7, 17)]


def test_datasource_bodies_keep_the_secret_where_grafana_wants_it() -> None:
    v2 = datasource_body(DatasourceSpec(), "tok")
    assert v2["jsonData"]["httpHeaderName1"] == "Authorization"
    assert v2["secureJsonData"] == {"httpHeaderValue1": "Token tok"}
    v1 = datasource_body(DatasourceSpec(flavour="v1", user="grafana"), "pw")
    assert v1["user"] == "grafana" and v1["secureJsonData"] == {"password": "pw"}
    assert "secureJsonData" not in datasource_body(DatasourceSpec(flavour="v1"), None)


def test_provisioning_files_reference_the_secret_by_environment(settings: Settings) -> None:
    files = provisioning_files(settings, DatasourceSpec())
    ds = yaml.safe_load(files["provisioning/datasources/floorwatch.yaml"])
    [body] = ds["datasources"]
    assert body["secureJsonData"]["httpHeaderValue1"] == "Token ${FLOORWATCH_INFLUX_TOKEN}"
    provider = yaml.safe_load(files["provisioning/dashboards/floorwatch.yaml"])
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/floorwatch"
    assert sorted(f for f in files if f.startswith("dashboards/")) == [
        "dashboards/floorwatch-control-room.json",
        "dashboards/floorwatch-facility.json",
        "dashboards/floorwatch-managers.json",
    ]


def test_committed_deploy_files_are_the_current_export(settings: Settings) -> None:
    """deploy/grafana/ is `floorwatch dashboards export deploy/grafana`: never stale."""
    for path, text in provisioning_files(settings, DatasourceSpec()).items():
        committed = ROOT / "deploy" / "grafana" / path
        assert committed.read_text(encoding="utf-8") == text, f"export again: {committed}"


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        ("WHERE $timeFilter", {}, "WHERE time >= 1000ms and time <= 2000ms"),
        ("GROUP BY time($__interval)", {}, "GROUP BY time(1m)"),
        ("$__interval_ms", {}, "60000"),
        ('"zone" =~ /^$zone$/', {"zone": ["a-1", "b.2"]}, '"zone" =~ /^(a-1|b\\.2)$/'),
        ('"zone" =~ /^${zone}$/', {"zone": ["only"]}, '"zone" =~ /^only$/'),
        ('"zone" =~ /^[[zone]]$/', {"zone": "x/y"}, '"zone" =~ /^x\\/y$/'),
        ("time >= ${__from}ms + 7h", {}, "time >= 1000ms + 7h"),
    ],
)
def test_expand_replaces_macros_like_grafana(
    query: str, variables: dict[str, Any], expected: str
) -> None:
    assert (
        expand(query, from_ms=1000, to_ms=2000, interval_ms=60_000, variables=variables) == expected
    )


def test_expand_refuses_an_unknown_variable() -> None:
    with pytest.raises(KeyError, match="nowhere"):
        expand("$nowhere", from_ms=0, to_ms=1, interval_ms=1, variables={})


@pytest.mark.parametrize(
    ("range_ms", "points", "minimum", "expected"),
    [
        (6 * 3_600_000, 800, "30s", "30s"),  # 27 s -> 30 s
        (24 * 3_600_000, 800, "30s", "2m"),  # 108 s -> 2 m
        (30 * 86_400_000, 800, "30s", "1h"),  # 54 min -> 1 h
        (60_000, 800, "30s", "30s"),  # the minimum wins
    ],
)
def test_grafana_interval(range_ms: int, points: int, minimum: str, expected: str) -> None:
    assert format_duration(grafana_interval(0, range_ms, points, minimum)) == expected


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["ms", "s", "m", "h", "d"]))
def test_durations_round_trip(n: int, unit: str) -> None:
    ms = duration_ms(f"{n}{unit}")
    assert duration_ms(format_duration(ms)) == ms


@given(st.text(max_size=30))
def test_escaped_values_match_themselves_literally(value: str) -> None:
    import re

    assert re.fullmatch(escape_regex(value), value, flags=re.DOTALL)
