"""ROI geometry: masks, areas, homography, perspective weights, the upward sweep of ROIs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.geometry import (
    contains,
    density,
    floor_area_m2,
    homography,
    person_height_rows,
    perspective_weights,
    polygon_area,
    polygon_mask,
    project,
    swept_labels,
)

SQUARE = ((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))
TRIANGLE = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
L_SHAPE = ((0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1))


@pytest.mark.parametrize(
    ("polygon", "point", "expected"),
    [
        (SQUARE, (0.5, 0.5), True),
        (SQUARE, (0.1, 0.5), False),
        (SQUARE, (0.5, 0.8), False),
        (TRIANGLE, (0.2, 0.2), True),
        (TRIANGLE, (0.6, 0.6), False),
        (L_SHAPE, (0.25, 0.75), True),
        (L_SHAPE, (0.75, 0.75), False),  # the notch of the L
    ],
)
def test_contains(
    polygon: tuple[tuple[float, float], ...], point: tuple[float, float], expected: bool
) -> None:
    assert contains(polygon, point) is expected


def test_mask_of_a_centred_square_is_a_quarter_of_the_image() -> None:
    mask = polygon_mask(SQUARE, 40, 20)
    assert mask.shape == (20, 40)
    assert mask.sum() == 20 * 10
    assert mask[10, 20] and not mask[0, 0]


@pytest.mark.parametrize(("polygon", "area"), [(SQUARE, 0.25), (TRIANGLE, 0.5), (L_SHAPE, 0.75)])
def test_shoelace_area(polygon: tuple[tuple[float, float], ...], area: float) -> None:
    assert polygon_area(polygon) == pytest.approx(area)
    assert polygon_area(polygon[::-1]) == pytest.approx(area), "orientation does not matter"


def test_homography_of_a_rectangle_scales_areas() -> None:
    image = [(0, 0), (1, 0), (1, 1), (0, 1)]
    floor = [(0, 0), (20, 0), (20, 10), (0, 10)]
    h = homography(image, floor)
    assert project(h, [(0.5, 0.5)])[0] == pytest.approx([10, 5])
    assert floor_area_m2(SQUARE, h) == pytest.approx(50.0)


def test_perspective_homography_makes_far_rows_cover_more_floor() -> None:
    # a trapezoid in the image (narrow at the top, far away) is a 10 x 10 m square
    image = [(0.4, 0.2), (0.6, 0.2), (1.0, 1.0), (0.0, 1.0)]
    floor = [(0, 10), (10, 10), (10, 0), (0, 0)]
    h = homography(image, floor)
    far = floor_area_m2(((0.45, 0.2), (0.55, 0.2), (0.55, 0.3), (0.45, 0.3)), h)
    near = floor_area_m2(((0.45, 0.9), (0.55, 0.9), (0.55, 1.0), (0.45, 1.0)), h)
    assert far > 5 * near
    assert floor_area_m2(tuple(image), h) == pytest.approx(100.0)


def test_degenerate_point_pairs_are_refused() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        homography([(0, 0), (0.5, 0.5), (1, 1), (0, 1)], [(0, 0), (1, 0), (1, 1), (0, 1)])
    with pytest.raises(ValueError, match="exactly four"):
        homography([(0, 0), (1, 0), (1, 1)], [(0, 0), (1, 0), (1, 1)])


coord = st.floats(min_value=-0.08, max_value=0.08)


@settings(max_examples=60, deadline=None)
@given(st.lists(coord, min_size=8, max_size=8), st.floats(min_value=1, max_value=50))
def test_homography_maps_its_four_points(jitter: list[float], size: float) -> None:
    base = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]
    image = [(x + jitter[2 * i], y + jitter[2 * i + 1]) for i, (x, y) in enumerate(base)]
    floor = [(0.0, 0.0), (size, 0.0), (size, size), (0.0, size)]
    h = homography(image, floor)
    assert project(h, image) == pytest.approx(np.array(floor), abs=1e-6 * size)


@pytest.mark.parametrize(
    ("count", "area", "expected"), [(10, 20.0, 0.5), (0, 5.0, 0.0), (3, None, None), (3, 0.0, None)]
)
def test_density(count: int, area: float | None, expected: float | None) -> None:
    assert density(count, area) == expected


def test_person_height_and_weights_follow_the_linear_perspective() -> None:
    rows = person_height_rows(100, 0.1, 0.3)
    assert rows[0] == pytest.approx(10.1, abs=0.01) and rows[-1] == pytest.approx(29.9, abs=0.01)
    w = perspective_weights(100, 4, 0.1, 0.3)
    assert w.shape == (100, 4)
    # a person near (3x taller) covers 9x the pixels; weights make up for it
    assert w[0, 0] / w[-1, 0] == pytest.approx((29.9 / 10.1) ** 2, rel=1e-3)


def test_swept_labels_rise_one_person_height_above_the_floor_polygon() -> None:
    labels = np.zeros((30, 3), np.int32)
    labels[20:30, 0] = 1  # zone 1 floor: rows 20..29 of column 0
    labels[10:15, 1] = 2  # zone 2 floor further away in column 1
    labels[25:30, 1] = 1  # and zone 1 nearer in the same column
    out = swept_labels(labels, np.full(30, 6.0), reach=1.0)
    col0 = out[:, 0]
    assert list(col0[:14]) == [0] * 14 and list(col0[15:]) == [1] * 15
    col1 = out[:, 1]
    assert list(col1[25:]) == [1] * 5
    assert list(col1[20:25]) == [1] * 5, "heads of zone-1 people above its floor"
    assert list(col1[10:15]) == [2] * 5
    assert list(col1[5:10]) == [2] * 5 and col1[4] == 0
    assert not out[:, 2].any()
