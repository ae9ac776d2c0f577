"""Capture from a video file: paced at the file's frame rate, looping at its end."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from cameras.capture import SessionLimiter
from cameras.worker import CameraWorker
from gateway.observations import PeopleCount
from tests.integration.capture_support import ShapeEstimator, Sink, camera_config, in_mode

pytestmark = pytest.mark.integration
FPS = 10


def _write_video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (320, 240))
    assert writer.isOpened()
    for i in range(frames):
        # brightness rises with the frame number: the test estimator's "count" shows where we are
        writer.write(np.full((240, 320, 3), 20 + i * 20, dtype=np.uint8))
    writer.release()


def test_file_is_paced_and_loops(tmp_path: Path) -> None:
    video = tmp_path / "lobby.avi"
    _write_video(video, frames=10)  # one second
    sink = Sink()
    estimator = ShapeEstimator()
    worker = CameraWorker(
        camera_config(str(video), analysis_fps=10), estimator, sink, limiter=SessionLimiter()
    )
    started = time.monotonic()
    worker.start()
    try:
        sink.wait_for(in_mode("file"), 10)
        counts: list[int] = []
        while len(counts) < 25:  # 2.5 s of analysis at 10 fps over a 1 s file
            obs = sink.wait_for(lambda o: isinstance(o, PeopleCount), 5)
            assert isinstance(obs, PeopleCount)
            counts.append(obs.count)
    finally:
        worker.stop()
    elapsed = time.monotonic() - started
    capture = worker.capture
    assert capture is not None and capture.opens == 1
    assert set(estimator.shapes) == {(240, 320, 3)}
    # looped: more frames than the file holds, from one open
    assert capture.frames_received > 10
    # paced: never faster than the file's rate (a bound a loaded machine only keeps easier)
    assert capture.frames_received - 1 <= elapsed * FPS + 1
    # the counts climb frame by frame and fall only where the file starts over (once per
    # 10 frames at most); a file read flat out would show no order at all
    drops = sum(1 for a, b in zip(counts, counts[1:], strict=False) if b < a)
    assert drops <= capture.frames_received // 10 + 1, counts
