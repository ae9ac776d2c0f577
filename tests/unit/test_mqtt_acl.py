"""sensors.acl: the mosquitto ACL a site file implies (the broker side is tested in
tests/integration/test_deploy_mosquitto.py against a real mosquitto)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config_loader import load_settings
from sensors.acl import AclError, acl_text, parse_account

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-site.yaml"
SETTINGS = load_settings(DEMO, {}).settings


def _blocks(text: str) -> dict[str, list[str]]:
    """user -> its topic lines."""
    blocks: dict[str, list[str]] = {}
    user = None
    for line in text.splitlines():
        if line.startswith("user "):
            user = line.removeprefix("user ")
            blocks[user] = []
        elif line.startswith("topic ") and user is not None:
            blocks[user].append(line)
    return blocks


def test_one_account_per_sensor_writing_its_own_topic_only() -> None:
    blocks = _blocks(acl_text(SETTINGS, gateway_user="floorwatch"))
    assert set(blocks) == {"floorwatch", *(s.id for s in SETTINGS.sensors)}
    for sensor in SETTINGS.sensors:
        assert blocks[sensor.id] == [f"topic write {sensor.topic}"]
    gateway = blocks["floorwatch"]
    assert "topic readwrite floorwatch/#" in gateway
    assert {f"topic read {s.topic}" for s in SETTINGS.sensors} <= set(gateway)
    writes = [t for user, ts in blocks.items() if user != "floorwatch" for t in ts]
    assert not [t for t in writes if " floorwatch/" in t or t.endswith(" #")]


def test_the_gateway_area_follows_the_base_topic() -> None:
    mqtt = SETTINGS.mqtt.model_copy(update={"base_topic": "hcc"})
    text = acl_text(SETTINGS.model_copy(update={"mqtt": mqtt}), gateway_user="gw")
    assert "topic readwrite hcc/#" in _blocks(text)["gw"]
    assert "floorwatch/#" not in text


def test_an_account_may_publish_for_several_sensors() -> None:
    accounts = {"z2m": ["cl-f1-canteen"], "simulator": ["*"]}
    blocks = _blocks(acl_text(SETTINGS, gateway_user="floorwatch", accounts=accounts))
    assert blocks["z2m"] == ["topic write zigbee2mqtt/cl-f1-canteen"]
    assert len(blocks["simulator"]) == len({s.topic for s in SETTINGS.sensors})
    assert "cl-f1-canteen" not in blocks  # no account of its own any more


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ({"z2m": ["nope"]}, "account z2m: no sensor 'nope'"),
        ({"a": ["qms"], "b": ["qms"]}, "sensor qms is in two accounts: a and b"),
    ],
)
def test_bad_accounts_are_refused(accounts: dict[str, list[str]], message: str) -> None:
    with pytest.raises(AclError, match=message):
        acl_text(SETTINGS, gateway_user="floorwatch", accounts=accounts)


@pytest.mark.parametrize("text", ["z2m", "=a", "z2m=", "two words=a"])
def test_parse_account_refuses(text: str) -> None:
    with pytest.raises(AclError, match="expected NAME=SENSOR_ID"):
        parse_account(text)


def test_parse_account() -> None:
    assert parse_account("z2m=cl-a, cl-b") == ("z2m", ["cl-a", "cl-b"])
    assert parse_account("simulator=*") == ("simulator", ["*"])


def test_cli_writes_the_file_and_reports_bad_accounts(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "acl"
    ok = runner.invoke(app, ["mqtt", "acl", "-c", str(DEMO), "--account", "sim=*", "-o", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "user sim" in out.read_text(encoding="utf-8")
    bad = runner.invoke(app, ["mqtt", "acl", "-c", str(DEMO), "--account", "sim=ghost"])
    assert bad.exit_code == 2
    assert "error: account sim: no sensor 'ghost'" in bad.output
