"""Counting through a real stream: the virtual camera's HTTP MJPEG, decoded by OpenCV, counted.

The scene's people are JPEG-encoded by the virtual camera's server, travel
over a loopback socket, are decoded by cv2.VideoCapture (FFmpeg) and counted
by the density estimator with its default calibration; the counts must follow
the camera's ground truth as it changes, day and night.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from cameras.estimators import build_estimator
from cameras.simulator.accuracy import LOBBY_ROIS, camera
from cameras.simulator.virtual_camera import VirtualCamera
from gateway.settings import CountingConfig

pytestmark = pytest.mark.integration
EMPTY_S = 3.0  # the lobby is empty for the first seconds: the background starts clean
PEOPLE = {"waiting": 10, "counters": 6}


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
def test_counts_from_the_mjpeg_stream_follow_the_truth(night: bool) -> None:
    def counts_at(t_s: float) -> dict[str, int]:
        return {} if t_s < EMPTY_S else PEOPLE

    estimator = build_estimator(camera(LOBBY_ROIS, CountingConfig(smoothing_tau_s=1.0)), {})
    with VirtualCamera(LOBBY_ROIS, counts_at, night_at=lambda _t: night, fps=8) as cam:
        capture = cv2.VideoCapture(cam.stream_url, cv2.CAP_FFMPEG)
        assert capture.isOpened(), "OpenCV could not open the MJPEG stream"
        deadline = time.monotonic() + 30
        seen: dict[str, list[int]] = {"waiting": [], "counters": []}
        modes = set()
        try:
            while time.monotonic() < deadline and len(seen["waiting"]) < 24:
                ok, frame = capture.read()
                assert ok, "the stream ended"
                truth = cam.truth
                for e in estimator.estimate(np.asarray(frame), datetime.now(UTC)):
                    modes.add(e.mode)
                    # score once the people have been there for a while
                    if truth.get(e.zone_id, 0) == PEOPLE[e.zone_id]:
                        seen[e.zone_id].append(e.count)
        finally:
            capture.release()
    assert len(seen["waiting"]) >= 24, "too few frames arrived in 30 s"
    assert modes == {"night" if night else "day"}
    for zone, counts in seen.items():
        settled = counts[-8:]
        assert abs(float(np.mean(settled)) - PEOPLE[zone]) <= 2.0, (zone, counts)
