"""The detector's search windows around foreground blobs stay detector-sized at the
image's edges (a crop cut narrower than HOG's window crashed OpenCV: heap corruption
on real footage), and HOG never runs on an image smaller than its window."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cameras.detector import HOG_WINDOW, HogDetector
from cameras.estimators import motion_boxes


@given(
    st.integers(0, 159),  # blob x on a 160 x 120 mask
    st.integers(0, 119),
    st.integers(1, 6),
    st.integers(1, 6),
    st.sampled_from([(768, 576), (640, 480), (200, 150)]),
)
def test_windows_at_the_edges_keep_the_detector_size(
    x: int, y: int, w: int, h: int, size: tuple[int, int]
) -> None:
    width, height = size
    mask = np.zeros((120, 160), np.uint8)
    mask[y : y + h, x : x + w] = 255
    boxes = motion_boxes(mask, width, height, 0.26)
    assert boxes
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert x1 - x0 >= min(80, width) and y1 - y0 >= min(144, height)


def test_a_blob_on_the_left_edge_gets_a_full_window() -> None:
    mask = np.zeros((120, 160), np.uint8)
    mask[60:70, 0:2] = 255  # a person walking out of view on the left
    ((x0, _, x1, _),) = motion_boxes(mask, 768, 576, 0.26)
    assert x0 == 0 and x1 - x0 >= 80


def test_hog_on_an_image_smaller_than_its_window_finds_nobody() -> None:
    rng = np.random.default_rng(7)
    small = rng.integers(0, 255, (HOG_WINDOW[1] + 17, HOG_WINDOW[0] - 17, 3), dtype=np.uint8)
    assert HogDetector().detect(small) == []
    assert HogDetector(upscale=0.5).detect(rng.integers(0, 255, (200, 100, 3), np.uint8)) == []
