"""Site configuration: the demo site loads; each class of error is reported with its path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from gateway.config_loader import ConfigError, load_settings, parse_settings
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-site.yaml"


def demo_data() -> dict[str, Any]:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def issues_of(data: dict[str, Any] | str, environ: dict[str, str] | None = None) -> list[str]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    with pytest.raises(ConfigError) as info:
        parse_settings(text, environ or {})
    return [str(i) for i in info.value.issues]


def test_demo_site_models_the_provincial_center() -> None:
    s = load_settings(DEMO, {}).settings
    assert [f.area_m2 for f in s.floors] == [650, 650]
    for floor in s.floors:
        assert sum(z.area_m2 for z in s.zones if z.floor == floor.id) == pytest.approx(650)
    f1 = {z.kind.value for z in s.zones if z.floor == "f1"}
    assert {"entrance", "canteen", "service"} <= f1
    assert sum(len(svc.counters) for svc in s.services) == 23
    assert s.zone("f2-counters").seats == 72
    assert s.zone("f2-waiting").seats == 118
    assert s.site.timezone == "Asia/Ho_Chi_Minh"
    weekday = s.site.opening_hours[0]
    assert len(weekday.sessions) == 2, "a lunch break splits the day"


def test_environment_overrides_yaml() -> None:
    env = {"FLOORWATCH_MQTT__PORT": "1884", "FLOORWATCH_INFLUXDB__PROTOCOL": "v2"}
    s = load_settings(DEMO, env).settings
    assert s.mqtt.port == 1884
    assert s.influxdb.protocol == "v2"


def test_unrelated_floorwatch_variables_are_ignored() -> None:
    s = load_settings(DEMO, {"FLOORWATCH_LOG_FORMAT": "json"}).settings
    assert s.mqtt.port == 1883


def test_secret_from_env_and_file_never_renders(tmp_path: Path) -> None:
    data = demo_data()
    secret_file = tmp_path / "influx-password"
    secret_file.write_text("s3cr3t-file\n", encoding="utf-8")
    data["mqtt"]["username"] = "gw"
    data["mqtt"]["password"] = {"env": "MQTT_PW"}
    data["influxdb"]["password"] = {"file": str(secret_file)}
    text = yaml.safe_dump(data, allow_unicode=True)
    loaded = parse_settings(text, {"MQTT_PW": "s3cr3t-env"})
    s = loaded.settings
    assert s.mqtt.password is not None and s.mqtt.password.get_secret_value() == "s3cr3t-env"
    assert s.influxdb.password is not None
    assert s.influxdb.password.get_secret_value() == "s3cr3t-file"
    rendered = repr(s) + str(s) + s.model_dump_json()
    assert "s3cr3t" not in rendered
    assert loaded.warnings == []


def test_secret_written_in_file_is_a_warning() -> None:
    data = demo_data()
    data["mqtt"]["password"] = "plain"
    loaded = parse_settings(yaml.safe_dump(data, allow_unicode=True), {})
    assert [w.path for w in loaded.warnings] == ["mqtt.password"]


def test_env_override_of_secret() -> None:
    s = load_settings(DEMO, {"FLOORWATCH_MQTT__PASSWORD": "from-env"}).settings
    assert s.mqtt.password is not None and s.mqtt.password.get_secret_value() == "from-env"


def test_a_reference_inside_an_env_override_is_resolved() -> None:
    environ = {
        "FLOORWATCH_MQTT__PASSWORD": '{"env": "BROKER_PW"}',
        "BROKER_PW": "s3cret-from-env",
        "FLOORWATCH_API__TOKENS": '[{"name": "Ops", "role": "admin", "token": {"env": "OPS"}}]',
        "OPS": "0123456789abcdef0123",
    }
    loaded = load_settings(DEMO, environ)
    s = loaded.settings
    assert s.mqtt.password is not None and s.mqtt.password.get_secret_value() == "s3cret-from-env"
    [token] = s.api.tokens
    assert token.token.get_secret_value() == "0123456789abcdef0123"
    assert not [w for w in loaded.warnings if w.path in ("mqtt.password", "api.tokens[0].token")]
    missing = {k: v for k, v in environ.items() if k != "OPS"}
    with pytest.raises(ConfigError) as info:
        load_settings(DEMO, missing)
    assert "api.tokens[0].token: environment variable OPS is not set" in str(info.value)


# ----------------------------------------------------------------- one test per class of error


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.yaml", {})
    assert "cannot read" in str(info.value)


def test_not_yaml_names_the_line() -> None:
    text = "site:\n  id: x\n  name: [unclosed\n"
    (issue,) = issues_of(text)
    assert "not valid YAML" in issue and "line" in issue


def test_top_level_must_be_a_mapping() -> None:
    assert issues_of("- a\n- b\n") == ["(file): expected a mapping at the top level"]


def test_unknown_key_names_path_and_line() -> None:
    text = DEMO.read_text(encoding="utf-8").replace(
        "    capacity: 180\n", "    capacity: 180\n    capcity: 1\n"
    )
    (issue,) = issues_of(text)
    assert issue.startswith("zones[5].capcity (line ")
    assert "unknown key" in issue
    line = int(issue.split("line ")[1].split(")")[0])
    assert text.splitlines()[line - 1].strip().startswith("capcity")


def test_missing_required_key() -> None:
    data = demo_data()
    del data["zones"][0]["area_m2"]
    assert any(i.startswith("zones[0].area_m2") and "required" in i for i in issues_of(data))


def test_wrong_type() -> None:
    data = demo_data()
    data["mqtt"]["port"] = "eighteen"
    (issue,) = issues_of(data)
    assert issue.startswith("mqtt.port") and "integer" in issue


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (("mqtt", "port"), 70000, "mqtt.port"),
        (("zones", 0, "area_m2"), -5, "zones[0].area_m2"),
        (("zones", 0, "alert_level"), "panic", "zones[0].alert_level"),
        (("site", "timezone"), "Asia/Hanoi_Typo", "site.timezone"),
        (("influxdb", "protocol"), "v3", "influxdb.protocol"),
    ],
)
def test_out_of_range_or_not_allowed(path: tuple[Any, ...], value: Any, expect: str) -> None:
    data = demo_data()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(i.startswith(expect) for i in issues_of(data))


def test_unknown_decoder_is_named() -> None:
    data = demo_data()
    data["sensors"][0]["decoder"] = "xiaomi_magic"
    (issue,) = issues_of(data)
    assert issue.startswith("sensors[0]") and "xiaomi_magic" in issue


def test_decoder_specific_field_errors_drop_the_tag() -> None:
    data = demo_data()
    gj = next(s for s in data["sensors"] if s["decoder"] == "generic_json")
    gj["fields"]["temperature_c"]["unit"] = "rankine"
    (issue,) = issues_of(data)
    assert ".fields.temperature_c.unit" in issue and "generic_json" not in issue.split(":")[0]


def test_unknown_references_and_duplicates() -> None:
    data = demo_data()
    data["sensors"][3]["zone"] = "f9-nowhere"
    data["zones"].append(copy.deepcopy(data["zones"][0]))
    issues = issues_of(data)
    assert any(i.startswith("sensors[3].zone") and "f9-nowhere" in i for i in issues)
    assert any(i.startswith("zones[8].id") and "duplicate" in i for i in issues)


def test_sensor_kind_needs_its_target() -> None:
    data = demo_data()
    del data["sensors"][0]["door"]
    assert any("needs 'door'" in i for i in issues_of(data))


def test_topic_wildcards_must_be_whole_levels() -> None:
    data = demo_data()
    data["sensors"][0]["topic"] = "counters/d-#"
    assert any(i.startswith("sensors[0].topic") for i in issues_of(data))


def test_thresholds_must_rise() -> None:
    data = demo_data()
    data["zones"][5]["crowd"]["occupancy"] = {"busy": 0.9, "crowded": 0.8, "critical": 1.0}
    assert any(i.startswith("zones[5].crowd.occupancy") and "rise" in i for i in issues_of(data))


def test_lunch_break_sessions_must_not_overlap() -> None:
    data = demo_data()
    data["site"]["opening_hours"][0]["sessions"][1]["start"] = "11:00"
    assert any("overlap" in i for i in issues_of(data))


@pytest.mark.parametrize(
    ("ref", "environ", "expect"),
    [
        ({"env": "NOT_SET_ANYWHERE"}, {}, "environment variable NOT_SET_ANYWHERE is not set"),
        ({"file": "/nonexistent/secret"}, {}, "cannot read secret file"),
        ({"vault": "x"}, {}, "expected {env: NAME} or {file: PATH}"),
    ],
)
def test_secret_reference_errors(ref: dict[str, str], environ: dict[str, str], expect: str) -> None:
    data = demo_data()
    data["mqtt"]["password"] = ref
    (issue,) = issues_of(data, environ)
    assert issue.startswith("mqtt.password") and expect in issue


def test_bad_env_override_is_named() -> None:
    issues = issues_of(demo_data(), {"FLOORWATCH_MQTT__PORT": "abc"})
    assert any(i.startswith("mqtt.port") for i in issues)
    issues = issues_of(demo_data(), {"FLOORWATCH_SENSORS": "[not json"})
    assert any(i.startswith("$FLOORWATCH_SENSORS") and "JSON" in i for i in issues)


def test_direct_construction_checks_references() -> None:
    data = demo_data()
    data["doors"][0]["into_zone"] = "ghost"
    with pytest.raises(ValidationError, match="doors\\[0\\].into_zone: unknown zone 'ghost'"):
        Settings.model_validate(data)
