"""Open a stream URI with OpenCV for a few seconds and measure its frame rate.

Used by ``floorwatch cameras check``. The blocking OpenCV calls run in a
worker thread (``probe_stream_async``); the event loop never waits on them.
Credentials are put into the URL in memory only; nothing here logs or
returns the URL.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import cv2


@dataclass(frozen=True, slots=True)
class StreamProbe:
    opened: bool
    frames: int = 0
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None

    def describe(self) -> str:
        if not self.opened:
            return f"NOT opened ({self.error or 'no frames'})"
        size = f"{self.width}x{self.height}" if self.width else "?"
        fps = f"{self.fps:.1f} fps" if self.fps is not None else "fps unknown"
        return f"opened, {size}, {fps} measured ({self.frames} frames)"


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


def probe_stream(url: str, seconds: float = 3.0, open_timeout_s: float = 10.0) -> StreamProbe:
    """Blocking: read frames for ``seconds`` after the first one; fps = frames / elapsed."""
    if url.startswith("rtsp"):
        # TCP interleaved RTSP: the transport cameras and NAT paths handle best.
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
    ]
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    try:
        if not cap.isOpened():
            return StreamProbe(opened=False, error="OpenCV could not open the stream")
        ok, frame = cap.read()
        if not ok or frame is None:
            return StreamProbe(opened=False, error="opened, but no frame arrived")
        height, width = frame.shape[:2]
        is_network = urlsplit(url).scheme in ("rtsp", "rtsps", "http", "https")
        start = time.monotonic()
        frames = 0
        while time.monotonic() - start < seconds:
            ok, _ = cap.read()
            if not ok:
                break
            frames += 1
        elapsed = time.monotonic() - start
        if is_network:
            fps = frames / elapsed if elapsed > 0 else None
        else:
            nominal = float(cap.get(cv2.CAP_PROP_FPS) or 0)  # a file reads as fast as we can
            fps = nominal or None
        return StreamProbe(True, frames + 1, fps, int(width), int(height))
    finally:
        cap.release()


async def probe_stream_async(
    url: str, seconds: float = 3.0, open_timeout_s: float = 10.0
) -> StreamProbe:
    return await asyncio.to_thread(probe_stream, url, seconds, open_timeout_s)
