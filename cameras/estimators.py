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
  5 fps cameras. The detector only looks at the parts of the frame that are
  not background (plus a margin), and not at all while the view is empty.

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
from cameras.models import Box, Mode, ZoneEstimate
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
        seen = detect_mode(frame, self.counting.night_saturation)
        mode = self._mode.update(seen)  # what is reported: steady at dusk
        raw = self.density.measure(frame, at, seen)  # each frame against its own kind
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

    def seed_background(self, mode: Mode, background: Frame) -> None:
        """Start ``mode``'s background from a kept empty-scene picture (see cameras.density)."""
        self.density.seed(mode, background)

    def empty_background(self, mode: Mode, at: datetime) -> Frame | None:
        """The ``mode`` background once the scene has looked empty long enough, else None."""
        return self.density.empty_background(mode, at)

    def _with_detector(self, frame: Frame, raw: Sequence[RawCount]) -> dict[str, float]:
        by_zone = {r.zone_id: r.people for r in raw}
        if self.detector is None:
            return by_zone
        if self._frames % self.counting.detect_every == 0:
            settled = all(r.warm >= 1.0 for r in raw)
            self._detected = self._detect(self.detector, frame, settled)
        # Detections are a lower bound (a detector misses hidden and seated people, rarely
        # invents one); the density count covers what it misses.
        return {z: max(float(self._detected.get(z, 0)), v) for z, v in by_zone.items()}

    def _detect(self, detector: Detector, frame: Frame, settled: bool) -> dict[str, int]:
        """Run the detector on the parts of the frame that are not background, if any.

        While a background is young it may hold people who were there when it
        started: then the detector searches the whole frame.
        """
        height, width = frame.shape[:2]
        fg = self.density.foreground if settled else None
        found: list[Box] = []
        for x0, y0, x1, y1 in motion_boxes(fg, width, height, self.counting.person_height[1]):
            part = detector.detect(np.ascontiguousarray(frame[y0:y1, x0:x1]))
            found.extend(Box(b.x1 + x0, b.y1 + y0, b.x2 + x0, b.y2 + y0, b.score) for b in part)
        return count_in_rois(found, [(r.zone_id, r.polygon) for r in self.rois], width, height)


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1


def motion_boxes(
    foreground: npt.NDArray[np.uint8] | None, width: int, height: int, person: float
) -> list[Rect]:
    """Frame regions around the foreground blobs for a detector to search.

    Each blob's box is padded by a quarter of a person height (``person``: of
    the image height) and made at least 80 x 144 px (HOG's 64 x 128 window
    and a margin); overlapping boxes merge. The whole frame without a mask or when
    the boxes cover most of it anyway; nothing for an empty view.
    """
    full = [(0, 0, width, height)]
    if foreground is None:
        return full
    n, _, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
    if n <= 1:
        return []
    sx, sy = width / foreground.shape[1], height / foreground.shape[0]
    pad = 0.25 * person * height
    boxes: list[Rect] = []
    for fx, fy, fw, fh, _area in stats[1:]:
        x0, x1 = _span(fx * sx - pad, (fx + fw) * sx + pad, 80, width)
        y0, y1 = _span(fy * sy - pad, (fy + fh) * sy + pad, 144, height)
        boxes.append((x0, y0, x1, y1))
    merged = _merge(boxes)
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in merged) > 0.6 * width * height:
        return full
    return merged


def _merge(boxes: list[Rect]) -> list[Rect]:
    out = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return out


def _span(lo: float, hi: float, least: int, limit: int) -> tuple[int, int]:
    """``lo..hi`` grown to ``least`` and moved (not cut) to lie inside ``0..limit``.

    A blob at the image's edge keeps a detector-sized window: a crop cut to
    less than HOG's 64 x 128 window crashed OpenCV's detectMultiScale (heap
    corruption, seen on a 47 px wide crop at the edge of real footage).
    """
    grow = max(0.0, least - (hi - lo)) / 2
    lo, hi = lo - grow, hi + grow
    if lo < 0:
        lo, hi = 0.0, hi - lo
    if hi > limit:
        lo, hi = lo - (hi - limit), float(limit)
    return int(max(0.0, lo)), round(min(float(limit), hi))


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
