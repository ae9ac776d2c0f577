"""Estimators on the synthetic scene: mode, still people, day/night switch, detector schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from cameras.estimators import CountingEstimator, RoiSpec, build_estimator, detect_mode, roi_specs
from cameras.models import Box, ZoneEstimate
from cameras.simulator.accuracy import LOBBY_ROIS, camera
from cameras.simulator.scene import Scene, SceneRoi
from gateway.settings import CameraConfig, CountingConfig, ZoneConfig
from tests.unit.test_camera_detector import tiny_yolo

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
ROI = SceneRoi("waiting", ((0.05, 0.35), (0.95, 0.35), (0.95, 0.97), (0.05, 0.97)))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def small_estimator(**counting: object) -> CountingEstimator:
    c = CountingConfig.model_validate(counting)
    spec = RoiSpec("waiting", ROI.polygon, c.person_area, c.overlap, 40.0)
    return CountingEstimator([spec], c)


def feed(
    est: CountingEstimator, scene: Scene, counts: dict[str, int], t: float, night: bool
) -> list[ZoneEstimate]:
    return est.estimate(scene.render(counts, t, night=night).image, at(t))


def test_mode_is_read_from_the_frame_even_after_jpeg() -> None:
    scene = Scene(LOBBY_ROIS, seed=1)
    day = scene.render({"waiting": 4}, 1.0, night=False).image
    night = scene.render({"waiting": 4}, 1.0, night=True).image
    assert detect_mode(day, 6.0) == "day"
    assert detect_mode(night, 6.0) == "night"
    assert detect_mode(night[..., 0], 6.0) == "night"
    _, jpg = cv2.imencode(".jpg", night, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert detect_mode(cv2.imdecode(jpg, cv2.IMREAD_COLOR), 6.0) == "night"


def test_estimates_carry_zone_mode_estimator_confidence_and_density() -> None:
    scene = Scene([ROI], seed=3)
    est = small_estimator()
    for i in range(10):
        feed(est, scene, {}, i * 0.5, night=True)
    out = feed(est, scene, {"waiting": 6}, 5.0, night=True)
    (e,) = out
    assert (e.zone_id, e.mode, e.estimator) == ("waiting", "night", "density")
    assert 0 < e.confidence <= 1
    assert e.density_per_m2 == pytest.approx(e.count / 40.0)


def test_confidence_is_lower_while_the_background_is_young() -> None:
    scene = Scene([ROI], seed=3)
    est = small_estimator(background_tau_s=10)
    first = feed(est, scene, {}, 0.0, night=False)[0].confidence
    for i in range(1, 100):
        last = feed(est, scene, {}, i * 0.5, night=False)[0].confidence
    assert first < 0.6 < last


@pytest.mark.parametrize(("still_tau_s", "keeps"), [(3600.0, True), (60.0, False)])
def test_seated_people_keep_counting_for_half_an_hour(still_tau_s: float, keeps: bool) -> None:
    """Seated people do not move; with a short still_tau_s (the control) the background
    swallows them."""
    scene = Scene([ROI], width=320, height=240, seed=4, mix=(0, 0, 1))
    est = small_estimator(still_tau_s=still_tau_s, smoothing_tau_s=0)
    for i in range(5):
        feed(est, scene, {}, i * 1.0, night=False)
    start = feed(est, scene, {"waiting": 10}, 10.0, night=False)[0].count
    counts = [
        feed(est, scene, {"waiting": 10}, 10.0 + 10 * k, night=False)[0].count for k in range(180)
    ]
    assert start >= 5
    late = float(np.mean(counts[-60:]))  # the last ten minutes
    assert (late >= 0.8 * start) is keeps, counts[::20]


def test_day_night_switch_reuses_each_modes_background() -> None:
    scene = Scene([ROI], seed=5)
    est = small_estimator(smoothing_tau_s=0)
    t = 0.0
    for night in (True, False):  # an empty lobby seen at night, then the next morning
        for _ in range(5):
            feed(est, scene, {}, t, night=night)
            t += 0.5
    day = [feed(est, scene, {"waiting": 12}, t + k * 0.5, night=False)[0] for k in range(6)]
    t += 3
    night = [feed(est, scene, {"waiting": 12}, t + k * 0.5, night=True)[0] for k in range(8)]
    assert [e.mode for e in night[:2]] == ["day", "day"], "one frame does not switch"
    assert night[-1].mode == "night"
    assert abs(night[-1].count - day[-1].count) <= 3
    assert night[-1].count >= 6
    t += 4
    again = [feed(est, scene, {"waiting": 12}, t + k * 0.5, night=False)[0] for k in range(8)]
    assert again[-1].mode == "day"
    assert all(abs(e.count - day[-1].count) <= 3 for e in again), "the day background survived"


def test_one_glitched_frame_does_not_cost_the_background() -> None:
    scene = Scene([ROI], seed=6)
    est = small_estimator(smoothing_tau_s=0)
    for i in range(5):
        feed(est, scene, {}, i * 0.5, night=False)
    before = feed(est, scene, {"waiting": 8}, 3.0, night=False)[0].count
    green = np.zeros((480, 640, 3), np.uint8)
    green[..., 1] = 200  # what a broken H.264 decode looks like
    assert est.estimate(green, at(3.5))[0].count == before
    assert feed(est, scene, {"waiting": 8}, 4.0, night=False)[0].count >= before - 1


def test_a_sudden_change_of_the_whole_view_restarts_the_background() -> None:
    scene = Scene([ROI], seed=6)
    est = small_estimator(smoothing_tau_s=0)
    for i in range(5):
        feed(est, scene, {}, i * 0.5, night=False)
    covered = np.full((480, 640, 3), 250, np.uint8)  # a hand over the lens
    assert est.estimate(covered, at(3.0))[0].count == 0
    assert est.estimate(covered, at(3.5))[0].confidence < 0.6


class FixedDetector:
    """Reports ``people`` boxes standing in the middle of what it is shown; records calls."""

    def __init__(self, people: int) -> None:
        self.people = people
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, frame: np.ndarray) -> list[Box]:
        self.shapes.append(frame.shape)
        h, w = frame.shape[:2]
        return [Box(w / 2 - 10, h / 2, w / 2 + 10, 0.8 * h, 0.9) for _ in range(self.people)]


def test_detector_runs_every_nth_frame_on_the_moving_part_only() -> None:
    c = CountingConfig(detect_every=3, smoothing_tau_s=0, background_tau_s=0.5)
    det = FixedDetector(7)
    est = CountingEstimator([RoiSpec("waiting", ROI.polygon, 0.22, 0.55, None)], c, det, "hog")
    scene = Scene([ROI], seed=7)
    empty = [feed(est, scene, {}, i * 0.2, night=False)[0] for i in range(12)]
    assert det.shapes == [(480, 640, 3)] * 2, "a young background: the whole frame"
    assert [o.count for o in empty] == [7] * 6 + [0] * 6, "a settled empty view is not searched"
    busy = [feed(est, scene, {"waiting": 2}, 3 + i * 0.2, night=False)[0] for i in range(6)]
    crops = det.shapes[2:]
    assert 2 <= len(crops) <= 4, "two detector frames, a crop around each person"
    assert all(o.count >= 7 and o.estimator == "hog" for o in busy)
    for h, w, _ in crops:
        assert h >= 144 and w >= 80 and h * w < 0.3 * 480 * 640, "a part of the frame"
    assert busy[0].density_per_m2 is None


def cam(**counting: object) -> CameraConfig:
    base = camera(LOBBY_ROIS, CountingConfig()).model_dump()
    base["counting"] = counting
    return CameraConfig.model_validate(base)


def test_build_estimator_chooses_by_config(tmp_path: Path) -> None:
    assert build_estimator(cam(), {}).estimate.__self__.name == "density"  # type: ignore[attr-defined]
    assert build_estimator(cam(estimator="hog"), {}).estimate.__self__.name == "hog"  # type: ignore[attr-defined]
    model = tiny_yolo(tmp_path, "v8")
    onnx = build_estimator(cam(estimator="onnx", model_path=str(model), input_size=64), {})
    frame = Scene(LOBBY_ROIS).render({}, 0.0, night=False).image
    assert [e.estimator for e in onnx.estimate(frame, T0)] == ["onnx", "onnx"]


def zone(zone_id: str, area: float) -> ZoneConfig:
    return ZoneConfig.model_validate(
        {
            "id": zone_id,
            "name": zone_id,
            "floor": "f1",
            "area_m2": area,
            "capacity": 50,
            "polygon": [[0, 0], [1, 0], [1, 1]],
        }
    )


def test_roi_floor_area_from_roi_then_homography_then_zone() -> None:
    zones = {"waiting": zone("waiting", 120.0), "counters": zone("counters", 80.0)}
    plain = cam()
    assert [s.area_m2 for s in roi_specs(plain, zones)] == [120.0, 80.0]
    data = plain.model_dump()
    data["counting"]["homography"] = [
        {"image": [0, 0], "floor": [0, 0]},
        {"image": [1, 0], "floor": [20, 0]},
        {"image": [1, 1], "floor": [20, 10]},
        {"image": [0, 1], "floor": [0, 10]},
    ]
    data["rois"][1]["area_m2"] = 33.0
    specs = roi_specs(CameraConfig.model_validate(data), zones)
    assert specs[0].area_m2 == pytest.approx(0.52 * 0.67 * 200)
    assert specs[1].area_m2 == 33.0
