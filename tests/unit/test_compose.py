"""compose.yaml, the Dockerfile and deploy/: what can be checked without a Docker engine.

compose.yaml validates against the Compose Specification's JSON schema
(tests/fixtures/compose-spec/, vendored with its source and licence), every
image is pinned by digest, the files it mounts exist, secrets reach the
services as files, every service has log rotation and resource limits and
starts through deploy/start.sh, which is run here by a real POSIX shell.
Docker itself cannot run here; docs/deploy.md says what was not tried.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator  # type: ignore[import-untyped]

from gateway.config_loader import load_settings
from gateway.peers.mosquitto import MOSQUITTO_TUNING
from sensors.acl import acl_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
VERSION = r"^[a-z0-9./_-]+:(\d+)(\.\d+)+(-[a-z0-9.-]+)?"
PINNED = re.compile(VERSION + r"@sha256:[0-9a-f]{64}$")
BUILT = re.compile(VERSION + "$")
START = "/floorwatch/start.sh"
SECRETS_EXAMPLE = ROOT / "deploy" / "secrets.example"
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
    broken["services"]["floorwatch"]["logging"] = {"driver": "json-file", "options": "10m"}
    broken["services"]["influxdb"]["deploy"]["resources"]["limits"]["memory"] = ["2G"]
    broken["secrets"]["mqtt_password"] = {"path": "./secrets/mqtt_password"}
    errors = list(Draft201909Validator(schema).iter_errors(broken))
    paths = {tuple(e.absolute_path)[:3] for e in errors}
    assert ("services", "floorwatch", "logging") in paths, errors
    assert ("services", "influxdb", "deploy") in paths, errors
    assert ("secrets", "mqtt_password") in paths, errors
    assert len(errors) >= 5


def test_every_image_is_built_or_pinned_by_digest(compose: dict[str, Any]) -> None:
    built = {s["image"] for s in compose["services"].values() if "build" in s}
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image is not None, name
        if image in built:
            assert BUILT.match(image), f"{name}: built image {image!r} has no version tag"
        else:
            assert PINNED.match(image), f"{name}: image {image!r} is not pinned by digest"
        assert service.get("restart") == "unless-stopped", name
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for base in re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE):
        assert PINNED.match(base), f"Dockerfile: FROM {base} is not pinned by digest"


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
            if isinstance(volume, dict):
                source = volume["source"]
                if source.startswith("${"):
                    # The site's own files: required from .env, never a default, never
                    # an empty folder made by Docker in their place.
                    assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", source), f"{name}: {source}"
                    assert volume["bind"] == {"create_host_path": False}, name
                    continue
                assert volume["type"] == "bind" and volume["read_only"] is True, name
            else:
                assert "${" not in volume, f"{name}: {volume} takes a path from the environment"
                source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} not declared"


def test_no_default_site_file(compose: dict[str, Any]) -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert "demo-site.yaml" not in text
    for name in ("floorwatch", "simulator"):
        (site,) = [
            v
            for v in compose["services"][name]["volumes"]
            if isinstance(v, dict) and v["target"] == "/etc/floorwatch/site.yaml"
        ]
        assert site["source"].startswith("${FLOORWATCH_SITE_FILE:?"), name


def test_every_variable_is_in_the_example_env_which_holds_no_secret(
    compose: dict[str, Any],
) -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    example = (ROOT / "deploy" / "example.env").read_text(encoding="utf-8")
    names = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert set(VARIABLE.findall(text)) <= set(names)
    assert not [k for k in names if re.search("PASSWORD|TOKEN|SECRET", k)]
    assert names["FLOORWATCH_SITE_FILE"] == "change-me"
    assert names["MQTT_ACL_FILE"] == "change-me"


def test_every_secret_is_a_file_with_a_placeholder_example(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for secret, spec in declared.items():
        assert spec == {"file": f"./secrets/{secret}"}, secret
        example = (SECRETS_EXAMPLE / secret).read_text(encoding="utf-8")
        assert re.search(r"(^|:)change-me$", example, re.MULTILINE), secret
    used = {s for service in compose["services"].values() for s in service.get("secrets", [])}
    assert used == set(declared)
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert "secrets/" in (ROOT / ".gitignore").read_text().split()
    assert "secrets" in (ROOT / ".dockerignore").read_text().split()


def test_grafana_gets_the_exported_provisioning_and_the_token_it_expands(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    provisioning = (ROOT / "deploy/grafana/provisioning/datasources/floorwatch.yaml").read_text()
    assert "${FLOORWATCH_INFLUX_TOKEN}" in provisioning
    entry = grafana["entrypoint"]
    assert "FLOORWATCH_INFLUX_TOKEN=/run/secrets/grafana_influxdb_token" in entry
    assert "grafana_influxdb_token" in grafana["secrets"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).name).exists()


def test_mosquitto_conf_carries_the_qos1_tuning() -> None:
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    lines = {line.strip() for line in conf.splitlines()}
    for setting in MOSQUITTO_TUNING.strip().splitlines():
        assert setting in lines, setting
    assert "allow_anonymous false" in lines
    assert "persistence true" in lines
    assert "acl_file /mosquitto/config/acl" in lines


def test_the_image_installs_the_lock_with_its_hashes_then_floorwatch_alone() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    runs = " ".join(re.findall(r"^RUN (.+?)(?<!\\)$", dockerfile, re.MULTILINE | re.DOTALL))
    assert "pip install --require-hashes" in runs
    assert "-r requirements/runtime.lock" in runs
    assert "pip install --no-deps ." in runs
    assert "URLLIB3_NO_OVERRIDE=1" in dockerfile
    assert "COPY floorwatch_main.py floorwatch_main.py" in dockerfile  # beside /app's packages


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


def _example_env() -> dict[str, str]:
    example = (ROOT / "deploy" / "example.env").read_text(encoding="utf-8")
    names = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    return {**names, "FLOORWATCH_SITE_FILE": "./config/demo-site.yaml"}


def _secret_files(tmp_path: Path, compose: dict[str, Any], secret: str) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    for name in compose["secrets"]:
        (folder / name).write_text(secret + "\n", encoding="utf-8")
    return folder


def test_the_gateway_reads_its_secrets_from_the_files_and_listens_where_its_healthcheck_looks(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    gateway = compose["services"]["floorwatch"]
    secret = "0123456789abcdef0123456789abcdef"
    folder = _secret_files(tmp_path, compose, secret)
    env = {
        k: _interpolate(str(v), _example_env()).replace("/run/secrets/", f"{folder}/")
        for k, v in gateway["environment"].items()
    }
    settings = load_settings(ROOT / "config" / "demo-site.yaml", env).settings
    api = settings.api
    assert api.enabled
    assert api.host == "0.0.0.0"  # noqa: S104 -- inside the container, on purpose
    assert f"//127.0.0.1:{api.port}/health/ready'" in " ".join(gateway["healthcheck"]["test"])
    published = [_interpolate(p, {}) for p in gateway["ports"]]
    assert published == [f"8080:{api.port}"]
    assert re.search(rf"^EXPOSE {api.port}$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    (token,) = api.tokens
    assert token.role.value == "admin"
    assert token.token.get_secret_value() == secret
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == secret
    assert settings.influxdb.token is not None
    assert settings.influxdb.token.get_secret_value() == secret


def test_secrets_reach_the_services_as_files_only(compose: dict[str, Any]) -> None:
    """No password or token in an environment: a file reference to a secret the service has."""
    for name, service in compose["services"].items():
        mounted = {f"/run/secrets/{s}" for s in service.get("secrets", [])}
        for key, value in service.get("environment", {}).items():
            if not re.search("PASSWORD|TOKEN", key):
                continue
            if key.endswith("_FILE"):  # InfluxDB's and Grafana's own *_FILE / *__FILE
                paths = [value]
            else:
                document = json.loads(value)
                tokens = document if isinstance(document, list) else [{"token": document}]
                paths = [t["token"]["file"] for t in tokens]
            assert paths and set(paths) <= mounted, f"{name}: {key}={value!r}"
        for arg in service.get("entrypoint", []):
            if "/run/secrets/" in arg:
                assert arg.split("=", 1)[1].split("#")[0] in mounted, f"{name}: {arg}"


def test_every_service_rotates_its_logs_has_limits_and_starts_through_start_sh(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        logging = service["logging"]
        assert logging["driver"] == "json-file", name
        assert re.fullmatch(r"\d+m", logging["options"]["max-size"]), name
        assert int(logging["options"]["max-file"]) >= 2, name
        limits = service["deploy"]["resources"]["limits"]
        assert float(limits["cpus"]) > 0, name
        assert re.fullmatch(r"\d+[MG]", limits["memory"]), name
        assert service["entrypoint"][:2] == ["/bin/sh", START], name
        mounts = [v for v in service["volumes"] if isinstance(v, dict)]
        assert any(v["target"] == START and v["source"] == "./deploy/start.sh" for v in mounts)


def test_images_whose_entrypoint_is_replaced_keep_their_command(compose: dict[str, Any]) -> None:
    """Compose drops an image's CMD when the service sets an entrypoint."""
    services = compose["services"]
    assert services["influxdb"]["entrypoint"][-1] == "/entrypoint.sh"
    assert services["influxdb"]["command"] == ["influxd"]
    assert services["grafana"]["entrypoint"][-1] == "/run.sh"
    assert services["floorwatch"]["entrypoint"][-1] == "floorwatch"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["floorwatch"]' in dockerfile


