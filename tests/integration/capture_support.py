"""Helpers of the capture tests: a camera config, a tiny estimator, an observation sink."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gateway.observations import DeviceHealth, Observation, PeopleCount
from gateway.settings import CameraConfig


def camera_config(
    stream_uri: str | None,
    *,
    username: str = "admin",
    password: str | None = None,
    analysis_fps: float = 5.0,
    **capture: Any,
) -> CameraConfig:
    """A camera with quick timings for tests (stall 1.5 s, reconnect 0.2..1 s)."""
    timings: dict[str, Any] = {
        "stall_s": 1.5,
        "open_timeout_s": 5,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        "health_interval_s": 0.5,
    }
    return CameraConfig.model_validate(
        {
            "id": "cam-test",
            "name": "test camera",
            "onvif": {"host": "127.0.0.1", "username": username, "password": password},
            "stream_uri": stream_uri,
            "analysis_fps": analysis_fps,
            "capture": {**timings, **capture},
        }
    )


@dataclass(frozen=True, slots=True)
class Estimate:
    zone_id: str
    count: int
    confidence: float


class ShapeEstimator:
    """Counts nothing real: reports the frame's mean brightness / 10 and keeps the shapes."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def estimate(self, frame: NDArray[np.uint8], at: datetime) -> list[Estimate]:
        self.shapes.append(frame.shape)
        return [Estimate("waiting", int(frame.mean() // 10), 0.5)]


class Sink:
    """A thread-safe ``emit`` that tests wait on."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Observation] = queue.Queue()
        self.seen: list[Observation] = []

    def __call__(self, obs: Observation) -> None:
        self._queue.put(obs)

    def wait_for(self, match: Callable[[Observation], bool], timeout_s: float) -> Observation:
        """The first observation (from now on) that matches; fails after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no matching observation in {timeout_s} s; last: {self.seen[-3:]}"
                )
            try:
                obs = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(obs)
            if match(obs):
                return obs


def health(online: bool) -> Callable[[Observation], bool]:
    return lambda o: isinstance(o, DeviceHealth) and o.online is online


def counted(o: Observation) -> bool:
    return isinstance(o, PeopleCount)


def assert_no_secret(
    logs: Sequence[Mapping[str, Any]], captured: tuple[str, str], *secrets: str
) -> None:
    """No secret (nor its percent-encoded form) in a log event or on stdout/stderr."""
    from urllib.parse import quote

    texts = [repr(logs), *captured]
    for secret in secrets:
        for form in {secret, quote(secret, safe="")}:
            for text in texts:
                assert form not in text, f"{form!r} leaked into the logs"


def state_of(o: Observation) -> str:
    """``state=...`` of a camera DeviceHealth detail."""
    assert isinstance(o, DeviceHealth)
    return next(w for w in o.detail.split() if w.startswith("state=")).removeprefix("state=")


def in_status(status: str) -> Callable[[Observation], bool]:
    """A camera DeviceHealth whose detail says ``status=<status>``."""
    return lambda o: isinstance(o, DeviceHealth) and f"status={status}" in o.detail


def in_mode(mode: str, online: bool = True) -> Callable[[Observation], bool]:
    return lambda o: (
        isinstance(o, DeviceHealth) and o.online is online and f"mode={mode}" in o.detail
    )
