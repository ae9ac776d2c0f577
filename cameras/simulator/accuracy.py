"""Counting accuracy on the synthetic scene's ground truth: calibrate, run, score.

Shared by the accuracy test (tests/unit/test_camera_accuracy.py) and the
benchmark (bench/cameras.py). A run is a schedule of counts per zone held for
some frames each, rendered at a fixed frame rate, day or night; the first
seconds show the empty lobby, as a camera sees it when the center opens, so
the background model starts clean. Scores are per zone and frame: mean
absolute error for zones with fewer than 15 people, mean relative error for
15 and more, only on frames where the count has held long enough for the
smoothing to settle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from cameras.calibration import Calibration, Sample, fit
from cameras.density import DensityEstimator, DensityParams, DensityRoi
from cameras.estimators import Estimator, build_estimator
from cameras.models import Mode, ZoneEstimate
from cameras.simulator.scene import Scene, SceneRoi
from gateway.settings import CameraConfig, CountingConfig

EPOCH = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
LOBBY_ROIS = (
    SceneRoi("waiting", ((0.03, 0.30), (0.55, 0.30), (0.55, 0.97), (0.03, 0.97))),
    SceneRoi("counters", ((0.58, 0.25), (0.97, 0.25), (0.97, 0.97), (0.58, 0.97))),
)
LEVELS = (0, 1, 2, 3, 4, 5, 7, 9, 12, 14, 16, 20, 25, 30, 36, 42, 48, 54, 60)


@dataclass(frozen=True, slots=True)
class Step:
    counts: Mapping[str, int]
    frames: int


@dataclass
class Score:
    """Errors per zone and frame, bucketed by the true count."""

    small_errors: list[float] = field(default_factory=list)  # |e|, truth < 15
    large_errors: list[float] = field(default_factory=list)  # |e| / truth, truth >= 15
    by_level: dict[int, list[float]] = field(default_factory=dict)

    def add(self, truth: int, count: int) -> None:
        err = abs(count - truth)
        if truth < 15:
            self.small_errors.append(err)
        else:
            self.large_errors.append(err / truth)
        self.by_level.setdefault(truth, []).append(count - truth)

    @property
    def mae_small(self) -> float:
        return float(np.mean(self.small_errors)) if self.small_errors else 0.0

    @property
    def rel_large(self) -> float:
        return float(np.mean(self.large_errors)) if self.large_errors else 0.0


def ramp(rois: Sequence[SceneRoi], levels: Sequence[int], frames: int) -> list[Step]:
    """People in view rising through ``levels``, split ~60/40 over the first two ROIs."""
    steps = [Step({}, frames)]
    for n in levels:
        first = round(n * 0.6) if len(rois) > 1 else n
        counts = {rois[0].zone_id: first}
        if len(rois) > 1:
            counts[rois[1].zone_id] = n - first
        steps.append(Step(counts, frames))
    return steps


def random_steps(
    rois: Sequence[SceneRoi], *, seed: int, steps: int, frames: int, most: int = 60
) -> list[Step]:
    rng = np.random.default_rng(seed)
    out = [Step({}, frames)]
    for _ in range(steps):
        n = int(rng.integers(0, most + 1))
        cut = sorted(int(c) for c in rng.integers(0, n + 1, size=len(rois) - 1))
        parts = [b - a for a, b in zip([0, *cut], [*cut, n], strict=True)]
        out.append(Step({r.zone_id: p for r, p in zip(rois, parts, strict=True)}, frames))
    return out


def frames(
    scene: Scene,
    steps: Sequence[Step],
    *,
    fps: float,
    night: bool,
    t0_s: float = 0.0,
    jpeg_quality: int | None = None,
) -> Iterator[tuple[float, Mapping[str, int], np.ndarray, int]]:
    """(t_s, truth, image, frames since the count changed) of a schedule.

    With ``jpeg_quality`` each frame goes through a JPEG encode and decode, as
    it does between an MJPEG camera and the estimator.
    """
    t = t0_s
    for step in steps:
        for k in range(step.frames):
            frame = scene.render(step.counts, t, night=night)
            image = frame.image
            if jpeg_quality is not None:
                ok, jpg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                if not ok:
                    raise RuntimeError("JPEG encoding failed")
                image = np.asarray(cv2.imdecode(jpg, cv2.IMREAD_COLOR), dtype=np.uint8)
            yield t, frame.truth, image, k
            t += 1.0 / fps


def calibrate(
    rois: Sequence[SceneRoi],
    counting: CountingConfig,
    *,
    seed: int,
    fps: float = 5.0,
    steps: int = 60,
    modes: Sequence[bool] = (False, True),
    crowds: int = 4,
) -> dict[str, Calibration]:
    """Fit person_area and overlap per ROI from calibration runs (day and night by default).

    The steps are spread over ``crowds`` scenes with different people (seeds
    ``seed``, ``seed + 1``, ...), as a day of a real camera sees many people:
    one small crowd's sizes and poses would bias the fit.
    """
    samples: dict[str, list[Sample]] = {r.zone_id: [] for r in rois}
    for night in modes:
        for c in range(crowds):
            crowd = seed + c + 100 * int(night)
            scene = Scene(rois, seed=crowd)
            model = DensityEstimator(
                [DensityRoi(r.zone_id, r.polygon, 1.0, 1.0) for r in rois], _params(counting)
            )
            plan = random_steps(rois, seed=crowd, steps=max(1, steps // crowds), frames=2)
            mode: Mode = "night" if night else "day"
            for t, truth, image, _ in frames(scene, plan, fps=fps, night=night):
                for raw in model.measure(image, EPOCH + timedelta(seconds=t), mode):
                    sample = Sample(raw.covered, raw.total, truth[raw.zone_id])
                    samples[raw.zone_id].append(sample)
    return {zone: fit(s) for zone, s in samples.items()}


def camera(
    rois: Sequence[SceneRoi],
    counting: CountingConfig,
    calibration: Mapping[str, Calibration] | None = None,
) -> CameraConfig:
    cal = calibration or {}
    return CameraConfig.model_validate(
        {
            "id": "sim",
            "name": "virtual camera",
            "onvif": {"host": "127.0.0.1"},
            "rois": [
                {
                    "zone": r.zone_id,
                    "polygon": [list(p) for p in r.polygon],
                    **(
                        {
                            "person_area": cal[r.zone_id].person_area,
                            "overlap": cal[r.zone_id].overlap,
                        }
                        if r.zone_id in cal
                        else {}
                    ),
                }
                for r in rois
            ],
            "counting": counting.model_dump(),
        }
    )


def score_run(
    make: Callable[[], Estimator],
    scene: Scene,
    steps: Sequence[Step],
    *,
    fps: float,
    night: bool,
    settle: int,
    jpeg_quality: int | None = None,
) -> Score:
    """Run a fresh estimator over the schedule; score frames at least ``settle`` into a step."""
    estimator = make()
    score = Score()
    for t, truth, image, k in frames(scene, steps, fps=fps, night=night, jpeg_quality=jpeg_quality):
        estimates: list[ZoneEstimate] = estimator.estimate(image, EPOCH + timedelta(seconds=t))
        if k < settle:
            continue
        for e in estimates:
            score.add(truth[e.zone_id], e.count)
    return score


def calibrated_estimator(
    rois: Sequence[SceneRoi], counting: CountingConfig, calibration: Mapping[str, Calibration]
) -> Callable[[], Estimator]:
    cam = camera(rois, counting, calibration)
    return lambda: build_estimator(cam, {})


def _params(c: CountingConfig) -> DensityParams:
    return DensityParams(c.person_height, c.diff_threshold, c.background_tau_s, c.still_tau_s)


# ---------------------------------------------------------------- a start with people in view

START_MIX = (0.3, 0.0, 0.4, 0.3)  # walk, queue, sit, stand still: who is in view at a start
START_LEAVES_S = 25.0  # scene seconds after the start when one person walks away
Run = list[tuple[float, dict[str, int], dict[str, int]]]  # (s after start, truth, counts)


def people_in_view(rois: Sequence[SceneRoi], seed: int) -> dict[str, int]:
    """5 to 10 people, drawn from ``seed``, split about 60/40 over the first two ROIs."""
    n = int(np.random.default_rng([seed, 12]).integers(5, 11))
    first = round(n * 0.6)
    return {rois[0].zone_id: first, rois[1].zone_id: n - first}


def start_run(
    estimator: Estimator,
    scene: Scene,
    crowd: Mapping[str, int],
    *,
    fps: float,
    seconds: float,
    t0_s: float = 100.0,
    leaves_at: float | None = START_LEAVES_S,
) -> Run:
    """``estimator`` starts at scene time ``t0_s`` with ``crowd`` in view; at ``leaves_at``
    one person of the first zone walks away. Frames are driven by the scene clock."""
    out: Run = []
    first = next(iter(crowd), None)
    for i in range(int(seconds * fps)):
        t = i / fps
        truth = dict(crowd)
        if first is not None and leaves_at is not None and t >= leaves_at and truth[first] > 0:
            truth[first] -= 1
        image = scene.render(truth, t0_s + t, night=False).image
        found = estimator.estimate(image, EPOCH + timedelta(seconds=t0_s + t))
        out.append((t, truth, {e.zone_id: e.count for e in found}))
    return out


def gaps(run: Run, start: float, end: float) -> dict[str, float]:
    """Per zone, the mean count minus the mean truth over ``start <= t < end``."""
    part = [(truth, counts) for t, truth, counts in run if start <= t < end]
    if not part:
        raise ValueError("no frames in that window")
    return {z: float(np.mean([c[z] - tr[z] for tr, c in part])) for z in part[0][0]}


def window_mae(run: Run, start: float, end: float) -> float:
    """Mean absolute error per zone and frame over ``start <= t < end``."""
    errors = [abs(c[z] - tr[z]) for t, tr, c in run if start <= t < end for z in tr]
    return float(np.mean(errors))
