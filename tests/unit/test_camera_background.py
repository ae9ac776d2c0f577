"""The worker keeps the empty-scene background in the state folder and seeds the next
start with it (the estimator is the real one; the capture has no source and idles)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cameras.background_store import BackgroundStore
from cameras.capture import SessionLimiter
from cameras.estimators import CountingEstimator, build_estimator
from cameras.simulator.accuracy import LOBBY_ROIS, camera
from cameras.simulator.scene import Scene
from cameras.worker import CameraWorker
from gateway.settings import CountingConfig

T0 = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)


def estimator() -> CountingEstimator:
    est = build_estimator(camera(LOBBY_ROIS, CountingConfig()), {})
    assert isinstance(est, CountingEstimator)
    return est


def test_worker_keeps_the_empty_hall_and_the_next_start_uses_it(tmp_path: Path) -> None:
    scene = Scene(LOBBY_ROIS, seed=2, width=320, height=240)
    est = estimator()
    store = BackgroundStore(tmp_path / "backgrounds", "cam-hall")
    worker = CameraWorker(
        camera(LOBBY_ROIS, CountingConfig()),
        est,
        lambda _o: None,
        limiter=SessionLimiter(),
        backgrounds=store,
    )
    at = T0
    for i in range(2 * 60):  # a minute of the hall before opening, 2 frames a second
        at = T0 + timedelta(seconds=i / 2)
        est.estimate(scene.render({}, i / 2, night=False).image, at)
    worker._keep_background(at)
    kept = store.path("day")
    assert not kept.exists()  # not yet: empty for 30 s only after the background settled
    for i in range(120, 2 * 125):  # the worker asks once a minute
        at = T0 + timedelta(seconds=i / 2)
        est.estimate(scene.render({}, i / 2, night=False).image, at)
    worker._keep_background(at)
    assert kept.exists() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not store.path("night").exists()  # no night seen

    nxt = estimator()
    restarted = CameraWorker(
        camera(LOBBY_ROIS, CountingConfig()),
        nxt,
        lambda _o: None,
        limiter=SessionLimiter(),
        backgrounds=store,
    )
    restarted.start()
    try:
        assert "day" in nxt.density._seeds
    finally:
        restarted.stop()
    # the first busy frame after the restart already counts the people in it
    crowd = {"waiting": 6, "counters": 3}
    first = nxt.estimate(scene.render(crowd, 5000.0, night=False).image, T0 + timedelta(hours=3))
    assert sum(e.count for e in first) >= 5
