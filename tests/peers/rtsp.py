"""Fixtures: a virtual camera (MJPEG) and a real GStreamer RTSP server in front of it.

The RTSP server (gateway.peers.rtsp) runs under the system python; each test
that takes ``rtsp_server`` gets its own, so it may stop and restart it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from gateway.peers.rtsp import RtspServer

if TYPE_CHECKING:
    from cameras.simulator.virtual_camera import VirtualCamera

RTSP_USERNAME = "viewer"
RTSP_PASSWORD = "rtsp-p@ss:w/rd%1"  # characters that must be percent-encoded in a URL
VIRTUAL_ROI_POLYGON = ((0.05, 0.45), (0.95, 0.45), (0.95, 0.98), (0.05, 0.98))
VIRTUAL_PEOPLE = 6


@pytest.fixture(scope="session")
def mjpeg_camera() -> Iterator[VirtualCamera]:
    """A virtual camera with a fixed crowd, no auth, shared by the session."""
    # imported here: collecting the other tests must not need the camera simulator
    from cameras.simulator.scene import SceneRoi
    from cameras.simulator.virtual_camera import VirtualCamera

    roi = SceneRoi("waiting", VIRTUAL_ROI_POLYGON)
    cam = VirtualCamera([roi], lambda _t: {"waiting": VIRTUAL_PEOPLE}, fps=10)
    cam.start()
    try:
        yield cam
    finally:
        cam.stop()


@pytest.fixture
def rtsp_server(
    tmp_path_factory: pytest.TempPathFactory, mjpeg_camera: VirtualCamera
) -> Iterator[RtspServer]:
    """An RTSP server of the test's own re-encoding ``mjpeg_camera``, with Digest auth."""
    server = RtspServer(
        tmp_path_factory.mktemp("rtsp"),
        source_url=mjpeg_camera.stream_url,
        username=RTSP_USERNAME,
        password=RTSP_PASSWORD,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
