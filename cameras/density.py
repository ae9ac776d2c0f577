"""Foreground-density people estimator: background model + perspective-weighted foreground area.

Per analysed frame (gray, at half resolution for speed):

1. foreground = |frame - background| > ``diff_threshold``;
2. per ROI, the foreground area weighted by 1 / h(row)^2 (h: image height of
   a person at that row, ``person_height``), counted inside the ROI polygon
   swept upwards by one person height (bodies rise above the floor they stand
   on), so a person weighs about the same near and far;
3. people = -(k A / a) * ln(1 - U / (k A)), with U the weighted foreground
   area, A the weighted area of the swept ROI, a the calibrated area of one
   person (``person_area``) and k the calibrated ``overlap``: the expected
   union of randomly overlapping silhouettes, inverted. With few people it is
   U / a; in a crowd it makes up for the people hidden behind others
   (cameras/calibration.py fits a and k per ROI).

The background is learnt with two time constants: pixels that look empty
follow the scene quickly (``background_tau_s``: light changes), foreground
pixels only very slowly (``still_tau_s``, an hour by default): a seated or
queueing person who does not move keeps counting. Day and night (infrared)
frames keep separate backgrounds, each started from the first frame of its
mode and kept across switches (tonight's infrared view starts from last
night's background, which the fast rate brings up to date); the count's
``warm`` factor tells how settled a background is. When most of the frame
changes at once (lights switched, camera re-aimed, lens covered) the mode's
background starts again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import cv2
import numpy as np
import numpy.typing as npt

from cameras.calibration import people
from cameras.geometry import person_height_rows, perspective_weights, polygon_mask, swept_labels
from cameras.models import Mode

Frame = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
MAX_WORK_WIDTH = 320  # analyse at most this wide: 640x480 runs at 320x240
SCENE_CHANGE = 0.7  # share of the frame in the foreground that means "not people"
CHANGE_FRAMES = 3  # frames in a row of such a change before the background restarts


@dataclass(frozen=True, slots=True)
class DensityRoi:
    zone_id: str
    polygon: tuple[tuple[float, float], ...]
    person_area: float
    overlap: float


@dataclass(frozen=True, slots=True)
class RawCount:
    """An unsmoothed count of one ROI.

    ``people`` (float), ``fill`` the share of the ROI's overlap capacity
    covered, ``warm`` 0..1 how settled the background is, and the raw
    ``covered`` / ``total`` weighted areas (calibration samples).
    """

    zone_id: str
    people: float
    fill: float
    warm: float
    covered: float
    total: float


@dataclass(frozen=True, slots=True)
class DensityParams:
    person_height: tuple[float, float]
    diff_threshold: int
    background_tau_s: float
    still_tau_s: float


class _Layout:
    """Work size, per-ROI weight maps and their totals for one frame size."""

    def __init__(self, rois: Sequence[DensityRoi], params: DensityParams, shape: tuple[int, int]):
        height, width = shape
        self.shape = shape
        scale = max(1, math.ceil(width / MAX_WORK_WIDTH))
        self.size = (width // scale, height // scale)  # cv2 order: (w, h)
        w, h = self.size
        top, bottom = params.person_height
        labels = np.zeros((h, w), dtype=np.int32)
        for i, roi in enumerate(rois, start=1):
            labels[polygon_mask(roi.polygon, w, h) & (labels == 0)] = i
        swept = swept_labels(labels, person_height_rows(h, top, bottom))
        weights = perspective_weights(h, w, top, bottom)
        self.weights: list[F32] = []  # cropped to the box of the swept ROI
        self.boxes: list[tuple[slice, slice]] = []
        self.totals: list[float] = []
        for i in range(1, len(rois) + 1):
            ys, xs = np.nonzero(swept == i)
            if len(ys) == 0:
                box = (slice(0, 1), slice(0, 1))
            else:
                box = (
                    slice(int(ys.min()), int(ys.max()) + 1),
                    slice(int(xs.min()), int(xs.max()) + 1),
                )
            wz = np.where(swept[box] == i, weights[box], np.float32(0)).astype(np.float32)
            self.weights.append(wz)
            self.boxes.append(box)
            self.totals.append(float(wz.sum()))


class DensityEstimator:
    """Counts people per ROI from foreground area; see the module doc. Not thread-safe."""

    name = "density"

    def __init__(self, rois: Sequence[DensityRoi], params: DensityParams) -> None:
        self.rois = tuple(rois)
        self.params = params
        self._layout: _Layout | None = None
        self._background: dict[Mode, F32] = {}
        self._started: dict[Mode, datetime] = {}
        self._last: dict[Mode, datetime] = {}
        self.foreground: npt.NDArray[np.uint8] | None = None  # of the last frame, 0/255
        self._changed = 0  # frames in a row that changed almost everywhere
        self._previous: list[RawCount] = []

    def measure(self, frame: Frame, at: datetime, mode: Mode) -> list[RawCount]:
        layout = self._layout_for(frame)
        gray = _work_gray(frame, layout.size)
        background = self._background.get(mode)
        if background is None:
            background = self._start(mode, gray, at)
        fg, near = self._foreground(gray, background)
        if cv2.countNonZero(fg) > SCENE_CHANGE * fg.size:
            # Most of the view changed at once: the light, the aim or a covered lens, not
            # people. A glitch (one bad frame) is skipped; when it lasts, this mode's
            # background starts again.
            self._changed += 1
            if self._changed < CHANGE_FRAMES and self._previous:
                return [replace(r, warm=0.0) for r in self._previous]
            background = self._start(mode, gray, at)
            fg, near = self._foreground(gray, background)
        self._changed = 0
        self.foreground = fg
        self._learn(mode, gray, near, at)
        warm = self._warm(mode, at)
        out = []
        for roi, wz, box, total in zip(
            self.rois, layout.weights, layout.boxes, layout.totals, strict=True
        ):
            part = fg[box]
            n_fg = cv2.countNonZero(part)
            # sum of the weights over foreground pixels = their mean there x how many
            covered = float(cv2.mean(wz, mask=part)[0]) * n_fg if n_fg else 0.0
            out.append(_raw(roi, covered, total, warm))
        self._previous = out
        return out

    def _start(self, mode: Mode, gray: F32, at: datetime) -> F32:
        background = gray.copy()
        self._background[mode] = background
        self._started[mode] = at
        self._last[mode] = at
        return background

    def _foreground(self, gray: F32, background: F32) -> tuple[Frame, Frame]:
        """(foreground, maybe-foreground): the second, looser and grown by a pixel, is what
        the background must not learn quickly (a person's faint edges, noisy pixels)."""
        diff = cv2.absdiff(gray, background)
        threshold = self.params.diff_threshold
        _, over = cv2.threshold(diff, threshold, 255, cv2.THRESH_BINARY)
        fg = np.asarray(cv2.morphologyEx(np.asarray(over, np.uint8), cv2.MORPH_OPEN, _KERNEL))
        _, loose = cv2.threshold(diff, threshold / 2, 255, cv2.THRESH_BINARY)
        near = np.asarray(cv2.dilate(np.asarray(loose, np.uint8), _GROW), dtype=np.uint8)
        return np.asarray(fg, dtype=np.uint8), near

    def reset(self) -> None:
        """Forget the learnt backgrounds (the camera was moved or re-aimed)."""
        self._background.clear()
        self._started.clear()
        self._last.clear()

    def _layout_for(self, frame: Frame) -> _Layout:
        shape = (int(frame.shape[0]), int(frame.shape[1]))
        if self._layout is None or self._layout.shape != shape:
            self._layout = _Layout(self.rois, self.params, shape)
            self.reset()
        return self._layout

    def _learn(self, mode: Mode, gray: F32, near: Frame, at: datetime) -> None:
        dt = max(0.0, (at - self._last[mode]).total_seconds())
        self._last[mode] = at
        if dt == 0:
            return
        background = self._background[mode]
        fast = 1.0 - math.exp(-dt / self.params.background_tau_s)
        slow = 1.0 - math.exp(-dt / self.params.still_tau_s)
        cv2.accumulateWeighted(gray, background, fast, mask=cv2.bitwise_not(near))
        cv2.accumulateWeighted(gray, background, slow, mask=near)

    def _warm(self, mode: Mode, at: datetime) -> float:
        age = (at - self._started[mode]).total_seconds()
        return min(1.0, 0.5 + age / (4 * self.params.background_tau_s))


_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2))
_GROW = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


def _work_gray(frame: Frame, size: tuple[int, int]) -> F32:
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if (gray.shape[1], gray.shape[0]) != size:
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    out: F32 = gray.astype(np.float32)
    return out


def _raw(roi: DensityRoi, covered: float, total: float, warm: float) -> RawCount:
    capacity = roi.overlap * total
    fill = min(1.0, covered / capacity) if capacity > 0 else 0.0
    count = people(covered, total, roi.person_area, roi.overlap)
    return RawCount(roi.zone_id, count, fill, warm, covered, total)
