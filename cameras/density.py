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

Start-up: a fresh background (no kept one) is the first frame; after
``BOOT_S`` the per-pixel median of the frames of that time shows where people
of the first frame walked on, and those ghosts take the median (by the ghost
test below, so people who arrived meanwhile and stayed are kept).

Ghosts: a background started from a frame with people in view holds those
people; once they walk away the empty floor where they stood differs from
the background and would count, at the one-hour ``still_tau_s``. Every
``GHOST_CHECK_S`` of scene time, for ``GHOST_WINDOW_S`` after a start, the
still foreground blobs whose background is still the start-up content are
tested: a ghost stood out from its
surroundings in the background (its outline and its contrast) and does not
now (the current frame is floor there); a person present now is the other
way round. Ghost blobs are absorbed (the background takes the current
picture there), so a start with people in view is back to the truth within
a minute instead of an hour.

The empty scene: when every ROI has counted under half a person for
``EMPTY_S`` with a settled background, ``empty_background(mode)`` offers that
background (an image of the empty hall) for the shell to keep; a later start
``seed``s the mode's background from it, so people in view at a restart are
foreground from the first frame (neither hidden in the background nor left
behind as ghosts). If the stored picture no longer fits (lights, aim), most of
the frame differs at once and the background restarts from the live frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import cv2
import numpy as np
import numpy.typing as npt

from cameras.calibration import people
from cameras.geometry import person_height_rows, perspective_weights, polygon_mask, swept_labels
from cameras.models import Mode
from cameras.startup import gradient, is_ghost, release, still_people

