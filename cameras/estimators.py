"""People counting per ROI: the estimators a camera worker calls on each analysed frame.

``build_estimator(camera, zones)`` makes the estimator a camera's
``counting`` section asks for:

- ``density`` (default): the foreground-density estimator (cameras/density.py)
  on every frame;
- ``hog`` / ``onnx``: a person detector (cameras/detector.py) on every
  ``detect_every``-th frame, and the density estimator on every frame; a
  zone's count is the larger of the last detection count and the density
  count. Detections are a lower bound (detectors miss people hidden in a
  crowd or seated, and rarely invent one), the density count covers the
  rest, and a detector that runs at ~10 fps per core still serves several
  5 fps cameras.

Every estimator finds the camera's day/night mode from the frame itself
(colour saturation; infrared frames are gray), smooths each zone's count over
time and gives it a confidence. Not thread-safe: one estimator per camera,
called from that camera's worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from cameras.density import DensityEstimator, DensityParams, DensityRoi, RawCount
from cameras.detector import Detector, HogDetector, OnnxDetector, count_in_rois
from cameras.geometry import density, floor_area_m2, homography
from cameras.models import Mode, ZoneEstimate
from cameras.smoothing import CountSmoother, ModeTracker, confidence
from gateway.settings import CameraConfig, CountingConfig, ZoneConfig

Frame = npt.NDArray[np.uint8]
BASE_CONFIDENCE = {"density": 0.85, "hog": 0.9, "onnx": 0.95}


class Estimator(Protocol):
    def estimate(self, frame: Frame, at: datetime) -> list[ZoneEstimate]: ...


@dataclass(frozen=True, slots=True)
class RoiSpec:
    """One ROI as counting needs it: zone, polygon (0..1), calibration, floor area."""

    zone_id: str
    polygon: tuple[tuple[float, float], ...]
    person_area: float
    overlap: float
    area_m2: float | None


def detect_mode(frame: Frame, night_saturation: float) -> Mode:
    """Night when the frame is (nearly) gray: mean max-min channel spread on a sparse grid."""
    if frame.ndim == 2 or frame.shape[2] == 1:
        return "night"
    b, g, r = cv2.split(np.ascontiguousarray(frame[::16, ::16]))
    spread = cv2.subtract(cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r))
    return "night" if float(cv2.mean(spread)[0]) < night_saturation else "day"


class CountingEstimator:
    """Mode detection, density counting, optional scheduled detector, smoothing, confidence."""

    def __init__(
        self,
        rois: Sequence[RoiSpec],
        counting: CountingConfig,
        detector: Detector | None = None,
        name: str = "density",
    ) -> None:
        self.rois = tuple(rois)
        self.counting = counting
        self.detector = detector
        self.name = name
        self.density = DensityEstimator(
            [DensityRoi(r.zone_id, r.polygon, r.person_area, r.overlap) for r in rois],
            DensityParams(
                person_height=counting.person_height,
                diff_threshold=counting.diff_threshold,
                background_tau_s=counting.background_tau_s,
                still_tau_s=counting.still_tau_s,
            ),
        )
        self._mode = ModeTracker()
        self._smoothers = {r.zone_id: CountSmoother(counting.smoothing_tau_s) for r in rois}
        self._frames = 0
        self._detected: dict[str, int] = {}  # people per zone at the last detector run

    def estimate(self, frame: Frame, at: datetime) -> list[ZoneEstimate]:
        mode = self._mode.update(detect_mode(frame, self.counting.night_saturation))
        raw = self.density.measure(frame, at, mode)
        people = self._with_detector(frame, raw)
        self._frames += 1
        out = []
        for roi, r in zip(self.rois, raw, strict=True):
            smoother = self._smoothers[roi.zone_id]
            value = smoother.update(people[roi.zone_id], at)
            count = max(0, round(value))
            conf = confidence(
                base=BASE_CONFIDENCE.get(self.name, 0.8),
                recent=list(smoother.recent),
                warm=r.warm,
                fill=r.fill,
                night=mode == "night",
            )
            out.append(
                ZoneEstimate(
                    zone_id=roi.zone_id,
                    count=count,
                    confidence=conf,
                    density_per_m2=density(count, roi.area_m2),
                    mode=mode,
                    estimator=self.name,
                )
            )
        return out

    def _with_detector(self, frame: Frame, raw: Sequence[RawCount]) -> dict[str, float]:
        by_zone = {r.zone_id: r.people for r in raw}
        if self.detector is None:
            return by_zone
        if self._frames % self.counting.detect_every == 0:
            boxes = self.detector.detect(frame)
            height, width = frame.shape[:2]
            rois = [(r.zone_id, r.polygon) for r in self.rois]
            self._detected = count_in_rois(boxes, rois, width, height)
        # Detections are a lower bound (a detector misses hidden and seated people, rarely
        # invents one); the density count covers what it misses.
        return {z: max(float(self._detected.get(z, 0)), v) for z, v in by_zone.items()}


def roi_specs(camera: CameraConfig, zones: Mapping[str, ZoneConfig]) -> list[RoiSpec]:
    """The camera's ROIs with their calibration and floor area resolved."""
    c = camera.counting
    h = (
        homography([p.image for p in c.homography], [p.floor for p in c.homography])
        if c.homography
        else None
    )
    specs = []
    for roi in camera.rois:
        polygon = tuple((float(x), float(y)) for x, y in roi.polygon)
        if roi.area_m2 is not None:
            area: float | None = roi.area_m2
        elif h is not None:
            area = floor_area_m2(polygon, h)
        else:
            zone = zones.get(roi.zone)
            area = zone.area_m2 if zone is not None else None
        specs.append(
            RoiSpec(
                zone_id=roi.zone,
                polygon=polygon,
                person_area=roi.person_area or c.person_area,
                overlap=roi.overlap or c.overlap,
                area_m2=area,
            )
        )
    return specs


def build_estimator(camera: CameraConfig, zones: Mapping[str, ZoneConfig]) -> Estimator:
    """The estimator ``camera.counting`` asks for; zones give floor areas by zone id."""
    c = camera.counting
    specs = roi_specs(camera, zones)
    if c.estimator == "hog":
        hog = HogDetector(c.score_threshold, c.nms_threshold, c.detector_upscale)
        return CountingEstimator(specs, c, hog, "hog")
    if c.estimator == "onnx":
        if c.model_path is None:  # CountingConfig refuses this already
            raise ValueError("estimator 'onnx' needs 'model_path'")
        onnx = OnnxDetector(
            c.model_path, c.input_size, c.score_threshold, c.nms_threshold, c.person_class
        )
        return CountingEstimator(specs, c, onnx, "onnx")
    return CountingEstimator(specs, c)
