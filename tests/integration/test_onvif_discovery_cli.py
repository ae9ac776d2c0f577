"""WS-Discovery finds the virtual camera (unicast to 127.0.0.1, never multicast off-box),
and ``floorwatch cameras discover / check`` print what an installer needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from cameras.discovery import discover
from tests.integration.onvif_support import PASSWORD, camera_in_thread, run, virtual_camera

pytestmark = pytest.mark.integration


FLOORWATCH = Path(sys.executable).parent / "floorwatch"


def floorwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in its own process (it configures logging for itself)."""
    return subprocess.run(
        [str(FLOORWATCH), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_discovery_finds_the_simulator() -> None:
    async def main() -> None:
        async with virtual_camera(discovery_port=0) as cam:
            assert cam.discovery_port
            found = await discover(timeout_s=0.5, address="127.0.0.1", port=cam.discovery_port)
        assert len(found) == 1
        device = found[0]
        assert device.xaddrs == (cam.device_url,)
        assert device.name == "Virtual IR camera"
        assert device.hardware == "FW-IR4"
        assert device.location == "lobby"
        assert "Streaming" in device.profiles
        assert device.endpoint.startswith("urn:uuid:")
        assert "dn:NetworkVideoTransmitter" in device.types

    run(main())


def test_discovery_without_answers_is_empty() -> None:
    async def main() -> None:
        async with virtual_camera(discovery_port=0) as cam:
            port = cam.discovery_port
        assert port
        assert await discover(timeout_s=0.3, address="127.0.0.1", port=port) == []

    run(main())


def test_cli_discover() -> None:
    with camera_in_thread(discovery_port=0) as (cam, _call):
        result = floorwatch(
            "cameras",
            "discover",
            "--address",
            "127.0.0.1",
            "--port",
            str(cam.discovery_port),
            "--timeout",
            "0.5",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Virtual IR camera" in result.stdout
    assert cam.device_url in result.stdout
    assert "1 device(s)" in result.stdout


def write_video(path: Path, frames: int = 30) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(frames):
        image = np.full((240, 320, 3), i * 8 % 255, dtype=np.uint8)
        writer.write(image)
    writer.release()


def site_file(tmp_path: Path, cameras: list[dict[str, object]]) -> Path:
    site = {
        "site": {"id": "test", "name": "Test center"},
        "floors": [
            {"id": "f1", "name": "F1", "area_m2": 100, "plan": {"width_m": 10, "depth_m": 10}}
        ],
        "zones": [
            {
                "id": "waiting",
                "name": "Waiting",
                "floor": "f1",
                "area_m2": 50,
                "capacity": 40,
                "polygon": [[0, 0], [5, 0], [5, 5]],
            }
        ],
        "cameras": cameras,
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    return path


def test_cli_check_prints_a_table_per_camera(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = tmp_path / "lobby.avi"
    write_video(video)
    monkeypatch.setenv("CAM_PASSWORD", PASSWORD)  # inherited by the CLI process
    with camera_in_thread(stream_uri=str(video), clock_offset_s=120) as (cam, _call):
        onvif = {
            "host": "127.0.0.1",
            "port": cam.port,
            "password": {"env": "CAM_PASSWORD"},
            "events": {"counting_rules": {"Queue": "waiting"}},
        }
        dead = {"host": "127.0.0.1", "port": 1, "password": {"env": "CAM_PASSWORD"}, "timeout_s": 2}
        path = site_file(
            tmp_path,
            [
                {"id": "lobby", "name": "Lobby", "onvif": onvif},
                {"id": "gone", "name": "Unplugged", "onvif": dead},
            ],
        )
        result = floorwatch("cameras", "check", "-c", str(path), "--seconds", "0.5")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # one camera is unreachable
    assert "camera lobby (Lobby)" in out
    assert "Floorwatch FW-IR4 virtual infrared camera" in out
    assert "4.3.0-sim" in out
    assert "sub H264 640x480@15  <- chosen" in out
    assert "opened, 320x240" in out
    assert "media         Media2 (ver20)" in out
    assert "PullPoint subscription ok (granted 30 s)" in out
    assert "clock offset  +1" in out  # ~ +120 s
    assert "camera gone (Unplugged)" in out and "unreachable" in out
    assert "1/2 camera(s) ok" in out
    assert PASSWORD not in out
