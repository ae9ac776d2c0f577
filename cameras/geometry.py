"""Image geometry of counting: ROI polygons, masks, perspective, homography, density.

ROI polygons are in normalised image coordinates (x right, y down, 0..1), so
one configuration fits every stream resolution. Perspective is a linear model
of the image height of a standing person against the image row of their feet
(``person_height``: fractions of the image height at the top and bottom rows),
the usual "perspective map" of crowd counting. A homography from four
image<->floor point pairs turns an ROI into square metres.

Pure module: numpy only, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Polygon = Sequence[Point]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


def inside(xs: FloatArray, ys: FloatArray, polygon: Polygon) -> BoolArray:
    """Even-odd rule for many points at once (points exactly on an edge may go either way)."""
    result = np.zeros(np.broadcast(xs, ys).shape, dtype=bool)
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (ys >= min(y1, y2)) & (ys < max(y1, y2))
        x_at = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        result ^= crosses & (xs < x_at)
    return result


def contains(polygon: Polygon, point: Point) -> bool:
    return bool(inside(np.array(point[0]), np.array(point[1]), polygon))


def polygon_mask(polygon: Polygon, width: int, height: int) -> BoolArray:
    """Pixels (height x width) whose centres lie inside the normalised polygon."""
    xs = (np.arange(width, dtype=np.float64) + 0.5) / width
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    return inside(xs[np.newaxis, :], ys[:, np.newaxis], polygon)


def polygon_area(polygon: Polygon) -> float:
    """Shoelace area (absolute), in the square of the polygon's units."""
    pts = np.asarray(polygon, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def homography(image_pts: Sequence[Point], floor_pts: Sequence[Point]) -> FloatArray:
    """The 3x3 projective map image -> floor from four point pairs (direct linear transform).

    Solved as the null space of the 8 x 9 DLT system (SVD), with the floor
    points scaled to unit size first for conditioning. Raises ValueError for
    other than four pairs or a degenerate set (three points on a line).
    """
    if len(image_pts) != 4 or len(floor_pts) != 4:
        raise ValueError("a homography needs exactly four image<->floor point pairs")
    scale = max(1e-12, float(np.abs(np.asarray(floor_pts, dtype=np.float64)).max()))
    rows: list[list[float]] = []
    for (x, y), (u, v) in zip(image_pts, floor_pts, strict=True):
        u, v = u / scale, v / scale
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, sv, vt = np.linalg.svd(np.array(rows, dtype=np.float64))
    if sv[-1] < 1e-9 * sv[0] or _collinear(image_pts) or _collinear(floor_pts):
        raise ValueError("degenerate point pairs: no three points may lie on one line")
    h = vt[-1].reshape(3, 3)
    out: FloatArray = np.diag([scale, scale, 1.0]) @ h
    return out / np.linalg.norm(out)


def _collinear(points: Sequence[Point]) -> bool:
    pts = np.asarray(points, dtype=np.float64)
    span = max(1e-12, float(np.ptp(pts, axis=0).max()))
    for i in range(4):
        a, b, c = (pts[j] for j in range(4) if j != i)
        cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(cross) < 1e-9 * span * span:
            return True
    return False


def project(h: FloatArray, points: Sequence[Point]) -> FloatArray:
    """Apply a homography to points (N x 2)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homog = np.hstack([pts, np.ones((len(pts), 1))]) @ h.T
    if np.any(np.abs(homog[:, 2]) < 1e-12):
        raise ValueError("a point maps to infinity (it is on the horizon)")
    return homog[:, :2] / homog[:, 2:3]


def floor_area_m2(polygon: Polygon, h: FloatArray) -> float:
    """Floor area of an image polygon: a homography maps straight edges to straight edges."""
    return polygon_area([(float(u), float(v)) for u, v in project(h, polygon)])


def density(count: int, area_m2: float | None) -> float | None:
    """People per square metre, or None without a positive area."""
    if area_m2 is None or area_m2 <= 0:
        return None
    return count / area_m2


def person_height_rows(height: int, top: float, bottom: float) -> FloatArray:
    """Image height (pixels) of a standing person whose feet are on each row."""
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    return np.maximum((top + (bottom - top) * ys) * height, 1.0)


def perspective_weights(height: int, width: int, top: float, bottom: float) -> Float32Array:
    """Per-pixel weight 1 / h(row)^2: a person then weighs about the same anywhere."""
    rows = person_height_rows(height, top, bottom)
    col = (1.0 / rows**2).astype(np.float32)
    return np.repeat(col[:, np.newaxis], width, axis=1)


def swept_labels(labels: IntArray, person_rows: FloatArray, reach: float = 0.9) -> IntArray:
    """Extend each ROI label upwards by a person's height above its floor pixels.

    An ROI is drawn on the floor, but the body of a person standing in it
    rises above it. Each pixel gets the label of the nearest ROI floor pixel
    below it in its column within ``reach`` person heights (0: none), so a
    person's pixels are counted for the zone they stand in, and zones behind
    one another do not share heads.
    """
    height, width = labels.shape
    out = np.zeros_like(labels)
    carry = np.zeros(width, dtype=labels.dtype)
    left = np.zeros(width, dtype=np.float64)
    for y in range(height - 1, -1, -1):
        row = labels[y]
        on = row != 0
        carry = np.where(on, row, carry)
        left = np.where(on, person_rows[y] * reach, left - 1)
        out[y] = np.where(left > 0, carry, 0)
    return out
