"""``floorwatch cameras discover --json`` and ``cameras check --json`` against the virtual camera."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.onvif_support import PASSWORD, camera_in_thread
from tests.integration.test_onvif_discovery_cli import floorwatch, site_file

pytestmark = pytest.mark.integration


def test_discover_json_lists_the_device() -> None:
    with camera_in_thread(discovery_port=0) as (cam, _call):
        result = floorwatch(
            *("cameras", "discover", "--json", "--address", "127.0.0.1"),
            *("--port", str(cam.discovery_port), "--timeout", "0.5"),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    (device,) = json.loads(result.stdout)
    assert device["xaddrs"] == [cam.device_url]
    assert device["name"] == "Virtual IR camera"
    assert "Streaming" in device["profiles"]


def test_check_json_reports_each_camera_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAM_PASSWORD", PASSWORD)
    with camera_in_thread() as (cam, _call):
        onvif = {"host": "127.0.0.1", "port": cam.port, "password": {"env": "CAM_PASSWORD"}}
        dead = {"host": "127.0.0.1", "port": 1, "password": {"env": "CAM_PASSWORD"}, "timeout_s": 2}
        path = site_file(
            tmp_path,
            [
                {"id": "lobby", "name": "Lobby", "onvif": onvif},
                {"id": "gone", "name": "Unplugged", "onvif": dead},
            ],
        )
        result = floorwatch("cameras", "check", "-c", str(path), "--seconds", "0.5", "--json")
    assert result.returncode == 1, result.stdout + result.stderr  # one camera is unreachable
    assert PASSWORD not in result.stdout
    lobby, gone = json.loads(result.stdout)
    assert lobby["camera"] == "lobby"
    assert lobby["reachable"] is True
    assert lobby["device"]["model"]
    assert lobby["media_version"] == 2
    assert gone == {
        "camera": "gone",
        "name": "Unplugged",
        "host": "127.0.0.1",
        "port": 1,
        "ok": False,
        "error": gone["error"],
        "reachable": False,
    }
    assert gone["error"]
