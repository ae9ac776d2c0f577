"""config/province-central.yaml, the example central file: it loads through the central
file model once its secrets are given, and `fleet run` / `fleet serve` refuse it for
its missing secrets only (exit 2, each named)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config_loader import ConfigError
from gateway.fleet.central_config import load_central

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "province-central.yaml"
ENV = {
    "CENTRAL_INFLUX_PASSWORD": "influx-pw-example",
    "PROVINCE_VIEWER_TOKEN": "viewer-token-0123456789",
    "PROVINCE_OPS_TOKEN": "ops-token-0123456789abc",
}
FILES = {
    "secrets/central-nats-password": "nats-pw-example",
    "secrets/province-admin-token": "admin-token-0123456789ab",
}
MISSING = {
    "nats.password",
    "influxdb.password",
    "api.tokens[0].token",
    "api.tokens[1].token",
    "api.tokens[2].token",
}


def with_secret_files(folder: Path) -> Path:
    path = folder / EXAMPLE.name
    shutil.copy(EXAMPLE, path)
    for name, value in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(value + "\n")
    return path


def test_with_its_secrets_it_loads_as_written(tmp_path: Path) -> None:
    cfg = load_central(with_secret_files(tmp_path), ENV)
    assert cfg.nats.user == "fleet-central"
    assert cfg.nats.password is not None
    assert cfg.nats.password.get_secret_value() == "nats-pw-example"
    assert cfg.nats.kv_replicas == 3
    assert (cfg.influxdb.protocol, cfg.influxdb.database) == ("v1", "province")
    assert [t.role for t in cfg.api.tokens] == ["viewer", "supervisor", "admin"]
    assert cfg.api.port == 8090 and cfg.api.cookie_secure
    assert [s.key for s in cfg.sites] == [
        "hue.hue-city",
        "hue.thuan-hoa",
        "hue.phu-xuan",
        "hue.phu-vang",
    ]
    assert cfg.overview.timezone == "Asia/Ho_Chi_Minh"


def test_without_them_the_only_problems_are_the_secrets() -> None:
    with pytest.raises(ConfigError) as caught:
        load_central(EXAMPLE, {})
    assert {issue.path for issue in caught.value.issues} == MISSING


@pytest.mark.parametrize("command", ["run", "serve"])
def test_the_commands_refuse_it_for_its_missing_secrets_only(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["fleet", command, "-c", str(EXAMPLE)])
    assert result.exit_code == 2, result.output
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert len(problems) == len(MISSING), result.output
    for line in problems:
        assert "is not set" in line or "cannot read secret file" in line, line
