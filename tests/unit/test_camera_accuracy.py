"""Counting accuracy on the scene's ground truth, day and night, 0 to 60 people in view.

The density estimator is calibrated per ROI on one run of the scene (seed 100:
other people, other paths), then scored on another (seed 7) rising from 0 to
60 people in view, split 60/40 over two zones. Targets (issue 3): mean absolute
error <= 1 person per zone below 15 people, mean relative error <= 15 % from 15
up. No peers are needed, so it lives with the unit tests; it takes ~15 s.
"""

from __future__ import annotations

import pytest

from cameras.calibration import Calibration
from cameras.simulator.accuracy import (
    LEVELS,
    LOBBY_ROIS,
    calibrate,
    calibrated_estimator,
    ramp,
    score_run,
)
from cameras.simulator.scene import Scene
from gateway.settings import CountingConfig

COUNTING = CountingConfig(smoothing_tau_s=1.0)
FPS = 5.0


@pytest.fixture(scope="module")
def calibration() -> dict[str, Calibration]:
    return calibrate(LOBBY_ROIS, COUNTING, seed=100, steps=80)


def test_calibration_is_plausible(calibration: dict[str, Calibration]) -> None:
    for cal in calibration.values():
        assert 0.1 < cal.person_area < 0.4
        assert 0.3 <= cal.overlap <= 1.2


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
def test_density_counts_within_targets(calibration: dict[str, Calibration], night: bool) -> None:
    make = calibrated_estimator(LOBBY_ROIS, COUNTING, calibration)
    steps = ramp(LOBBY_ROIS, LEVELS, frames=20)  # 4 s per level
    score = score_run(make, Scene(LOBBY_ROIS, seed=7), steps, fps=FPS, night=night, settle=15)
    assert max(score.by_level) >= 36, "zones reach crowded counts"
    assert score.mae_small <= 1.0, score.by_level
    assert score.rel_large <= 0.15, score.by_level


def test_uncalibrated_counts_miss_the_target() -> None:
    """The control: default calibration on a deliberately wrong person size."""
    wrong = CountingConfig(smoothing_tau_s=1.0, person_area=0.12)
    make = calibrated_estimator(LOBBY_ROIS, wrong, {})
    steps = ramp(LOBBY_ROIS, (0, 5, 10, 20, 30), frames=12)
    score = score_run(make, Scene(LOBBY_ROIS, seed=7), steps, fps=FPS, night=False, settle=8)
    assert score.mae_small > 1.0 or score.rel_large > 0.15
