"""Frame capture from one camera: RTSP, HTTP MJPEG or a file; snapshots as fallback. Shell.

One thread per camera (``capture-<id>``) keeps a stream open with OpenCV's
FFmpeg backend and grabs every frame as it arrives, so nothing queues up in
the decoder or the socket; a frame is converted to BGR only when the analysis
asks for one (``next_frame``), so analysis always sees the newest frame and
never a backlog. A stream that ends or stalls (no frame for ``stall_s``) is
closed and reopened with capped exponential backoff and jitter. Streams to
one host share a limit of concurrent sessions (``SessionLimiter``). When the
stream cannot be opened ``snapshot_after_failures`` times in a row, HTTP JPEG
snapshots are polled instead, and the stream is tried again every
``stream_retry_s``.

Credentials are put into the URL in memory, for the open call only; every
URL that is logged goes through ``redact_url`` first (and the structlog
scrubber of ``gateway.logs`` is the second guard).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
import structlog
from numpy.typing import NDArray
from pydantic import SecretStr

from cameras.capture_core import (
    CaptureHealth,
    CaptureState,
    HealthTracker,
    StaleSnapshots,
    ffmpeg_options,
    redact_url,
    source_kind,
    split_credentials,
    stream_due,
    url_host,
    with_credentials,
)
from cameras.capture_sessions import FFMPEG_GATE, SessionLimiter
from cameras.snapshot import SnapshotClient, SnapshotError
from gateway.logs import scrub_text
from gateway.settings import CaptureConfig
from sensors.backoff import backoff_delay

log = structlog.get_logger("floorwatch.cameras.capture")

Image = NDArray[np.uint8]
SNAPSHOT_FAILURES = 3  # failed snapshots in a row that end a snapshot session (then back off)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame (BGR), when it arrived, and its sequence number in the capture."""

    image: Image
    at: datetime
    monotonic: float
    seq: int


@dataclass(frozen=True, slots=True)
class CaptureSources:
    """Where a camera's frames come from; ``None`` where it has no such endpoint."""

    stream_url: str | None
    snapshot_url: str | None = None


SourceResolver = Callable[[], CaptureSources]


