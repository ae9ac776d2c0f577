"""Plane geometry of floor plans: polygon area, self-crossing, overlap area. Pure module.

Zone outlines are simple polygons in floor-plan metres, convex or not (an
L-shaped hall). The overlap of two of them is measured exactly by Green's
theorem: the boundary of A ∩ B is the part of A's boundary inside B plus the
part of B's boundary inside A, so the area is the sum of the shoelace terms of
those pieces. Edges the two share count once when they run the same way (the
same region on both sides) and not at all when they run opposite ways (two
zones side by side).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

Point = tuple[float, float]
EPS = 1e-9


def signed_area(poly: Sequence[Point]) -> float:
    """Shoelace area: positive when the points run counter-clockwise."""
    total = 0.0
    for (x1, y1), (x2, y2) in _edges(poly):
        total += x1 * y2 - x2 * y1
    return total / 2


def area(poly: Sequence[Point]) -> float:
    return abs(signed_area(poly))


def self_crossing(poly: Sequence[Point]) -> tuple[int, int] | None:
    """The first pair of edges (by index) that cross or touch though not neighbours, or None."""
    edges = list(_edges(poly))
    n = len(edges)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbours share a corner
            if _segments_meet(*edges[i], *edges[j]):
                return i, j
    return None


def intersection_area(a: Sequence[Point], b: Sequence[Point]) -> float:
    """Area of A ∩ B for two simple polygons (any orientation, convex or not)."""
    ccw_a = _ccw(a)
    ccw_b = _ccw(b)
    total = _inside_part(ccw_a, ccw_b, shared_counts=True)
    total += _inside_part(ccw_b, ccw_a, shared_counts=False)
    return max(0.0, total)


def _ccw(poly: Sequence[Point]) -> list[Point]:
    pts = [(float(x), float(y)) for x, y in poly]
    return pts if signed_area(pts) >= 0 else pts[::-1]


def _edges(poly: Sequence[Point]) -> list[tuple[Point, Point]]:
    pts = list(poly)
    return list(pairwise([*pts, pts[0]])) if pts else []


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    scale = max(1.0, abs(b[0] - a[0]) + abs(b[1] - a[1]))
    if abs(_cross(a, b, p)) > EPS * scale * scale:
        return False
    return (
        min(a[0], b[0]) - EPS <= p[0] <= max(a[0], b[0]) + EPS
        and min(a[1], b[1]) - EPS <= p[1] <= max(a[1], b[1]) + EPS
    )


def _segments_meet(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    d1 = _cross(q1, q2, p1)
    d2 = _cross(q1, q2, p2)
    d3 = _cross(p1, p2, q1)
    d4 = _cross(p1, p2, q2)
    if ((d1 > EPS and d2 < -EPS) or (d1 < -EPS and d2 > EPS)) and (
        (d3 > EPS and d4 < -EPS) or (d3 < -EPS and d4 > EPS)
    ):
        return True
    return (
        _on_segment(p1, q1, q2)
        or _on_segment(p2, q1, q2)
        or _on_segment(q1, p1, p2)
        or _on_segment(q2, p1, p2)
    )


def _cuts(p0: Point, p1: Point, other: list[Point]) -> list[float]:
    """Parameters t in [0, 1] along p0->p1 where the edge meets the other polygon's boundary."""
    ts = [0.0, 1.0]
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    length2 = dx * dx + dy * dy
    if length2 <= EPS * EPS:
        return ts
    for q0, q1 in _edges(other):
        ex, ey = q1[0] - q0[0], q1[1] - q0[1]
        denom = dx * ey - dy * ex
        if abs(denom) > EPS * max(1.0, length2):
            t = ((q0[0] - p0[0]) * ey - (q0[1] - p0[1]) * ex) / denom
            u = ((q0[0] - p0[0]) * dy - (q0[1] - p0[1]) * dx) / denom
            if -EPS <= t <= 1 + EPS and -EPS <= u <= 1 + EPS:
                ts.append(min(1.0, max(0.0, t)))
        else:  # parallel: where the other edge's ends project, if it is on our line
            for q in (q0, q1):
                if _on_segment(q, p0, p1):
                    ts.append(((q[0] - p0[0]) * dx + (q[1] - p0[1]) * dy) / length2)
    return sorted(ts)


def _where(m: Point, direction: Point, poly: list[Point]) -> str:
    """'inside', 'outside', 'same' or 'opposite' (on an edge running that way)."""
    for q0, q1 in _edges(poly):
        if _on_segment(m, q0, q1):
            dot = direction[0] * (q1[0] - q0[0]) + direction[1] * (q1[1] - q0[1])
            return "same" if dot > 0 else "opposite"
    inside = False
    x, y = m
    for (x1, y1), (x2, y2) in _edges(poly):
        if (y1 > y) != (y2 > y):
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_at:
                inside = not inside
    return "inside" if inside else "outside"


def _inside_part(poly: list[Point], other: list[Point], *, shared_counts: bool) -> float:
    total = 0.0
    for p0, p1 in _edges(poly):
        ts = _cuts(p0, p1, other)
        for t0, t1 in pairwise(ts):
            if t1 - t0 <= EPS:
                continue
            a = (p0[0] + (p1[0] - p0[0]) * t0, p0[1] + (p1[1] - p0[1]) * t0)
            b = (p0[0] + (p1[0] - p0[0]) * t1, p0[1] + (p1[1] - p0[1]) * t1)
            mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
            where = _where(mid, (p1[0] - p0[0], p1[1] - p0[1]), other)
            if where == "inside" or (where == "same" and shared_counts):
                total += (a[0] * b[1] - b[0] * a[1]) / 2
    return total
