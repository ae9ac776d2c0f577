"""Process-wide resources of capture: sessions per camera host, FFmpeg's options variable. Shell.

Both are shared by every camera of the gateway: the session limiter because
cameras (and the channels of one NVR) allow only a few RTSP clients per host,
the options gate because OPENCV_FFMPEG_CAPTURE_OPTIONS is one environment
variable of the process that OpenCV reads when a capture opens.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FFMPEG_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


class SessionLimiter:
    """Semaphores keyed by camera host: at most ``limit`` open streams per host.

    One instance is shared by every capture of the gateway (the composition
    root makes it); the first limit asked for a host is the one that holds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def _semaphore(self, host: str, limit: int) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._slots.get(host)
            if sem is None:
                sem = self._slots[host] = threading.BoundedSemaphore(limit)
            return sem

    @contextmanager
    def slot(self, host: str, limit: int, stop: threading.Event) -> Iterator[bool]:
        """Hold one session of ``host``; yields False if ``stop`` was set while waiting."""
        sem = self._semaphore(host, limit)
        got = False
        while not stop.is_set() and not got:
            got = sem.acquire(timeout=0.2)
        try:
            yield got
        finally:
            if got:
                sem.release()


class _FfmpegOptionsGate:
    """OPENCV_FFMPEG_CAPTURE_OPTIONS is one process-wide variable, read when a capture opens.

    Opens that need the same value run concurrently; an open that needs
    another value waits until the opens in flight are done, then switches it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: str | None = None
        self._active = 0

    @contextmanager
    def options(self, value: str) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._active == 0 or self._value == value)
            if self._value != value:
                os.environ[FFMPEG_OPTIONS_ENV] = value
                self._value = value
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()


# The environment variable is global to the process, so its guard is too.
FFMPEG_GATE = _FfmpegOptionsGate()
