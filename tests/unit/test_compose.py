"""compose.yaml, the Dockerfile and deploy/: what can be checked without a Docker engine.

compose.yaml validates against the Compose Specification's JSON schema
(tests/fixtures/compose-spec/, vendored with its source and licence), every
service is built or pinned to a version, and the files it mounts exist.
Docker itself cannot run here; docs/deploy.md says what was not tried.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator  # type: ignore[import-untyped]

from gateway.config_loader import load_settings
from gateway.peers.mosquitto import MOSQUITTO_TUNING

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
PINNED = re.compile(r"^[a-z0-9./_-]+:(\d+)(\.\d+)+(-[a-z0-9.-]+)?$")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")
SERVICES_NOT_DEMO = {"mosquitto", "influxdb", "grafana", "floorwatch"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return data


def test_compose_validates_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    errors = sorted(Draft201909Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_can_fail(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(compose))
    broken["services"]["grafana"]["depends_on"]["influxdb"]["condition"] = "service_happy"
    broken["services"]["mosquitto"]["restart_policy"] = "always"
    assert len(list(Draft201909Validator(schema).iter_errors(broken))) >= 2


def test_every_service_is_built_or_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image is not None or "build" in service, name
        if image is not None:
            assert PINNED.match(image), f"{name}: image {image!r} is not pinned to a version"
        assert service.get("restart") == "unless-stopped", name
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for base in re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE):
        assert PINNED.match(base), f"Dockerfile: FROM {base} is not pinned"


def test_long_running_services_have_healthchecks_and_wait_for_them(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in SERVICES_NOT_DEMO:
        assert "test" in services[name]["healthcheck"], name
        assert "profiles" not in services[name], name
    assert services["floorwatch"]["depends_on"] == {
        "mosquitto": {"condition": "service_healthy"},
        "influxdb": {"condition": "service_healthy"},
    }
    assert services["grafana"]["depends_on"]["influxdb"] == {"condition": "service_healthy"}
    simulators = set(services) - SERVICES_NOT_DEMO
    assert simulators, "the demo profile has no simulator"
    for name in simulators:
        assert services[name]["profiles"] == ["demo"], name


def test_bind_mounts_exist_and_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = VARIABLE.sub(lambda m: _default(m.group(0)), volume).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} not declared"


def _default(reference: str) -> str:
    m = re.match(r"\$\{[A-Z0-9_]+:-([^}]*)\}", reference)
    assert m, f"{reference}: a mounted path needs a default"
    return m.group(1)


def test_every_variable_is_in_the_example_env_and_no_secret_is_filled_in(
    compose: dict[str, Any],
) -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    example = (ROOT / "deploy" / "example.env").read_text(encoding="utf-8")
    names = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert set(VARIABLE.findall(text)) <= set(names)
    for key, value in names.items():
        if any(word in key for word in ("PASSWORD", "TOKEN")):
            assert value == "change-me", f"deploy/example.env: {key} must stay a placeholder"


def test_grafana_gets_the_exported_provisioning_and_the_token_it_expands(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    provisioning = (ROOT / "deploy/grafana/provisioning/datasources/floorwatch.yaml").read_text()
    assert "${FLOORWATCH_INFLUX_TOKEN}" in provisioning
    assert "FLOORWATCH_INFLUX_TOKEN" in grafana["environment"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).name).exists()


def test_mosquitto_conf_carries_the_qos1_tuning() -> None:
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    lines = {line.strip() for line in conf.splitlines()}
    for setting in MOSQUITTO_TUNING.strip().splitlines():
        assert setting in lines, setting
    assert "allow_anonymous false" in lines
    assert "persistence true" in lines


def test_dockerfile_copies_what_exists_and_ignores_secrets() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {".env", ".venv", "state", ".git"} <= set(ignored)


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (enough for our file)."""

    def one(m: re.Match[str]) -> str:
        name, rest = m.group(1), m.group(0)[len(m.group(1)) + 2 : -1]
        if name in env and env[name] != "":
            return env[name]
        assert rest.startswith(":-"), f"{name} is required and not set"
        return rest[2:]

    return VARIABLE.sub(one, value)


def _example_env(secret: str) -> dict[str, str]:
    example = (ROOT / "deploy" / "example.env").read_text(encoding="utf-8")
    names = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    return {k: (secret if v == "change-me" else v) for k, v in names.items()}


def test_the_gateway_api_listens_where_its_healthcheck_and_port_look(
    compose: dict[str, Any],
) -> None:
    gateway = compose["services"]["floorwatch"]
    secret = "0123456789abcdef0123456789abcdef"
    env = {k: _interpolate(str(v), _example_env(secret)) for k, v in gateway["environment"].items()}
    api = load_settings(ROOT / "config" / "demo-site.yaml", env).settings.api
    assert api.enabled
    assert api.host == "0.0.0.0"  # noqa: S104 -- inside the container, on purpose
    assert f"//127.0.0.1:{api.port}/health'" in " ".join(gateway["healthcheck"]["test"])
    published = [_interpolate(p, {}) for p in gateway["ports"]]
    assert published == [f"8080:{api.port}"]
    assert re.search(rf"^EXPOSE {api.port}$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    (token,) = api.tokens
    assert token.role.value == "admin"
    assert token.token.get_secret_value() == secret


def test_secrets_reach_the_gateway_by_reference_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if not re.search("PASSWORD|TOKEN", key):
                continue
            if key == "FLOORWATCH_API__TOKENS":
                tokens = json.loads(value)
                values = [t["token"] for t in tokens]
            else:
                values = [value]
            for v in values:
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", v), f"{name}: {key} is literal"
