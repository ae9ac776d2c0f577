"""Open a stream URI with OpenCV for a few seconds and measure its frame rate.

Used by ``floorwatch cameras check``. The blocking OpenCV calls run in a
worker thread (``probe_stream_async``); the event loop never waits on them.
The rate is measured as the capture measures it (``capture_core.FrameRate``):
frames FFmpeg buffered while opening the stream come out back to back and
are left out (the first ``SETTLE_S`` after the open), then the live frames of
``seconds`` are counted against the clock.
Credentials are put into the URL in memory only; nothing here logs or
returns the URL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import cv2

from cameras.capture_core import SETTLE_S, FrameRate, ffmpeg_options
from cameras.capture_sessions import FFMPEG_GATE


@dataclass(frozen=True, slots=True)
class StreamProbe:
    opened: bool
    frames: int = 0
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None
    live: int = 0  # frames the rate was measured over
    buffered: int = 0  # frames read out of FFmpeg's opening buffer, not counted

    def describe(self) -> str:
        if not self.opened:
            return f"NOT opened ({self.error or 'no frames'})"
        size = f"{self.width}x{self.height}" if self.width else "?"
        fps = f"{self.fps:.1f} fps" if self.fps is not None else "fps unknown"
        if not self.live:
            return f"opened, {size}, {fps} ({self.frames} frames)"
        return (
            f"opened, {size}, {fps} measured over {self.live} live frames"
            f" ({self.buffered} buffered at open not counted)"
        )


def with_userinfo(url: str, username: str | None, password: str | None) -> str:
    """``rtsp://h/x`` -> ``rtsp://user:pass@h/x`` (percent-encoded); unchanged without a user
    or when the URL already carries credentials. Keep the result in memory only."""
    parts = urlsplit(url)
    if not username or parts.scheme not in ("rtsp", "rtsps", "http", "https"):
        return url
    if "@" in parts.netloc:
        return url
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", *parts[2:]))


def probe_stream(
    url: str,
    seconds: float = 3.0,
    open_timeout_s: float = 10.0,
    *,
    settle_s: float = SETTLE_S,
    clock: Callable[[], float] = time.monotonic,
) -> StreamProbe:
    """Blocking: open, leave out the opening backlog, count live frames for ``seconds``."""
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
    ]
    # TCP interleaved RTSP (the transport cameras and NAT paths handle best) and
    # a short probe, as the capture opens streams
    with FFMPEG_GATE.options(ffmpeg_options("tcp", stall_s=open_timeout_s)):
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    try:
        if not cap.isOpened():
            return StreamProbe(opened=False, error="OpenCV could not open the stream")
        opened = clock()
        ok, frame = cap.read()
        if not ok or frame is None:
            return StreamProbe(opened=False, error="opened, but no frame arrived")
        height, width = frame.shape[:2]
        if urlsplit(url).scheme not in ("rtsp", "rtsps", "http", "https"):
            nominal = float(cap.get(cv2.CAP_PROP_FPS) or 0)  # a file reads as fast as we can
            return StreamProbe(True, 1, nominal or None, int(width), int(height))
        return _measure(cap, opened, seconds, settle_s, clock, (int(width), int(height)))
    finally:
        cap.release()


def _measure(
    cap: cv2.VideoCapture,
    opened: float,
    seconds: float,
    settle_s: float,
    clock: Callable[[], float],
    size: tuple[int, int],
) -> StreamProbe:
    rate = FrameRate(window_s=seconds + settle_s, settle_s=settle_s)
    rate.opened(opened)
    rate.frame(clock())  # the first frame, read above
    frames = 1
    while clock() - opened < settle_s + seconds:
        if not cap.grab():  # no conversion to BGR: the rate, not the pixels
            break
        frames += 1
        rate.frame(clock())
    return StreamProbe(
        True, frames, rate.fps(clock()), size[0], size[1], live=rate.live, buffered=rate.buffered
    )


async def probe_stream_async(
    url: str, seconds: float = 3.0, open_timeout_s: float = 10.0
) -> StreamProbe:
    return await asyncio.to_thread(probe_stream, url, seconds, open_timeout_s)
