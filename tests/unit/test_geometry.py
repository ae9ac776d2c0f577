"""Floor-plan geometry: areas, self-crossing, exact overlap of simple polygons."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.geometry import area, intersection_area, self_crossing

SQUARE = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]
L_SHAPE = [(0.0, 0.0), (6.0, 0.0), (6.0, 2.0), (2.0, 2.0), (2.0, 6.0), (0.0, 6.0)]


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def test_area_of_square_and_l_shape() -> None:
    assert area(SQUARE) == 16
    assert area(L_SHAPE) == 6 * 2 + 2 * 4
    assert area(list(reversed(L_SHAPE))) == 20


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (SQUARE, SQUARE, 16),  # the same zone twice
        (SQUARE, rect(4, 0, 8, 4), 0),  # side by side: a shared edge is no overlap
        (SQUARE, rect(4, 4, 8, 8), 0),  # corner to corner
        (SQUARE, rect(2, 2, 6, 6), 4),
        (SQUARE, rect(1, 1, 3, 3), 4),  # one inside the other
        (SQUARE, rect(0, 0, 4, 2), 8),  # shares three edges, same direction
        (SQUARE, rect(5, 5, 6, 6), 0),
        (L_SHAPE, rect(1, 1, 5, 5), 1 * 1 + 3 * 1 + 1 * 3),  # the notch is not counted
        (L_SHAPE, rect(2, 2, 6, 6), 0),  # fills the notch exactly
        (L_SHAPE, [(0.0, 0.0), (6.0, 0.0), (0.0, 6.0)], 12 - 2 + 8 - 2),  # cut by x + y = 6
    ],
)
def test_intersection_area(
    a: list[tuple[float, float]], b: list[tuple[float, float]], expected: float
) -> None:
    assert intersection_area(a, b) == pytest.approx(expected, abs=1e-9)
    assert intersection_area(b, a) == pytest.approx(expected, abs=1e-9)
    assert intersection_area(a[::-1], b) == pytest.approx(expected, abs=1e-9)


coord = st.integers(0, 20).map(float)


@given(coord, coord, coord, coord, coord, coord, coord, coord)
def test_rectangles_overlap_exactly(
    ax: float, ay: float, aw: float, ah: float, bx: float, by: float, bw: float, bh: float
) -> None:
    a = rect(ax, ay, ax + aw + 1, ay + ah + 1)
    b = rect(bx, by, bx + bw + 1, by + bh + 1)
    w = max(0.0, min(ax + aw + 1, bx + bw + 1) - max(ax, bx))
    h = max(0.0, min(ay + ah + 1, by + bh + 1) - max(ay, by))
    assert intersection_area(a, b) == pytest.approx(w * h, abs=1e-6)


@given(st.lists(st.tuples(coord, coord), min_size=3, max_size=7))
def test_overlap_with_itself_is_its_area_when_simple(points: list[tuple[float, float]]) -> None:
    if self_crossing(points) is not None or area(points) == 0:
        return
    assert intersection_area(points, points) == pytest.approx(area(points), abs=1e-6)


def test_self_crossing_outline() -> None:
    bow_tie = [(0.0, 0.0), (4.0, 4.0), (4.0, 0.0), (0.0, 4.0)]
    assert self_crossing(bow_tie) == (0, 2)
    assert self_crossing(SQUARE) is None
    assert self_crossing(L_SHAPE) is None


def star(cx: float, cy: float, radii: list[float], turn: float) -> list[tuple[float, float]]:
    """A star-shaped polygon (simple, often not convex): corners at even angles."""
    n = len(radii)
    return [
        (
            round(cx + r * math.cos(turn + 2 * math.pi * k / n), 3),
            round(cy + r * math.sin(turn + 2 * math.pi * k / n), 3),
        )
        for k, r in enumerate(radii)
    ]


def inside(p: tuple[float, float], poly: list[tuple[float, float]]) -> bool:
    x, y = p
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


radii = st.lists(st.floats(1, 5), min_size=3, max_size=9)


@settings(max_examples=60, deadline=None)
@given(radii, radii, st.floats(-3, 3), st.floats(-3, 3), st.floats(0, 6.3), st.floats(0, 6.3))
def test_overlap_of_non_convex_outlines_matches_a_fine_grid(
    ra: list[float], rb: list[float], dx: float, dy: float, ta: float, tb: float
) -> None:
    a = star(0, 0, ra, ta)
    b = star(dx, dy, rb, tb)
    step = 0.05  # sample the cell centres of a 5 cm grid over both
    xs = [p[0] for p in a + b]
    ys = [p[1] for p in a + b]
    n_x = int((max(xs) - min(xs)) / step) + 1
    n_y = int((max(ys) - min(ys)) / step) + 1
    hits = 0
    for i in range(n_x):
        for j in range(n_y):
            p = (min(xs) + (i + 0.5) * step, min(ys) + (j + 0.5) * step)
            hits += inside(p, a) and inside(p, b)
    sampled = hits * step * step
    # the grid errs by at most the cells the two outlines cross
    perimeter = sum(
        math.dist(p, q) for poly in (a, b) for p, q in zip(poly, poly[1:] + poly[:1], strict=True)
    )
    assert intersection_area(a, b) == pytest.approx(sampled, abs=perimeter * step + 1e-6)