Frame = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int32]
Rows = npt.NDArray[np.float64]
MAX_WORK_WIDTH = 320  # analyse at most this wide: 640x480 runs at 320x240
SCENE_CHANGE = 0.7  # share of the frame in the foreground that means "not people"
CHANGE_FRAMES = 3  # frames in a row of such a change before the background restarts
GHOST_CHECK_S = 4.0  # scene seconds between ghost checks
GHOST_WINDOW_S = 300.0  # ghosts are a start-up matter: checks stop this long after a start
GHOST_MIN_PIXELS = 6  # smaller blobs are noise, not a person's ghost (work-size pixels)
STATIC_DIFF = 8.0  # grey levels a still pixel changes by at most between two checks
STATIC_CHECKS = 2  # checks in a row a foreground pixel must be still to be a ghost candidate
BOOT_S = 20.0  # a fresh background becomes the median of this many seconds of frames
BOOT_STEP_S = 2.0  # one frame every 2 s into that median
GHOST_ORIGIN_DIFF = 6.0  # grey levels a background pixel changed by since start-up: learnt
GHOST_LEARNT_SHARE = 0.5  # a ghost candidate has at most this share of learnt pixels
EMPTY_S = 30.0  # scene seconds every ROI must look empty before its background is kept
EMPTY_PEOPLE = 0.5  # under this many people per ROI the scene looks empty
HOLD_STILL_PEOPLE = True  # a first start holds person-shaped blobs of its median (startup.py)


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
        self.rows = person_height_rows(h, top, bottom)
        swept = swept_labels(labels, self.rows)
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
        self._origin: dict[Mode, F32] = {}  # the frame each background started from
        self._ghost_check: dict[Mode, datetime] = {}
        self.ghosts_absorbed = 0
        self._seeds: dict[Mode, npt.NDArray[np.uint8]] = {}
        self._boot: dict[Mode, list[F32]] = {}  # frames for the start-up median
        self._checked: dict[Mode, F32] = {}  # the frame of the last ghost check
        self._still: dict[Mode, npt.NDArray[np.uint8]] = {}  # checks in a row a pixel was still
        self._empty_since: dict[Mode, datetime] = {}
        self._held: dict[Mode, tuple[Labels, int, Frame]] = {}  # still people of a first start

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
        if self._bootstrap(mode, gray, at, layout.rows):
            fg, near = self._foreground(gray, self._background[mode])
        if self._ghosts_due(mode, at):
            self._release_held(mode, gray, at)
            if self._absorb_ghosts(mode, gray, fg):
                fg, near = self._foreground(gray, self._background[mode])
        held = self._held.get(mode)
        if held is not None:
            fg = np.asarray(cv2.bitwise_or(fg, held[2]), np.uint8)
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
        self._track_empty(mode, at, out)
        return out

    def seed(self, mode: Mode, background: npt.NDArray[np.uint8]) -> None:
        """Start ``mode``'s next background from a kept empty-scene picture (work size)."""
        self._seeds[mode] = background

    def empty_background(self, mode: Mode, at: datetime) -> npt.NDArray[np.uint8] | None:
        """The mode's background if the scene has looked empty for ``EMPTY_S``, else None."""
        since = self._empty_since.get(mode)
        if since is None or (at - since).total_seconds() < EMPTY_S:
            return None
        return np.asarray(np.clip(self._background[mode] + 0.5, 0, 255), dtype=np.uint8)

    def _track_empty(self, mode: Mode, at: datetime, counts: Sequence[RawCount]) -> None:
        if all(r.people < EMPTY_PEOPLE for r in counts) and all(r.warm >= 1.0 for r in counts):
            self._empty_since.setdefault(mode, at)
        else:
            self._empty_since.pop(mode, None)

    def _start(self, mode: Mode, gray: F32, at: datetime) -> F32:
        seed = self._seeds.pop(mode, None)
        if seed is not None and seed.shape == gray.shape:
            background = seed.astype(np.float32)
            at_start = at - timedelta(seconds=4 * self.params.background_tau_s)  # settled
            self._boot.pop(mode, None)
        else:
            background, at_start = gray.copy(), at
            self._boot[mode] = [gray.copy()]
        self._empty_since.pop(mode, None)
        self._held.pop(mode, None)
        self._background[mode] = background
        self._origin[mode] = background.copy()
        self._ghost_check[mode] = at
        self._started[mode] = at_start
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

    def _bootstrap(self, mode: Mode, gray: F32, at: datetime, rows: Rows) -> bool:
        """Collect a frame every ``BOOT_STEP_S`` after a fresh start; after ``BOOT_S`` their
        per-pixel median (people who walk are gone from it) replaces the start-up
        frame's ghosts, and the still people left in the background are held (counted).
        True when the background changed."""
        frames = self._boot.get(mode)
        if frames is None:
            return False
        age = (at - self._started[mode]).total_seconds()
        if age >= len(frames) * BOOT_STEP_S:
            frames.append(gray.copy())
        if age < BOOT_S:
            return False
        median = np.median(np.stack(frames), axis=0).astype(np.float32)
        del self._boot[mode]
        replaced = self._replace_ghosts(mode, median)
        self._origin[mode] = self._background[mode].copy()  # the start-up content from now on
        if not HOLD_STILL_PEOPLE:
            return replaced
        labels, n = still_people(self._background[mode], rows, self.params.diff_threshold)
        if n > 1:
            self._held[mode] = (labels, n, np.where(labels > 0, 255, 0).astype(np.uint8))
        return replaced

    def _release_held(self, mode: Mode, gray: F32, at: datetime) -> None:
        """Held blobs whose pixels changed (the person moved or left: the ghost test takes
        over) are dropped; all of them once ``still_tau_s`` has passed (still people fade)."""
        held = self._held.get(mode)
        if held is None:
            return
        if (at - self._started[mode]).total_seconds() > self.params.still_tau_s:
            del self._held[mode]
            return
        diff = cv2.absdiff(gray, self._background[mode])
        labels, n = release(
            held[0], held[1], np.asarray(diff > self.params.diff_threshold, np.uint8)
        )
        if labels is held[0]:
            return
        if not labels.any():
            del self._held[mode]
            return
        self._held[mode] = (labels, n, np.where(labels > 0, 255, 0).astype(np.uint8))

    def _replace_ghosts(self, mode: Mode, median: F32) -> bool:
        """Where the start-up frame held something the median of the first seconds has
        not (someone who walked on), and it is a ghost by ``_ghost`` (it stood out in the
        start-up frame, not in the median), the background takes the median. Someone who
        arrived during those seconds and stayed is the other way round: kept."""
        origin, background = self._origin[mode], self._background[mode]
        changed = np.asarray(
            cv2.absdiff(median, origin) > self.params.diff_threshold, dtype=np.uint8
        )
        n, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        grad_median, grad_origin = gradient(median), gradient(origin)
        replaced = False
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] < GHOST_MIN_PIXELS:
                continue
            x, y, w, h = (int(v) for v in stats[i, :4])
            box = (slice(max(0, y - 4), y + h + 4), slice(max(0, x - 4), x + w + 4))
            blob = np.asarray(labels[box] == i, np.uint8)
            if is_ghost(blob, median[box], origin[box], grad_median[box], grad_origin[box]):
                grown = np.asarray(cv2.dilate(blob, _GROW), bool)
                background[box][grown] = median[box][grown]
                self.ghosts_absorbed += 1
                replaced = True
        return replaced

    def _ghosts_due(self, mode: Mode, at: datetime) -> bool:
        if mode not in self._origin:
            return False
        if (at - self._started[mode]).total_seconds() > GHOST_WINDOW_S and mode not in self._held:
            del self._origin[mode]  # done: no more checks, and the memory back
            return False
        last = self._ghost_check.get(mode)
        if last is not None and (at - last).total_seconds() < GHOST_CHECK_S:
            return False
        self._ghost_check[mode] = at
        return True

    def _absorb_ghosts(self, mode: Mode, gray: F32, fg: Frame) -> bool:
        """Absorb the foreground blobs that are ghosts of the start-up frame; see the doc."""
        background, origin = self._background[mode], self._origin[mode]
        # ghosts do not move: only foreground that stayed still over the last checks is
        # a candidate (a crowd walking over a ghost would otherwise hide it in its blob)
        last = self._checked.get(mode)
        self._checked[mode] = gray.copy()
        if last is None or last.shape != gray.shape:
            self._still[mode] = np.zeros(gray.shape, np.uint8)
            return False
        still = cv2.absdiff(gray, last) < STATIC_DIFF
        counter = np.where(still, np.minimum(self._still[mode] + 1, 255), 0).astype(np.uint8)
        self._still[mode] = counter
        candidates = np.where(counter >= STATIC_CHECKS, fg, 0).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
        if n <= 1:
            return False
        # per blob at once: the share of its pixels whose background changed since start-up
        # (a share, not a mean: a ghost partly absorbed at an earlier check stays eligible)
        areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
        moved = np.asarray(cv2.absdiff(background, origin) > GHOST_ORIGIN_DIFF, np.float64)
        learnt = np.bincount(labels.ravel(), weights=moved.ravel(), minlength=n) / np.maximum(
            areas, 1
        )
        blobs = [
            i
            for i in range(1, n)
            if areas[i] >= GHOST_MIN_PIXELS and learnt[i] <= GHOST_LEARNT_SHARE  # unlearnt
        ]
        if not blobs:
            return False
        grad_now, grad_bg = gradient(gray), gradient(background)
        absorbed = False
        for i in blobs:
            x, y, w, h = (int(v) for v in stats[i, :4])
            box = (slice(max(0, y - 4), y + h + 4), slice(max(0, x - 4), x + w + 4))
            blob = np.asarray(labels[box] == i, np.uint8)
            if is_ghost(blob, gray[box], background[box], grad_now[box], grad_bg[box]):
                grown = np.asarray(cv2.dilate(blob, _GROW), bool)
                background[box][grown] = gray[box][grown]
                self.ghosts_absorbed += 1
                absorbed = True
        return absorbed

    def reset(self) -> None:
        """Forget the learnt backgrounds (the camera was moved or re-aimed)."""
        self._background.clear()
        self._origin.clear()
        self._ghost_check.clear()
        self._empty_since.clear()
        self._boot.clear()
        self._held.clear()
        self._checked.clear()
        self._still.clear()
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