def _start(secrets: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(ROOT / "deploy" / "start.sh"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "FLOORWATCH_SECRETS_DIR": str(secrets)},
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "refused"),
    [
        ("change-me\n", True),
        ("", True),
        ("# accounts\nsimulator:change-me\n", True),
        ("cl-a:0123456789abcdef\ncl-b: change-me \n", True),
        ("0123456789abcdef\n", False),
        ("# not change-me, a comment\ncl-a:0123456789abcdef\n", False),
    ],
)
def test_start_refuses_placeholder_secrets(tmp_path: Path, content: str, refused: bool) -> None:
    (tmp_path / "good").write_text("0123456789abcdef\n")
    (tmp_path / "suspect").write_text(content)
    result = _start(tmp_path, "--", "echo", "started")
    if refused:
        assert result.returncode == 78
        assert "refusing to start" in result.stderr and " suspect;" in result.stderr
        assert "good" not in result.stderr.split("secrets")[-1].split(";")[0]
        assert result.stdout == ""
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout == "started\n"


def test_the_example_secrets_are_refused_as_they_are() -> None:
    result = _start(SECRETS_EXAMPLE, "--", "echo", "started")
    assert result.returncode == 78
    for name in ("api_admin_token", "mqtt_devices", "mqtt_password"):
        assert name in result.stderr


