"""The dashboards as code: JSON round-trips through the SDK models; every panel queries InfluxQL.

Built in Vietnamese (the default) and in English: the same panels and queries,
every visible text in one language only.
"""

from __future__ import annotations

import json
import re
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
from dashboards.texts import LANGS, keys
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


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("vi", "Khu chờ (118 ghế): nhiệt độ (24–26,5 °C)"),  # Vietnamese: a decimal comma
        ("en", "Khu chờ (118 ghế): temperature (24–26.5 °C)"),
    ],
)
def test_facility_draws_each_climate_zone_against_its_own_band(
    settings: Settings, lang: str, title: str
) -> None:
    zones = list(settings.zones)
    assert zones[5].id == "f2-waiting"
    zones[5] = zones[5].model_copy(update={"comfort": ComfortBand(temperature_c=(24.0, 26.5))})
    band = settings.model_copy(update={"zones": zones})
    board = dashboard_json(build_dashboards(band, lang)[2])  # type: ignore[arg-type]
    titles = {p["title"]: p for p in _panels(board)}
    waiting = titles[title]
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


# ------------------------------------------------------------------ languages

# Words both languages write the same way: the product, loanwords, units, standards.
SHARED_WORDS = {
    "floorwatch",
    "camera",
    "gateway",
    "onvif",
    "fruin",
    "ppm",
    "co",
    "co₂",
    "c",
    "m³",
    "h",
}


def _names(settings: Settings) -> list[str]:
    """The site file's names (zones, doors, services, the site), longest first."""
    names = [z.name for z in settings.zones] + [d.name for d in settings.doors]
    names += [s.name for s in settings.services] + [settings.site.name]
    return sorted(set(names), key=len, reverse=True)


def _mapping_texts(mappings: list[dict[str, Any]]) -> list[str]:
    return [o["text"] for m in mappings for o in m.get("options", {}).values() if "text" in o]


def _visible_texts(board: dict[str, Any]) -> list[str]:
    """Every text Grafana shows from the dashboard's JSON (not the data)."""
    out = [board["title"], board.get("description", "")]
    out += [v.get("label", "") for v in board["templating"]["list"]]
    for panel in board["panels"]:
        out += [panel.get("title", ""), panel.get("description", "")]
        out += [
            t["alias"]
            for t in panel.get("targets", [])
            if t.get("alias") and not re.fullmatch(r"\d\d:\d\d|.*\$tag_\w+", t["alias"])
        ]
        out += _mapping_texts(panel.get("fieldConfig", {}).get("defaults", {}).get("mappings", []))
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "displayName":
                    out.append(prop["value"])
                elif prop["id"] == "mappings":
                    out += _mapping_texts(prop["value"])
        out.append(panel.get("options", {}).get("yAxis", {}).get("axisLabel", ""))
    return [text for text in out if text]


def _words(text: str, names: list[str]) -> set[str]:
    """The words of ``text`` once the site file's names are taken out, lower case."""
    for name in names:
        text = text.replace(name, " ")
    return {w.lower() for w in re.findall(r"[^\W\d_]+", text)} - SHARED_WORDS


def _boards(settings: Settings, lang: str) -> list[dict[str, Any]]:
    return [dashboard_json(m) for m in build_dashboards(settings, lang)]  # type: ignore[arg-type]


def test_both_languages_have_every_text() -> None:
    assert keys("vi") == keys("en")
    assert LANGS == ("vi", "en")


def test_vietnamese_is_the_default(settings: Settings) -> None:
    assert [b["title"] for b in _boards(settings, "vi")] == [
        "floorwatch: phòng điều hành",
        "floorwatch: quản lý",
        "floorwatch: kỹ thuật tòa nhà",
    ]
    assert [dashboard_json(m)["title"] for m in build_dashboards(settings)] == [
        "floorwatch: phòng điều hành",
        "floorwatch: quản lý",
        "floorwatch: kỹ thuật tòa nhà",
    ]
    assert [b["title"] for b in _boards(settings, "en")] == [
        "floorwatch: control room",
        "floorwatch: managers",
        "floorwatch: facility",
    ]


def test_both_languages_build_the_same_panels_and_queries(settings: Settings) -> None:
    def shape(board: dict[str, Any]) -> list[Any]:
        return [board["uid"]] + [
            (
                p["id"],
                p["type"],
                p["gridPos"],
                [(t["refId"], t["query"]) for t in p.get("targets", [])],
            )
            for p in board["panels"]
        ]

    vi, en = _boards(settings, "vi"), _boards(settings, "en")
    assert [shape(b) for b in vi] == [shape(b) for b in en]
    assert [_visible_texts(b) for b in vi] != [_visible_texts(b) for b in en]


def test_no_vietnamese_dashboard_text_has_an_english_word(settings: Settings) -> None:
    """Every text of the Vietnamese dashboards: the site's names and Vietnamese words only.

    "English words" are every word of the English dashboards' texts: "Sảnh vào:
    temperature" (a zone name and an English metric) fails, and so would an English
    word left in a description, a series, a table column or a value's text.
    """
    names = _names(settings)
    english = set().union(
        *(_words(x, names) for b in _boards(settings, "en") for x in _visible_texts(b))
    )
    assert {"temperature", "people", "alerts", "calm", "acknowledged", "online"} <= english
    for board in _boards(settings, "vi"):
        for text in _visible_texts(board):
            mixed = _words(text, names) & english
            assert not mixed, f"{board['uid']}: {text!r} has English words {sorted(mixed)}"


def test_no_english_dashboard_text_has_a_vietnamese_word(settings: Settings) -> None:
    names = _names(settings)
    for board in _boards(settings, "en"):
        for text in _visible_texts(board):
            left = "".join(_words(text, names))
            assert left.isascii(), f"{board['uid']}: {text!r} has Vietnamese outside the names"


