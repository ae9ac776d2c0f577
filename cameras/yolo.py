"""Decoding of YOLO-family detector outputs: letterbox geometry, boxes, non-maximum suppression.

The two export layouts in use:

- YOLOv5-style ``(1, N, 5 + classes)``: cx, cy, w, h, objectness, class scores;
- YOLOv8/11-style ``(1, 4 + classes, N)``: cx, cy, w, h, class scores (no objectness).

They are told apart by orientation: the v8 layout has attributes first (fewer
rows than columns). Coordinates are pixels of the square network input, into
which the frame was letterboxed (scaled to fit, centred, padded).

Pure module: numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cameras.models import Box

FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a width x height frame sits in a size x size network input."""

    scale: float
    pad_x: float
    pad_y: float
    new_width: int
    new_height: int

    @classmethod
    def fit(cls, width: int, height: int, size: int) -> Letterbox:
        scale = min(size / width, size / height)
        nw, nh = round(width * scale), round(height * scale)
        return cls(scale, (size - nw) / 2, (size - nh) / 2, nw, nh)

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        return ((x - self.pad_x) / self.scale, (y - self.pad_y) / self.scale)


def decode(
    output: FloatArray,
    letterbox: Letterbox,
    *,
    person_class: int,
    score_threshold: float,
    frame_size: tuple[int, int],
) -> list[Box]:
    """Candidate person boxes in frame pixels (before NMS), clipped to the frame."""
    rows = np.asarray(output, dtype=np.float64)
    if rows.ndim == 3:
        if rows.shape[0] != 1:
            raise ValueError(f"batch of {rows.shape[0]} outputs; expected 1")
        rows = rows[0]
    if rows.ndim != 2:
        raise ValueError(f"unexpected detector output shape {output.shape}")
    v8 = rows.shape[0] < rows.shape[1]
    if v8:
        rows = rows.T
    first_class = 4 if v8 else 5
    column = first_class + person_class
    if rows.shape[1] <= column:
        raise ValueError(f"output has {rows.shape[1]} attributes: no class {person_class}")
    scores = rows[:, column] if v8 else rows[:, 4] * rows[:, column]
    width, height = frame_size
    boxes = []
    for i in np.flatnonzero(scores >= score_threshold):
        cx, cy, w, h = rows[i, :4]
        x1, y1 = letterbox.to_frame(cx - w / 2, cy - h / 2)
        x2, y2 = letterbox.to_frame(cx + w / 2, cy + h / 2)
        box = Box(
            float(np.clip(x1, 0, width)),
            float(np.clip(y1, 0, height)),
            float(np.clip(x2, 0, width)),
            float(np.clip(y2, 0, height)),
            float(scores[i]),
        )
        if box.area > 0:
            boxes.append(box)
    return boxes


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def nms(boxes: list[Box], iou_threshold: float) -> list[Box]:
    """Greedy non-maximum suppression: best score first, drop boxes overlapping a kept one."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b.score):
        if all(iou(box, k) <= iou_threshold for k in kept):
            kept.append(box)
    return kept