def test_start_exports_secrets_for_programs_that_read_only_their_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / "token").write_text("t0ken-from-file\n")
    (tmp_path / "accounts").write_text("# devices\nsimulator:s1m-pass:with-colon\nz2m:other\n")
    result = _start(
        tmp_path,
        *("--env", f"TOKEN={tmp_path}/token", "--env", f"PW={tmp_path}/accounts#simulator"),
        *("--", "/bin/sh", "-c", 'printf "%s|%s" "$TOKEN" "$PW"'),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "t0ken-from-file|s1m-pass:with-colon"
    missing = _start(tmp_path, "--env", f"PW={tmp_path}/accounts#nobody", "--", "true")
    assert missing.returncode == 78
    assert "no line 'nobody:PASSWORD'" in missing.stderr


def test_the_demo_acl_is_the_current_export_for_the_demo_simulator(
    compose: dict[str, Any],
) -> None:
    """deploy/mosquitto/demo.acl is `floorwatch mqtt acl -c config/demo-site.yaml
    --account simulator=* -o deploy/mosquitto/demo.acl`: never stale."""
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    expected = acl_text(
        settings,
        gateway_user="floorwatch",
        accounts={"simulator": ["*"]},
        source="config/demo-site.yaml",
    )
    assert (ROOT / "deploy" / "mosquitto" / "demo.acl").read_text(encoding="utf-8") == expected
    simulator = compose["services"]["simulator"]
    assert simulator["environment"]["FLOORWATCH_MQTT__USERNAME"] == "simulator"
    assert "simulator:change-me" in (SECRETS_EXAMPLE / "mqtt_devices").read_text().splitlines()
