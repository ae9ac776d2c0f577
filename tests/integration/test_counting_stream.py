"""Counting through a real stream: the virtual camera's HTTP MJPEG, decoded by OpenCV, counted.

The scene's people are JPEG-encoded by the virtual camera's server, travel
over a loopback socket, are decoded by cv2.VideoCapture (FFmpeg) and counted
by the density estimator with its default calibration; the counts must follow
the camera's ground truth as it changes, day and night.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from cameras.estimators import build_estimator
from cameras.simulator.accuracy import LOBBY_ROIS, camera
from cameras.simulator.virtual_camera import VirtualCamera
from gateway.settings import CountingConfig

pytestmark = pytest.mark.integration
EMPTY_FRAMES = 24  # the lobby is empty for the first frames counted: the background starts clean
FPS = 8
PEOPLE = {"waiting": 10, "counters": 6}
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
def test_counts_from_the_mjpeg_stream_follow_the_truth(night: bool) -> None:
    # Counted frames, not wall time: the people come in once the estimator has seen
    # EMPTY_FRAMES empty frames, and the estimator's clock is the frame count / FPS.
    seen_frames = [0]

    def counts_at(_t_s: float) -> dict[str, int]:
        return {} if seen_frames[0] < EMPTY_FRAMES else PEOPLE

    estimator = build_estimator(camera(LOBBY_ROIS, CountingConfig(smoothing_tau_s=1.0)), {})
    with VirtualCamera(LOBBY_ROIS, counts_at, night_at=lambda _t: night, fps=FPS) as cam:
        capture = cv2.VideoCapture(cam.stream_url, cv2.CAP_FFMPEG)
        assert capture.isOpened(), "OpenCV could not open the MJPEG stream"
        deadline = time.monotonic() + 60  # a bound for a stuck stream, not a measure
        seen: dict[str, list[int]] = {"waiting": [], "counters": []}
        modes = set()
        try:
            while time.monotonic() < deadline and len(seen["waiting"]) < 24:
                ok, frame = capture.read()
                assert ok, "the stream ended"
                truth = cam.truth
                at = T0 + timedelta(seconds=seen_frames[0] / FPS)
                seen_frames[0] += 1
                for e in estimator.estimate(np.asarray(frame), at):
                    modes.add(e.mode)
                    # score once the people have been there for a while
                    if truth.get(e.zone_id, 0) == PEOPLE[e.zone_id]:
                        seen[e.zone_id].append(e.count)
        finally:
            capture.release()
    assert len(seen["waiting"]) >= 24, "too few frames arrived in 60 s"
    assert modes == {"night" if night else "day"}
    for zone, counts in seen.items():
        settled = counts[-8:]
        assert abs(float(np.mean(settled)) - PEOPLE[zone]) <= 2.0, (zone, counts)