class Capture:
    """Keeps one camera's frames coming; see the module doc. ``start()`` starts the thread."""

    def __init__(
        self,
        camera_id: str,
        config: CaptureConfig,
        sources: CaptureSources | SourceResolver,
        *,
        limiter: SessionLimiter,
        username: str | None = None,
        password: SecretStr | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.camera_id = camera_id
        self._cfg = config
        self._resolve: SourceResolver = sources if callable(sources) else _fixed(sources)
        self._limiter = limiter
        self._username = username
        self._password = password
        self._rand = rand
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._wanted = threading.Event()
        self._tracker = HealthTracker(config.stall_s)
        self.opens = 0  # stream sessions opened so far (tests and `cameras check`)
        self.open_failures = 0  # failed opens in a row
        self.frames_received = 0  # frames grabbed or polled so far

    # ------------------------------------------------------------------ public

    def start(self) -> None:
        if self._thread is not None:
            return
        self._tracker.started(time.monotonic())
        self._thread = threading.Thread(
            target=self._main, name=f"capture-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread; a blocked open or read ends within its timeout."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("capture.stop_timeout", camera=self.camera_id)
        with self._cond:
            self._tracker.state(CaptureState.STOPPED, time.monotonic())

    def next_frame(self, newer_than: int, timeout_s: float) -> Frame | None:
        """The newest frame with ``seq > newer_than``, waiting up to ``timeout_s`` for it."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._stop.is_set():
                if self._frame is not None and self._frame.seq > newer_than:
                    self._wanted.clear()
                    return self._frame
                self._wanted.set()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
        return None

    def health(self) -> CaptureHealth:
        with self._cond:
            return self._tracker.health(time.monotonic())

    # ------------------------------------------------------------------ thread

    def _main(self) -> None:
        attempt = 0
        failures = 0
        while not self._stop.is_set():
            try:
                got_frames, failures, again = self._cycle(failures)
            except Exception as exc:  # the per-session guard: log, back off, go on
                log.warning("capture.failed", camera=self.camera_id, error=scrub_text(repr(exc)))
                got_frames, again = False, False
            if again:
                continue  # back from snapshots: try the stream at once
            if self._stop.is_set():
                break
            self._pause(attempt)
            attempt = 0 if got_frames else attempt + 1

    def _cycle(self, failures: int) -> tuple[bool, int, bool]:
        """One stream attempt, then snapshots when due.

        Returns (frames came, stream failures in a row, try the stream again at once).
        """
        try:
            sources = self._resolve()
        except Exception as exc:  # a resolver (e.g. ONVIF) failing is one failed attempt
            said = scrub_text(str(exc) or type(exc).__name__)
            if _worth_logging(failures + 1):
                log.warning("capture.resolve_failed", camera=self.camera_id, error=said)
            self._set_state(
                CaptureState.CONNECTING,
                reason="stream_lookup_failed",
                advice=f"asking the camera for its stream over ONVIF failed: {said}",
            )
            return False, failures + 1, False
        if sources.stream_url is None and sources.snapshot_url is None:
            self._no_source(failures + 1)
            return False, failures + 1, False
        if sources.stream_url is not None:
            if self._stream_session(sources.stream_url):
                return True, 0, False
            failures += 1
        snapshot_url = self._snapshot_fallback(sources, failures)
        if snapshot_url is None:
            return False, failures, False
        got = self._snapshot_session(snapshot_url, sources.stream_url)
        return got, failures, got and sources.stream_url is not None

    def _no_source(self, failures: int) -> None:
        if _worth_logging(failures):
            log.warning(
                "capture.no_source",
                camera=self.camera_id,
                reason="no stream or snapshot URL: set stream_uri, or let ONVIF find them",
            )
        self._set_state(CaptureState.CONNECTING, reason="no_source")

    def _snapshot_fallback(self, sources: CaptureSources, failures: int) -> str | None:
        """The snapshot URL to poll now, if the stream is missing or failed often enough."""
        cfg = self._cfg
        if not cfg.snapshot_fallback or sources.snapshot_url is None:
            return None
        if sources.stream_url is None or failures >= cfg.snapshot_after_failures:
            return sources.snapshot_url
        return None

    def _pause(self, attempt: int) -> None:
        cfg = self._cfg
        delay = backoff_delay(attempt, cfg.reconnect_min_s, cfg.reconnect_max_s, self._rand)
        self._set_state(CaptureState.RECONNECTING, retry_in_s=delay)
        self._stop.wait(delay)

    def _set_state(self, state: CaptureState, **kw: Any) -> None:
        with self._cond:
            self._tracker.state(state, time.monotonic(), **kw)

    def _publish(self, image: Image | None, now: float, resolution: tuple[int, int] | None) -> None:
        """Count a frame (and store it, when one was retrieved)."""
        with self._cond:
            self.frames_received += 1
            outage = self._tracker.frame(now, resolution)
            if image is not None:
                self._seq += 1
                self._frame = Frame(image, datetime.now(UTC), now, self._seq)
                self._cond.notify_all()
        if outage is not None:
            log.info("capture.recovered", camera=self.camera_id, outage_s=round(outage, 1))

    # ------------------------------------------------------------------ streams

    def _stream_session(self, url: str) -> bool:
        """Open, grab until the stream ends or stalls; True if any frame came."""
        clean, url_user, url_password = split_credentials(url)
        kind = source_kind(clean)
        host = url_host(clean)
        self._set_state(CaptureState.WAITING_SESSION, mode=kind)
        with self._limiter.slot(host, self._cfg.max_sessions, self._stop) as got:
            if not got:
                return False
            self._set_state(CaptureState.CONNECTING, mode=kind)
            cap = self._open(clean, url_user, url_password)
            if cap is None:
                return False
            self.opens += 1
            log.info("capture.opened", camera=self.camera_id, url=redact_url(clean), kind=kind)
            with self._cond:
                self._tracker.opened(time.monotonic(), settle_s=0.0 if kind == "file" else None)
            self._set_state(CaptureState.STREAMING, mode=kind)
            try:
                return self._grab_loop(cap, clean, kind == "file")
            finally:
                cap.release()

    def _open(self, clean: str, url_user: str | None, url_password: str | None) -> Any:
        cfg = self._cfg
        user = url_user if url_user is not None else self._username
        password = url_password
        if password is None and self._password is not None:
            password = self._password.get_secret_value()
        target = with_credentials(clean, user, password)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(cfg.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(cfg.stall_s * 1000),
        ]
        with FFMPEG_GATE.options(ffmpeg_options(cfg.transport, stall_s=cfg.stall_s)):
            cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        del target
        if cap.isOpened():
            self.open_failures = 0
            return cap
        cap.release()
        self.open_failures += 1
        if _worth_logging(self.open_failures):
            log.warning(
                "capture.open_failed",
                camera=self.camera_id,
                url=redact_url(clean),
                failures=self.open_failures,
                reason="the stream could not be opened (unreachable, refused, wrong password"
                " or no decodable video)",
            )
        self._set_state(CaptureState.CONNECTING, reason="open_failed")
        return None

    def _grab_loop(self, cap: Any, url: str, is_file: bool) -> bool:
        last_at: float | None = None  # when the newest frame came
        period = _file_period(cap) if is_file else 0.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            if not cap.grab():
                if is_file and last_at and cap.set(cv2.CAP_PROP_POS_FRAMES, 0) and cap.grab():
                    pass  # a file loops: a recording standing in for a live camera
                else:
                    self._ended(url, last_at)
                    return last_at is not None
            now = time.monotonic()
            image = None
            if self._wanted.is_set() or last_at is None:
                ok, retrieved = cap.retrieve()
                image = retrieved if ok and retrieved is not None else None
            resolution = (image.shape[1], image.shape[0]) if image is not None else None
            self._publish(image, now, resolution)
            last_at = now
            if is_file:
                next_at += period
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        return last_at is not None

    def _ended(self, url: str, last_at: float | None) -> None:
        """The stream failed: ``stalled`` when the read timed out, ``stream_ended`` when closed."""
        if last_at is None:
            reason = "no_frame"
        elif time.monotonic() - last_at >= 0.9 * self._cfg.stall_s:
            reason = "stalled"  # connection open, frames stopped: OpenCV's read timeout
        else:
            reason = "stream_ended"  # the camera closed the stream or the connection broke
        log.warning(
            "capture.stream_lost",
            camera=self.camera_id,
            url=redact_url(url),
            reason=reason,
            stall_s=self._cfg.stall_s,
        )
        self._set_state(CaptureState.CONNECTING, reason=reason)

    # ------------------------------------------------------------------ snapshots

    def _snapshot_session(self, url: str, stream_url: str | None) -> bool:
        """Poll JPEG snapshots until they fail SNAPSHOT_FAILURES times, or the stream is due."""
        cfg = self._cfg
        clean, url_user, url_password = split_credentials(url)
        user = url_user if url_user is not None else self._username
        password = url_password
        if password is None and self._password is not None:
            password = self._password.get_secret_value()
        started = time.monotonic()
        got_any = False
        failures = 0
        stale = StaleSnapshots()
        stale_logged = False
        with self._cond:  # a snapshot is never a backlog; the stream's failure stays the reason
            self._tracker.opened(started, settle_s=0.0, snapshots=stream_url is not None)
        self._set_state(CaptureState.SNAPSHOT, mode="snapshot")
        log.info("capture.snapshot_polling", camera=self.camera_id, url=redact_url(clean))
        with SnapshotClient(clean, user, password, timeout_s=cfg.open_timeout_s) as client:
            while not self._stop.is_set() and failures < SNAPSHOT_FAILURES:
                if stream_url is not None and stream_due(
                    started, time.monotonic(), cfg.stream_retry_s
                ):
                    break
                tick = time.monotonic()
                try:
                    image = client.fetch()
                except SnapshotError as exc:
                    failures += 1
                    log.warning("capture.snapshot_failed", camera=self.camera_id, reason=str(exc))
                    self._set_state(CaptureState.SNAPSHOT, reason="snapshot_failed")
                else:
                    failures = 0
                    digest = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
                    if stale.seen(digest):  # frozen: not a frame; offline after stall_s
                        if not stale_logged:
                            log.warning("capture.snapshot_stale", camera=self.camera_id)
                        stale_logged = True
                        self._set_state(CaptureState.SNAPSHOT, reason="snapshot_stale")
                    else:
                        stale_logged = False
                        got_any = True
                        self._publish(image, time.monotonic(), (image.shape[1], image.shape[0]))
                self._stop.wait(max(0.0, tick + cfg.snapshot_interval_s - time.monotonic()))
        return got_any


def _worth_logging(failures: int) -> bool:
    """Log the 1st, 2nd, 3rd, 10th, 100th, ... failure in a row: an outage is not a log storm."""
    return failures <= 3 or (failures % 10 == 0 and str(failures).rstrip("0") == "1")


def _fixed(sources: CaptureSources) -> SourceResolver:
    def resolve() -> CaptureSources:
        return sources

    return resolve


def _file_period(cap: Any) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return 1.0 / fps if 0.5 <= fps <= 120 else 0.1


__all__ = [
    "Capture",
    "CaptureHealth",
    "CaptureSources",
    "CaptureState",
    "Frame",
    "SessionLimiter",
    "SnapshotError",
    "SourceResolver",
]
