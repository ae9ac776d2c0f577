"""Capture benchmark: CPU per received frame of floorwatch's capture against a bare read loop.

    .venv/bin/python -m bench.capture [--seconds 8] [--fps 25]

One GStreamer RTSP server (a separate process, test pattern, 640x480 H.264)
is read in turn by
  (a) ceiling: a bare ``cv2.VideoCapture.read()`` loop that decodes and
      converts every frame (what most capture code does);
  (b) floorwatch's ``Capture`` with the analysis taking the newest frame at
      5 fps: every frame is grabbed (decoded), only the analysed ones are
      converted to BGR;
and prints the process CPU seconds per received frame of each and the ratio
b/a (lower is better; < 1.0 means the capture machinery costs less than a
bare loop). Both receive the same stream, so the frame rates must match too.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2

from cameras.capture import Capture, CaptureSources, SessionLimiter
from gateway.peers.rtsp import RtspServer
from gateway.settings import CaptureConfig


def bare(url: str, seconds: float) -> tuple[int, float]:
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp"
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise SystemExit("the bare loop could not open the stream")
    for _ in range(10):  # the probe's burst
        cap.read()
    frames, cpu0, end = 0, time.process_time(), time.monotonic() + seconds
    while time.monotonic() < end:
        ok, _ = cap.read()
        frames += ok
    cpu = time.process_time() - cpu0
    cap.release()
    return frames, cpu


def ours(url: str, seconds: float, analysis_fps: float) -> tuple[int, float]:
    capture = Capture("bench", CaptureConfig(), CaptureSources(url), limiter=SessionLimiter())
    capture.start()
    try:
        first = capture.next_frame(0, timeout_s=20)
        if first is None:
            raise SystemExit("the capture got no frame")
        time.sleep(1.0)  # past the probe's burst
        seq, analysed = first.seq, 0
        frames0 = _received(capture)
        cpu0, end = time.process_time(), time.monotonic() + seconds
        while time.monotonic() < end:
            frame = capture.next_frame(seq, timeout_s=1.0)
            if frame is not None:
                seq, analysed = frame.seq, analysed + 1
            time.sleep(1.0 / analysis_fps)
        cpu = time.process_time() - cpu0
        frames = _received(capture) - frames0
    finally:
        capture.stop()
    return frames, cpu


def _received(capture: Capture) -> int:
    return capture.frames_received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--fps", type=int, default=25, help="the stream's frame rate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, RtspServer(Path(folder), fps=args.fps) as rtsp:
        a_frames, a_cpu = bare(rtsp.url, args.seconds)
        b_frames, b_cpu = ours(rtsp.url, args.seconds, analysis_fps=5)
    a = a_cpu / max(a_frames, 1)
    b = b_cpu / max(b_frames, 1)
    print(f"stream: 640x480 H.264 at {args.fps} fps over RTSP/TCP, {args.seconds:.0f} s each")
    print(
        f"(a) bare read() loop:       {a_frames / args.seconds:5.1f} fps, {a * 1000:.2f} ms CPU/frame"
    )
    print(
        f"(b) floorwatch Capture:     {b_frames / args.seconds:5.1f} fps, {b * 1000:.2f} ms CPU/frame"
    )
    print(f"ratio b/a (CPU per frame):  {b / a:.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
