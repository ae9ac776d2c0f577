"""``floorwatch alerts list|show``: read-only, so a site file's unset secrets do not stop it;
times on the site's clock, with their offset."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import yaml
from typer.testing import CliRunner

from gateway.alert_store import AlertStore
from gateway.alerts import Transition
from gateway.cli import app
from gateway.live import Alert, AlertState, Severity

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-site.yaml"
runner = CliRunner()
UNSET = "FLOORWATCH_TEST_NEVER_SET"


def production_file(tmp_path: Path) -> Path:
    """The demo site as production writes it: every secret an {env:} reference."""
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["mqtt"]["username"] = "gw"
    data["mqtt"]["password"] = {"env": UNSET}
    data["influxdb"]["token"] = {"env": UNSET}
    data["api"] = {"tokens": [{"name": "room", "role": "supervisor", "token": {"env": UNSET}}]}
    for cam in data["cameras"]:
        cam["onvif"]["username"] = "floorwatch"
        cam["onvif"]["password"] = {"env": UNSET}
    data["gateway"]["state_dir"] = str(tmp_path)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def store_one_alert(tmp_path: Path) -> Alert:
    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # 16:30 in Ho Chi Minh City
    alert = Alert(
        id="capacity:f2-waiting:1",
        rule="capacity",
        severity=Severity.CRITICAL,
        state=AlertState.ACTIVE,
        zone_id="f2-waiting",
        device_id=None,
        message="Khu chờ: 190 people, capacity 180",
        value=190.0,
        threshold=180.0,
        raised_at=at,
        updated_at=at,
    )

    async def record() -> None:
        store = AlertStore(tmp_path / "alerts.sqlite3")
        await store.open()
        await store.record([Transition(alert, "raised", at)], {alert.id: 1})
        await store.close()

    asyncio.run(record())
    return alert


def test_alerts_list_needs_no_secret_and_prints_site_time(tmp_path: Path) -> None:
    site = production_file(tmp_path)
    checked = runner.invoke(app, ["config", "check", str(site)], env={})
    assert checked.exit_code == 2, "config check still wants the secrets a run needs"
    assert f"environment variable {UNSET} is not set" in checked.output
    store_one_alert(tmp_path)
    result = runner.invoke(app, ["alerts", "list", "-c", str(site)], env={})
    assert result.exit_code == 0, result.output
    assert "capacity:f2-waiting:1" in result.output
    assert " 2026-12-04 16:30:00+07:00 Khu chờ: 190 people" in result.output
    assert "09:30" not in result.output


def test_alerts_show_prints_transitions_in_site_time(tmp_path: Path) -> None:
    site = production_file(tmp_path)
    store_one_alert(tmp_path)
    result = runner.invoke(app, ["alerts", "show", "capacity:f2-waiting:1", "-c", str(site)])
    assert result.exit_code == 0, result.output
    assert "  2026-12-04 16:30:00+07:00  raised" in result.output
