"""One camera's worker: capture -> estimator -> PeopleCount + DeviceHealth observations. Shell.

Two threads per camera, both off the event loop: the capture thread
(``cameras/capture.py``) keeps the newest frame, and the analysis thread
(``analysis-<id>``) takes it at ``analysis_fps``, counts people per ROI with
the estimator and hands the observations to ``emit``. ``emit`` must be
thread-safe (the composition root passes the gateway inbox's ``put``). Health
goes out every ``capture.health_interval_s`` and at once when the camera
goes offline or comes back, and once more as soon as the frame rate of a
(re)opened stream is measured (``fps`` is None until then, never the
opening burst nor 0.0 while frames arrive).

The constructor only stores its arguments; ``start()`` (or ``await run()``)
starts the work.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
import structlog
from numpy.typing import NDArray

from cameras.background_store import BackgroundStore
from cameras.capture import Capture, CaptureSources, Frame, SessionLimiter, SourceResolver
from cameras.capture_core import CaptureHealth, next_due
from cameras.models import Mode
from gateway.observations import DeviceHealth, DeviceKind, Observation, PeopleCount
from gateway.settings import CameraConfig

log = structlog.get_logger("floorwatch.cameras.worker")

Emit = Callable[[Observation], None]
#: Counts from snapshots (the stream is down) weigh this much of their usual
#: confidence: one picture a second or slower, and nothing proves it is live.
DEGRADED_CONFIDENCE = 0.5


class ZoneCount(Protocol):
    """What the worker reads of an estimate (``cameras.models.ZoneEstimate`` has it)."""

    @property
    def zone_id(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def confidence(self) -> float: ...


class FrameEstimator(Protocol):
    """``cameras.estimators.Estimator``: counts per zone in one BGR frame."""

    def estimate(self, frame: NDArray[np.uint8], at: datetime) -> Sequence[ZoneCount]: ...


@runtime_checkable
class KeepsBackground(Protocol):
    """An estimator whose empty-scene background can be kept across restarts."""

    def seed_background(self, mode: Mode, background: NDArray[np.uint8]) -> None: ...
    def empty_background(self, mode: Mode, at: datetime) -> NDArray[np.uint8] | None: ...


MODES: tuple[Mode, ...] = ("day", "night")
BACKGROUND_CHECK_S = 60.0  # how often the worker asks for an empty-scene background


def utc_now() -> datetime:
    return datetime.now(UTC)


def loop_resolver(
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[], Coroutine[Any, Any, CaptureSources]],
    timeout_s: float = 30.0,
) -> SourceResolver:
    """A resolver for the capture thread that runs an async lookup on the event loop.

    For ONVIF: ``fetch`` asks the camera for its stream and snapshot URIs
    (GetStreamUri / GetSnapshotUri); the capture calls the resolver before each
    (re)connect, so a camera that changed its URIs after a reboot is followed.
    A failing or slow lookup counts as one failed attempt (backoff applies).
    """

    def resolve() -> CaptureSources:
        return asyncio.run_coroutine_threadsafe(fetch(), loop).result(timeout_s)

    return resolve


@dataclass(slots=True)
class WorkerStats:
    frames_analysed: int = 0
    estimate_errors: int = 0
    emit_errors: int = 0
    health_sent: int = 0


class CameraWorker:
    """Runs one camera; see the module doc."""

    def __init__(
        self,
        camera: CameraConfig,
        estimator: FrameEstimator,
        emit: Emit,
        *,
        limiter: SessionLimiter,
        sources: CaptureSources | SourceResolver | None = None,
        clock: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
        backgrounds: BackgroundStore | None = None,
    ) -> None:
        self.camera = camera
        self._estimator = estimator
        self._emit = emit
        self._limiter = limiter
        self._sources = sources
        self._clock = clock
        self._rand = rand
        self._backgrounds = backgrounds
        self._background_check = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.capture: Capture | None = None
        self.stats = WorkerStats()

    def start(self) -> None:
        if self._thread is not None:
            return
        cam = self.camera
        self._seed_backgrounds()
        sources = self._sources or CaptureSources(cam.stream_uri, cam.capture.snapshot_uri)
        self.capture = Capture(
            cam.id,
            cam.capture,
            sources,
            limiter=self._limiter,
            # no password configured: no credentials at all (the URL may carry its own)
            username=cam.onvif.username if cam.onvif.password is not None else None,
            password=cam.onvif.password,
            rand=self._rand,
        )
        self.capture.start()
        self._thread = threading.Thread(
            target=self._analyse, args=(self.capture,), name=f"analysis-{cam.id}", daemon=True
        )
        self._thread.start()
        log.info("camera.worker_started", camera=cam.id, analysis_fps=cam.analysis_fps)

    def stop(self) -> None:
        self._stop.set()
        if self.capture is not None:
            self.capture.stop()
        if self._thread is not None:
            self._thread.join(10)
        log.info("camera.worker_stopped", camera=self.camera.id, **_asdict(self.stats))

    async def run(self) -> None:
        """Start, run until cancelled, then stop (joining the threads off the loop)."""
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(asyncio.to_thread(self.stop))

    # ------------------------------------------------------------------ thread

    def _analyse(self, capture: Capture) -> None:
        period = 1.0 / self.camera.analysis_fps
        interval = self.camera.capture.health_interval_s
        due = time.monotonic()
        seq = 0
        last_online: bool | None = None
        last_measured = False
        last_sent = float("-inf")
        while not self._stop.is_set():
            self._stop.wait(max(0.0, due - time.monotonic()))
            frame = capture.next_frame(seq, timeout_s=min(period, 0.5))
            health = capture.health()
            if frame is not None:
                seq = frame.seq
                self._count(frame, DEGRADED_CONFIDENCE if health.status == "degraded" else 1.0)
                self._keep_background(frame.at)
            now = time.monotonic()
            measured = health.fps is not None
            changed = health.online != last_online or (measured and not last_measured)
            if changed or now - last_sent >= interval:
                self._send_health(health)
                last_online, last_sent = health.online, now
            last_measured = measured
            due = next_due(due, period, time.monotonic())

    def _count(self, frame: Frame, confidence_factor: float = 1.0) -> None:
        try:
            estimates = self._estimator.estimate(frame.image, frame.at)
        except Exception as exc:  # per-frame guard: log, count, go on
            self.stats.estimate_errors += 1
            if self.stats.estimate_errors in (1, 10, 100) or self.stats.estimate_errors % 1000 == 0:
                log.warning(
                    "camera.estimate_failed",
                    camera=self.camera.id,
                    error=repr(exc),
                    errors=self.stats.estimate_errors,
                )
            return
        self.stats.frames_analysed += 1
        for est in estimates:
            self._deliver(
                PeopleCount(
                    zone_id=est.zone_id,
                    source_id=self.camera.id,
                    count=int(est.count),
                    at=frame.at,
                    confidence=float(est.confidence) * confidence_factor,
                )
            )

    def _seed_backgrounds(self) -> None:
        store, est = self._backgrounds, self._estimator
        if store is None or not isinstance(est, KeepsBackground):
            return
        for mode in MODES:
            image = store.load(mode)
            if image is not None:
                est.seed_background(mode, image)
                log.info("camera.background_loaded", camera=self.camera.id, mode=mode)

    def _keep_background(self, at: datetime) -> None:
        """Now and then (on the frames' clock), keep the empty-scene background offered."""
        store, est = self._backgrounds, self._estimator
        now = at.timestamp()
        if store is None or not isinstance(est, KeepsBackground):
            return
        if now - self._background_check < BACKGROUND_CHECK_S:
            return
        self._background_check = now
        for mode in MODES:
            if store.due(mode, now):
                image = est.empty_background(mode, at)
                if image is not None:
                    store.save(mode, image, now)

    def _send_health(self, health: CaptureHealth) -> None:
        self.stats.health_sent += 1
        self._deliver(
            DeviceHealth(
                device_id=self.camera.id,
                kind=DeviceKind.CAMERA,
                online=health.online,
                at=self._clock(),
                detail=health.detail(),
                fps=round(health.fps, 2) if health.fps is not None else None,
            )
        )

    def _deliver(self, obs: Observation) -> None:
        try:
            self._emit(obs)
        except Exception as exc:  # the sink's trouble must not kill the camera
            self.stats.emit_errors += 1
            log.warning("camera.emit_failed", camera=self.camera.id, error=repr(exc))


def _asdict(stats: WorkerStats) -> dict[str, int]:
    return {name: getattr(stats, name) for name in stats.__slots__}