def test_vietnamese_facility_titles_are_a_zone_name_and_a_vietnamese_metric(
    settings: Settings,
) -> None:
    zones = {z.name for z in settings.zones}
    board = _boards(settings, "vi")[2]
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows and set(rows) <= zones
    metrics = []
    for panel in _panels(board):
        zone, metric = panel["title"].split(": ", 1)
        assert zone in zones, panel["title"]
        metrics.append(re.sub(r"[\d.,]+", "N", metric))
    assert sorted(set(metrics)) == [
        "nhiệt độ (N–N °C)",
        "nồng độ CO₂ (tối đa N ppm) và số người",
        "độ ẩm (N–N%)",
    ]
    co2 = next(p for p in _panels(board) if "CO₂" in p["title"])
    assert "1.000 ppm" in co2["title"]  # Vietnamese groups thousands with a point
    assert [t["alias"] for t in co2["targets"]] == ["CO₂", "số người"]


def test_vietnamese_tables_show_stored_values_in_vietnamese(settings: Settings) -> None:
    vi_board, en_board = _boards(settings, "vi")[0], _boards(settings, "en")[0]
    vi_panels = {p["title"]: p for p in _panels(vi_board)}
    levels = vi_panels["Mức độ đông theo khu vực"]["fieldConfig"]["defaults"]["mappings"]
    assert _mapping_texts(levels) == ["Bình thường", "Khá đông", "Đông", "Quá tải"]

    def overrides(panel: dict[str, Any]) -> dict[tuple[str, str], Any]:
        return {
            (o["matcher"]["options"], p["id"]): p["value"]
            for o in panel["fieldConfig"]["overrides"]
            for p in o["properties"]
        }

    alerts = overrides(vi_panels["Cảnh báo (trạng thái mới nhất theo khu vực và loại cảnh báo)"])
    assert _mapping_texts(alerts[("state", "mappings")]) == ["MỚI", "Đã xác nhận", "Đã xử lý"]
    assert alerts[("state", "displayName")] == "Trạng thái"
    assert alerts[("message", "displayName")] == "Nội dung"  # the gateway's Vietnamese message
    zone_names = _mapping_texts(alerts[("zone", "mappings")])
    assert zone_names == [z.name for z in settings.zones]
    # Every rule the gateway raises has its words.
    source = (ROOT / "gateway" / "alert_rules.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'Condition\(\s*"(\w+)"', source)) | set(
        re.findall(r'\("(camera_\w+)", Severity', source)
    )
    raised |= {f"{q}_{s}" for q in ("temperature", "humidity") for s in ("high", "low")}
    raised.add("co2_high")
    assert len(raised) >= 14
    rules = alerts[("rule", "mappings")][0]["options"]
    assert raised <= set(rules), raised - set(rules)
    assert rules["crowd_level"]["text"] == "Mật độ đông"
    en_alerts = overrides(next(p for p in _panels(en_board) if p["title"].startswith("Alerts")))
    assert en_alerts[("message", "custom.hidden")] is True  # Vietnamese: not on the English board
    assert ("message", "custom.hidden") not in alerts


@pytest.mark.parametrize(
    ("args", "title"),
    [([], "floorwatch: phòng điều hành"), (["--lang", "en"], "floorwatch: control room")],
)
def test_export_writes_the_language_asked_for(tmp_path: Path, args: list[str], title: str) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    config = ROOT / "config" / "demo-site.yaml"
    result = CliRunner().invoke(
        app, ["dashboards", "export", str(tmp_path), "-c", str(config), *args]
    )
    assert result.exit_code == 0, result.output
    board = json.loads((tmp_path / "dashboards" / "floorwatch-control-room.json").read_text())
    assert board["title"] == title


def test_export_refuses_a_language_it_does_not_have(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    config = ROOT / "config" / "demo-site.yaml"
    result = CliRunner().invoke(
        app, ["dashboards", "export", str(tmp_path), "-c", str(config), "--lang", "fr"]
    )
    assert result.exit_code == 2
    assert "--lang must be one of vi, en, not 'fr'" in result.output
    assert not any(tmp_path.iterdir())


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
    assert re.fullmatch(escape_regex(value), value, flags=re.DOTALL)


def test_the_control_room_counts_new_alerts_per_hour_as_the_province_does(
    settings: Settings,
) -> None:
    """The province's by-severity panel for one center: the same InfluxQL with the site's
    condition (no ``$zone``: a device's alert has no zone), the same bars and names."""
    from dashboards.build import build_province
    from dashboards.province import ProvinceView

    room = dashboard_json(build_dashboards(settings, "en")[0])
    [panel] = [p for p in _panels(room) if p["title"] == "New alerts per hour"]
    [target] = panel["targets"]
    assert (target["query"], target["alias"]) == (
        'SELECT count("transition") FROM "alerts" WHERE "site" =~ /^$site$/'
        ' AND "transition" = \'raised\' AND $timeFilter GROUP BY time(1h), "severity"'
        " fill(none)",
        "$tag_severity",
    )
    province = dashboard_json(build_province(ProvinceView("Asia/Ho_Chi_Minh", ("hn",), ()), "en"))
    [theirs] = [p for p in province["panels"] if p["title"] == "New alerts per hour by severity"]
    [their_target] = theirs["targets"]
    assert their_target["query"] == target["query"].replace(
        "WHERE ", 'WHERE "province" =~ /^$province$/ AND '
    )
    assert panel["fieldConfig"] == theirs["fieldConfig"]
    assert panel["options"]["legend"] == theirs["options"]["legend"]
    rows = [p["title"] for p in room["panels"] if p["type"] == "row"]
    assert rows[-1] == "Alerts and devices" and room["panels"][-1] is panel
