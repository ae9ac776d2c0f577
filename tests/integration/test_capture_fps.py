"""``floorwatch cameras check`` on a strict virtual camera (Media2 only, bare profiles
unless Type is asked, a stream URI without credentials) in front of the real GStreamer
RTSP server (Digest auth, 10 fps): the right profile, and a measured frame rate within
10 % of the stream's (frames FFmpeg buffered while opening are not counted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cameras.simulator.onvif_soap import VirtualProfile
from gateway.peers.rtsp import RtspServer
from tests.integration.onvif_support import camera_in_thread
from tests.integration.test_onvif_discovery_cli import floorwatch, site_file
from tests.peers.rtsp import RTSP_PASSWORD, RTSP_USERNAME

pytestmark = pytest.mark.integration

PROFILES = (
    VirtualProfile("Profile_1", "mainStream", "H264", 1920, 1080, 25),
    VirtualProfile("Profile_2", "subStream", "H264", 640, 480, 10),
)


@pytest.mark.parametrize("seconds", [3, 5])
def test_cameras_check_prints_the_profile_and_the_true_rate(
    rtsp_server: RtspServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: int
) -> None:
    monkeypatch.setenv("CAM_PASSWORD", RTSP_PASSWORD)
    uris = {"Profile_1": rtsp_server.url, "Profile_2": rtsp_server.url}
    assert "@" not in rtsp_server.url  # the camera hands out no credentials
    with camera_in_thread(
        username=RTSP_USERNAME,
        password=RTSP_PASSWORD,
        profiles=PROFILES,
        stream_uri=uris,
        media1=False,
        events="refused",
    ) as (cam, _call):
        onvif = {
            "host": "127.0.0.1",
            "port": cam.port,
            "username": RTSP_USERNAME,
            "password": {"env": "CAM_PASSWORD"},
        }
        path = site_file(tmp_path, [{"id": "hall", "name": "Hall", "onvif": onvif}])
        result = floorwatch("cameras", "check", "-c", str(path), "--seconds", str(seconds))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "media         Media2 (ver20)" in out
    assert "Profile_2 H264 640x480@10  <- chosen" in out
    assert "events        none: the camera offers no ONVIF events" in out
    assert "<Element" not in out and RTSP_PASSWORD not in out
    measured = re.search(r"([\d.]+) fps measured over (\d+) live frames", out)
    assert measured is not None, out
    fps, live = float(measured.group(1)), int(measured.group(2))
    assert fps == pytest.approx(rtsp_server.fps, rel=0.10), out
    assert live >= seconds * rtsp_server.fps * 0.5, out
