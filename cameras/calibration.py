"""Calibration of the density estimator per ROI from frames with known counts.

The estimator's model (cameras/density.py) is

    people = -(k A / a) * ln(1 - U / (k A))

with U the perspective-weighted foreground area in the ROI, A the weighted
area of the (swept) ROI, ``a`` = ``person_area`` (foreground of one person in
units of person height squared) and ``k`` = ``overlap`` (the share of the ROI
in which silhouettes actually pile up; people standing in a queue hide one
another sooner than people spread out). ``fit`` finds a and k from samples
(U, A, true count): a grid over k, the least-squares a for each (closed form),
scored by the mean absolute error relative to max(count, 3).

Pure module: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_FILL = 0.98


@dataclass(frozen=True, slots=True)
class Sample:
    covered: float  # U
    total: float  # A
    truth: int


@dataclass(frozen=True, slots=True)
class Calibration:
    person_area: float
    overlap: float
    mae: float  # mean absolute error on the samples, people


def people(covered: float, total: float, person_area: float, overlap: float) -> float:
    """The model above; 0 for an empty or degenerate ROI."""
    capacity = overlap * total
    if capacity <= 0 or covered <= 0:
        return 0.0
    fill = min(covered / capacity, MAX_FILL)
    return -(capacity / person_area) * math.log1p(-fill)


def fit(samples: Sequence[Sample], overlaps: Sequence[float] | None = None) -> Calibration:
    """Best (person_area, overlap) for the samples; needs a sample with people in view."""
    truth = np.array([s.truth for s in samples], dtype=np.float64)
    if not np.any(truth > 0):
        raise ValueError("calibration needs frames with people in the ROI")
    grid = overlaps if overlaps is not None else np.linspace(0.2, 1.5, 66)
    weight = 1.0 / np.maximum(truth, 3.0)
    best: Calibration | None = None
    best_score = math.inf
    for k in grid:
        x = np.array([people(s.covered, s.total, 1.0, float(k)) for s in samples])
        denom = float(np.dot(weight * x, x))
        if denom <= 0:
            continue
        inv_a = float(np.dot(weight * x, truth)) / denom
        if inv_a <= 0:
            continue
        err = np.abs(x * inv_a - truth)
        score = float(np.mean(err * weight))
        if score < best_score:
            best_score = score
            best = Calibration(1.0 / inv_a, float(k), float(np.mean(err)))
    if best is None:
        raise ValueError("no foreground in the calibration frames")
    return best
