"""YOLO output decoding and non-maximum suppression (pure)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras.models import Box
from cameras.yolo import Letterbox, decode, iou, nms


@pytest.mark.parametrize(
    ("w", "h", "size", "scale", "pad_x", "pad_y"),
    [(640, 480, 640, 1.0, 0, 80), (1280, 720, 640, 0.5, 0, 140), (480, 640, 320, 0.5, 40, 0)],
)
def test_letterbox_fit(w: int, h: int, size: int, scale: float, pad_x: float, pad_y: float) -> None:
    lb = Letterbox.fit(w, h, size)
    assert (lb.scale, lb.pad_x, lb.pad_y) == (scale, pad_x, pad_y)
    assert lb.to_frame(pad_x, pad_y) == (0, 0)


def v8_output(rows: list[tuple[float, float, float, float, float, float]]) -> np.ndarray:
    """[1, 4 + 2 classes, N] from (cx, cy, w, h, person, other) rows, padded to N = 10."""
    table = np.zeros((10, 6), np.float32)
    table[: len(rows)] = rows
    return table.T[np.newaxis]


def test_decode_v8_keeps_people_above_threshold_in_frame_pixels() -> None:
    lb = Letterbox.fit(640, 480, 640)  # 80 px padding above
    out = v8_output([(100, 180, 20, 40, 0.9, 0.1), (300, 300, 20, 40, 0.2, 0.9)])
    boxes = decode(out, lb, person_class=0, score_threshold=0.5, frame_size=(640, 480))
    assert boxes == [Box(90, 80, 110, 120, pytest.approx(0.9))]  # type: ignore[arg-type]


def test_decode_v8_other_class_index() -> None:
    lb = Letterbox.fit(640, 480, 640)
    out = v8_output([(100, 180, 20, 40, 0.9, 0.1), (300, 300, 20, 40, 0.2, 0.9)])
    boxes = decode(out, lb, person_class=1, score_threshold=0.5, frame_size=(640, 480))
    assert [b.score for b in boxes] == [pytest.approx(0.9)]
    assert boxes[0].foot == (300, 240)


def test_decode_v5_multiplies_objectness_and_clips_to_the_frame() -> None:
    lb = Letterbox.fit(640, 480, 640)
    table = np.zeros((1, 12, 6), np.float32)  # cx, cy, w, h, obj, person
    table[0, 0] = (5, 100, 20, 40, 0.9, 0.9)  # sticks out to the left
    table[0, 1] = (300, 300, 20, 40, 0.5, 0.9)  # 0.45 < threshold
    boxes = decode(table, lb, person_class=0, score_threshold=0.5, frame_size=(640, 480))
    assert len(boxes) == 1
    assert boxes[0].x1 == 0 and boxes[0].score == pytest.approx(0.81)


def test_decode_refuses_what_it_cannot_read() -> None:
    lb = Letterbox.fit(64, 64, 64)
    with pytest.raises(ValueError, match="batch"):
        decode(np.zeros((2, 6, 10)), lb, person_class=0, score_threshold=0.5, frame_size=(64, 64))
    with pytest.raises(ValueError, match="no class"):
        decode(np.zeros((1, 5, 10)), lb, person_class=3, score_threshold=0.5, frame_size=(64, 64))


def test_nms_drops_the_weaker_of_overlapping_boxes() -> None:
    a = Box(0, 0, 10, 20, 0.9)
    b = Box(1, 0, 11, 20, 0.8)  # IoU 0.82 with a
    c = Box(30, 0, 40, 20, 0.7)
    assert nms([b, c, a], 0.5) == [a, c]
    assert nms([b, a], 0.9) == [a, b]


box = st.builds(
    lambda x, y, w, h, s: Box(x, y, x + w, y + h, s),
    st.floats(0, 100),
    st.floats(0, 100),
    st.floats(1, 50),
    st.floats(1, 50),
    st.floats(0, 1),
)


@given(st.lists(box, max_size=30), st.floats(0.1, 0.9))
def test_nms_keeps_a_subset_with_no_overlap_above_threshold(boxes: list[Box], thr: float) -> None:
    kept = nms(boxes, thr)
    assert all(k in boxes for k in kept)
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            assert iou(a, b) <= thr
    if boxes:
        assert max(boxes, key=lambda b: b.score).score == kept[0].score
