"""The ``floorwatch`` command's own flags: --version, --json, usage errors, no demo default.

Run in-process through typer's runner: these are the argument-parsing paths, and
the site files are the repository's demo site or broken copies of it.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.alert_store import AlertStore
from gateway.alerts import Transition
from gateway.cli import app
from gateway.live import Alert, AlertState, Severity

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-site.yaml"
runner = CliRunner()


def test_version_is_the_distribution_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"floorwatch {project['version']}"


@pytest.mark.parametrize("command", [["run"], ["demo"]])
def test_an_unknown_log_level_is_a_usage_error(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "-c", str(DEMO), "--log-level", "verbose"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--log-level'" in result.output
    assert "'verbose' is not one of" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_config_check_json_describes_the_site() -> None:
    result = runner.invoke(app, ["config", "check", str(DEMO), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["ok"] is True
    assert document["file"] == str(DEMO)
    assert document["site"]["timezone"] == "Asia/Ho_Chi_Minh"
    zones = [z["id"] for floor in document["floors"] for z in floor["zones"]]
    assert "f2-waiting" in zones
    assert document["cameras"] and document["sensors"]


def test_config_check_json_lists_the_errors_and_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "site.yaml"
    text = DEMO.read_text(encoding="utf-8").replace("timezone:", "time_zone:", 1)
    assert text != DEMO.read_text(encoding="utf-8")
    broken.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(broken), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert any("time_zone" in e["path"] for e in document["errors"]), document
    assert all({"path", "line", "message"} <= set(e) for e in document["errors"])


def test_alerts_list_json(tmp_path: Path) -> None:
    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    alert = Alert(
        id="crowd_level:f2-waiting:1",
        rule="crowd_level",
        severity=Severity.WARNING,
        state=AlertState.ACTIVE,
        zone_id="f2-waiting",
        device_id=None,
        message="f2-waiting is crowded",
        value=150.0,
        threshold=144.0,
        raised_at=at,
        updated_at=at,
    )

    async def record() -> None:
        store = AlertStore(tmp_path / "alerts.sqlite3")
        await store.open()
        await store.record([Transition(alert, "raised", at)], {alert.id: 1})
        await store.close()

    asyncio.run(record())
    env = {"FLOORWATCH_GATEWAY__STATE_DIR": str(tmp_path)}
    result = runner.invoke(app, ["alerts", "list", "-c", str(DEMO), "--json"], env=env)
    assert result.exit_code == 0, result.output
    (document,) = json.loads(result.output)
    assert document["id"] == alert.id
    assert document["state"] == "active"
    assert document["severity"] == "warning"
    assert document["raised_at"] == "2026-12-04T09:30:00+00:00"
    assert document["threshold"] == 144.0


def test_api_roles_json() -> None:
    result = runner.invoke(app, ["api", "roles", "--json"])
    assert result.exit_code == 0, result.output
    roles = json.loads(result.output)
    assert set(roles) == {"viewer", "supervisor", "manager", "facility", "admin"}
    assert len(roles["admin"]) > len(roles["viewer"])


@pytest.mark.parametrize("command", ["export", "push"])
def test_dashboards_need_a_site_file(tmp_path: Path, command: str) -> None:
    args = [str(tmp_path)] if command == "export" else ["--url", "http://127.0.0.1:9"]
    result = runner.invoke(app, ["dashboards", command, *args])
    assert result.exit_code == 2
    assert "Missing option '--config'" in result.output
    assert not any(tmp_path.iterdir())


def test_dashboards_export_names_the_site_it_exported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dashboards", "export", str(tmp_path), "-c", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("site demo-hcc (")
    assert f"from {DEMO}\n" in result.output
    assert (tmp_path / "dashboards" / "floorwatch-control-room.json").exists()
