"""The pure part of capture: URLs and credentials, FFmpeg options, schedules, health.

No I/O, no clock reads: times are monotonic seconds passed in as values. The
shell (``cameras/capture.py``) owns the threads, OpenCV and HTTP.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

SourceKind = Literal["rtsp", "http", "file"]


class CaptureState(StrEnum):
    """What the capture thread of one camera is doing now."""

    STARTING = "starting"
    WAITING_SESSION = "waiting_session"  # all sessions of the camera's host are taken
    CONNECTING = "connecting"
    STREAMING = "streaming"
    SNAPSHOT = "snapshot"  # polling JPEG snapshots instead of a stream
    RECONNECTING = "reconnecting"  # waiting out the backoff before the next attempt
    STOPPED = "stopped"


# --------------------------------------------------------------------------- URLs


def source_kind(url: str) -> SourceKind:
    """rtsp(s):// -> rtsp, http(s):// -> http, anything else (a path, file://) -> file."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("rtsp", "rtsps", "rtspt"):
        return "rtsp"
    if scheme in ("http", "https"):
        return "http"
    return "file"


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``rtsp://u:p@h/x`` -> (``rtsp://h/x``, "u", "p"); userinfo is percent-decoded."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    netloc = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """Put credentials into a URL's userinfo, percent-encoded (``@``, ``:``, ``/`` are safe).

    Any userinfo already in ``url`` is replaced. Files and URLs without a user
    come back unchanged. The result lives in memory only: never log it.
    """
    if not username or source_kind(url) == "file":
        return url
    clean, _, _ = split_credentials(url)
    parts = urlsplit(clean)
    userinfo = quote(username, safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    netloc = f"{userinfo}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_url(url: str) -> str:
    """The URL without userinfo and query (queries of cameras carry passwords too)."""
    if source_kind(url) == "file":
        return url
    clean, _, _ = split_credentials(url)
    parts = urlsplit(clean)
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def url_host(url: str) -> str:
    """The host a URL talks to (the key of the per-host session limit); files: 'file'."""
    if source_kind(url) == "file":
        return "file"
    return (urlsplit(url).hostname or "").lower()


def ffmpeg_options(transport: Literal["tcp", "udp"], *, stall_s: float) -> str:
    """The value of OPENCV_FFMPEG_CAPTURE_OPTIONS for an RTSP open ("key;value|key;value").

    ``timeout`` is FFmpeg's RTSP socket timeout in microseconds, a second guard
    besides OpenCV's read timeout; ``analyzeduration`` keeps the probe short so
    that a reconnect shows frames again within a second or two.
    """
    timeout_us = int(stall_s * 1_000_000)
    return f"rtsp_transport;{transport}|timeout;{timeout_us}|analyzeduration;1000000"


# --------------------------------------------------------------------------- schedules


def next_due(previous_due: float, period_s: float, now: float) -> float:
    """The next analysis time after ``previous_due``: a fixed rate that never catches up.

    When analysis fell behind (a slow frame), the missed slots are dropped
    instead of run back to back: the next one is ``now``.
    """
    due = previous_due + period_s
    return due if due > now else now


def stream_due(snapshot_since: float, now: float, retry_s: float) -> bool:
    """While on snapshots, whether it is time to try the stream again."""
    return now - snapshot_since >= retry_s


SNAPSHOT_STALE_POLLS = 5  # the same picture this many polls in a row: frozen, not live


class StaleSnapshots:
    """Whether snapshot polling keeps returning the very same picture.

    A live camera's sensor noise changes every JPEG; a frozen video pipeline
    (or a cached snapshot) returns identical bytes. ``seen(digest)`` is True
    from the ``limit``-th identical picture in a row on."""

    def __init__(self, limit: int = SNAPSHOT_STALE_POLLS) -> None:
        self.limit = limit
        self._last: bytes | None = None
        self._repeats = 0

    def seen(self, digest: bytes) -> bool:
        self._repeats = self._repeats + 1 if digest == self._last else 1
        self._last = digest
        return self._repeats >= self.limit


# --------------------------------------------------------------------------- frame rate

SETTLE_S = 1.0  # frames of the first second after an open are the decoder's backlog


class FrameRate:
    """The frame rate of a live stream, from the arrival times of its frames.

    When a stream opens, FFmpeg has already read ahead while probing it: the
    first frames come out of its buffer back to back, at decode speed, not at
    the camera's rate (counted as live, a 10 fps stream read as 18 fps over 3 s
    and 342 fps in the first health report). ``opened(now)`` starts a new
    measurement: frames of the next ``settle_s`` are counted as ``buffered``
    and left out; the backlog drains in a fraction of that (decoding is many
    times faster than real time). The rate is then measured over the live
    frames of the last ``window_s`` seconds: ``(frames - 1) / span``. Until
    they span ``min_span_s`` the rate is unknown (None), never 0.0 and never
    a burst. Times are monotonic seconds passed in: pure.
    """

    def __init__(self, window_s: float = 5.0, settle_s: float = SETTLE_S, min_span_s: float = 1.0):
        self.window_s = window_s
        self.settle_s = settle_s
        self.min_span_s = min_span_s
        self._times: deque[float] = deque()
        self._live_from = float("-inf")
        self.buffered = 0  # frames left out since the last open
        self.live = 0  # frames counted since the last open

    def opened(self, now: float, settle_s: float | None = None) -> None:
        self._times.clear()
        self._live_from = now + (self.settle_s if settle_s is None else settle_s)
        self.buffered = self.live = 0

    def frame(self, now: float) -> None:
        if now < self._live_from:
            self.buffered += 1
            return
        self.live += 1
        self._times.append(now)
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()

    def fps(self, now: float) -> float | None:
        times = [t for t in self._times if t >= now - self.window_s]
        if len(times) < 2 or times[-1] - times[0] < self.min_span_s:
            return None
        return (len(times) - 1) / (times[-1] - times[0])


# --------------------------------------------------------------------------- health


Status = Literal["streaming", "degraded", "offline"]

#: What a capture failure means, in words a person can act on (the ``reason``
#: tokens of the health detail). Kept free of the words the alert rules look
#: for ("stall" raises camera_stalled, "tamper" camera_tampered) except where meant.
ADVICE: dict[str, str] = {
    "open_failed": "the stream could not be opened: check that the camera is powered and"
    " reachable, its RTSP port (554) open, and the stream user and password",
    "stream_ended": "the camera closed the stream or the network link broke",
    "stalled": "the connection stayed open but frames stopped (camera overloaded or hung)",
    "no_frame": "the stream opened but sent no picture (a codec OpenCV cannot decode?)",
    "no_source": "no stream or snapshot URL: set stream_uri, or let ONVIF find them",
    "snapshot_failed": "snapshots fail too: check the camera's HTTP port and credentials",
    "snapshot_stale": "the camera's snapshot has not changed for several polls: its picture"
    " is frozen (restart the camera's video service)",
    "stream_lookup_failed": "asking the camera for its stream over ONVIF failed",
}
DEGRADED = "counting from snapshots at lower confidence until the stream is back"


@dataclass(frozen=True, slots=True)
class CaptureHealth:
    """One camera's capture health at one moment.

    ``status``: ``streaming`` (frames from the stream), ``degraded`` (the
    stream is down; counting from snapshots, ``reason`` says why the stream
    is down) or ``offline`` (no frames at all; ``reason`` says why).
    """

    online: bool
    state: CaptureState
    fps: float | None
    frame_age_s: float | None
    resolution: tuple[int, int] | None  # width, height
    mode: SourceKind | Literal["snapshot"] | None
    offline_for_s: float | None
    reason: str | None
    retry_in_s: float | None
    advice: str | None = None

    @property
    def status(self) -> Status:
        if not self.online:
            return "offline"
        return "degraded" if self.mode == "snapshot" else "streaming"

    def detail(self) -> str:
        """``status=streaming state=streaming mode=rtsp frame_age_s=0.2 resolution=640x480``,
        then ``reason=…`` and its advice after a semicolon when there is one."""
        parts = [f"status={self.status}", f"state={self.state.value}"]
        if self.mode is not None:
            parts.append(f"mode={self.mode}")
        if self.frame_age_s is not None:
            parts.append(f"frame_age_s={self.frame_age_s:.1f}")
        if self.resolution is not None:
            parts.append(f"resolution={self.resolution[0]}x{self.resolution[1]}")
        if self.offline_for_s is not None:
            parts.append(f"offline_for_s={self.offline_for_s:.1f}")
        if self.retry_in_s is not None:
            parts.append(f"retry_in_s={self.retry_in_s:.1f}")
        if self.reason:
            parts.append(f"reason={self.reason}")
        text = " ".join(parts)
        return f"{text}; {self.advice}" if self.advice else text


class HealthTracker:
    """Frame times and state of one capture; the shell calls it under its own lock.

    A camera is online while its newest frame is younger than ``stall_s``.
    ``fps`` is a ``FrameRate`` over the live frames of the last ``window_s``
    seconds since the stream was (re)opened (``opened``): None while it is
    still being measured, 0.0 when offline.
    """

    def __init__(self, stall_s: float, window_s: float = 5.0, settle_s: float = SETTLE_S) -> None:
        self.stall_s = stall_s
        self.window_s = window_s
        self._rate = FrameRate(window_s, settle_s)
        self._last_frame: float | None = None
        self._resolution: tuple[int, int] | None = None
        self._state = CaptureState.STARTING
        self._mode: SourceKind | Literal["snapshot"] | None = None
        self._reason: str | None = None
        self._advice: str | None = None
        self._degraded: str | None = None  # why the stream is down while on snapshots
        self._degraded_advice: str | None = None
        self._retry_at: float | None = None
        self._started_at: float | None = None

    def started(self, now: float) -> None:
        self._started_at = now

    def opened(self, now: float, settle_s: float | None = None, *, snapshots: bool = False) -> None:
        """A stream (or snapshot polling) starts: measure its rate afresh.

        For snapshots the last stream failure is kept as the reason of the
        degraded state."""
        self._rate.opened(now, settle_s)
        if snapshots:
            self._degraded = self._reason or "no_stream"
            self._degraded_advice = self._advice
        else:
            self._degraded = None

    def frame(self, now: float, resolution: tuple[int, int] | None = None) -> float | None:
        """Count a frame; returns the length of the outage it ends (seconds), if any."""
        gap = now - self._last_frame if self._last_frame is not None else None
        self._last_frame = now
        self._reason = None
        self._advice = None
        self._rate.frame(now)
        if resolution is not None:
            self._resolution = resolution
        return gap if gap is not None and gap >= self.stall_s else None

    def state(
        self,
        state: CaptureState,
        now: float,
        *,
        mode: SourceKind | Literal["snapshot"] | None = None,
        reason: str | None = None,
        retry_in_s: float | None = None,
        advice: str | None = None,
    ) -> None:
        self._state = state
        if mode is not None:
            self._mode = mode
        if reason is not None:
            self._reason = reason
            self._advice = advice
        self._retry_at = now + retry_in_s if retry_in_s is not None else None

    def health(self, now: float) -> CaptureHealth:
        online = self._online(now)
        degraded = online and self._mode == "snapshot"
        reason = self._degraded if degraded else (None if online else self._reason)
        offline_since = self._last_frame if self._last_frame is not None else self._started_at
        frame_age = now - self._last_frame if self._last_frame is not None else None
        return CaptureHealth(
            online=online,
            state=self._state,
            fps=self._rate.fps(now) if online else 0.0,
            frame_age_s=frame_age,
            resolution=self._resolution,
            mode=self._mode,
            offline_for_s=None if online or offline_since is None else now - offline_since,
            reason=reason,
            retry_in_s=max(0.0, self._retry_at - now) if self._retry_at is not None else None,
            advice=self._advice_for(reason, online),
        )

    def _advice_for(self, reason: str | None, online: bool) -> str | None:
        if reason is None:
            return None
        if online:  # degraded: why the stream is down, and what we do meanwhile
            said = self._degraded_advice or ADVICE.get(reason)
            return f"{said}; {DEGRADED}" if said else DEGRADED
        return self._advice or ADVICE.get(reason)

    def _online(self, now: float) -> bool:
        return self._last_frame is not None and now - self._last_frame < self.stall_s
