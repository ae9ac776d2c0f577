"""Frozen values of the camera package: what counting produces and what it is made of.

Pure module: no I/O, no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["day", "night"]
EstimatorName = Literal["density", "hog", "onnx"]


@dataclass(frozen=True, slots=True)
class ZoneEstimate:
    """People in one camera ROI (one zone) in one analysed frame, after smoothing.

    ``confidence`` is 0..1: how far the count can be trusted (warm-up after a
    background reset, unstable recent counts, a crowd that saturates the view,
    night mode). ``density_per_m2`` is None when the ROI's floor area is unknown.
    """

    zone_id: str
    count: int
    confidence: float
    density_per_m2: float | None
    mode: Mode
    estimator: str


@dataclass(frozen=True, slots=True)
class Box:
    """A detection in pixel coordinates of the analysed frame: corners and score."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre: where the person stands on the floor."""
        return ((self.x1 + self.x2) / 2, self.y2)

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)
