"""Detectors: a tiny ONNX model built here runs through cv2.dnn, decoding and NMS; HOG runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from cameras.detector import HogDetector, OnnxDetector, count_in_rois, letterbox_image
from cameras.models import Box
from cameras.simulator.scene import Scene, SceneRoi
from cameras.yolo import Letterbox

SIZE = 64
# Candidates in network-input pixels (cx, cy, w, h); the frame is 128x96, letterboxed to
# 64x64: scale 0.5, 8 px of padding above and below.
CANDIDATES = [
    (16.0, 24.0, 8.0, 16.0),  # person A
    (17.0, 24.0, 8.0, 16.0),  # duplicate of A: NMS drops it
    (48.0, 40.0, 8.0, 16.0),  # person B
    (40.0, 20.0, 4.0, 4.0),  # weak: below threshold
    *[(8.0 * i, 60.0, 4.0, 4.0) for i in range(1, 5)],  # background, score 0
]
# Real exports have thousands of candidates: more candidates than attributes is how the
# decoder tells the v8 layout (attributes first) from the v5 one.
BASE_SCORES = [0.55, 0.50, 0.45, 0.05, 0.0, 0.0, 0.0, 0.0]


def tiny_yolo(path: Path, layout: str) -> Path:
    """A YOLO-shaped ONNX graph: constant boxes, person scores that rise with image brightness.

    images[1,3,64,64] -> GlobalAveragePool -> Flatten[1,3] -> Gemm(W, bias)[1, A*N] -> Reshape.
    v8 layout: [1, 4+1, N] (class scores); v5 layout: [1, N, 5+1] (objectness, class).
    """
    n = len(CANDIDATES)
    if layout == "v8":
        table = np.zeros((5, n), np.float32)
        table[:4] = np.array(CANDIDATES, np.float32).T
        table[4] = BASE_SCORES
        gain = np.zeros((5, n), np.float32)
        gain[4] = 0.4  # +0.4 score on a white image (mean 1.0 per channel after /255)
        shape = [1, 5, n]
    else:
        table = np.zeros((n, 6), np.float32)
        table[:, :4] = CANDIDATES
        table[:, 4] = 1.0  # objectness
        table[:, 5] = BASE_SCORES
        gain = np.zeros((n, 6), np.float32)
        gain[:, 5] = 0.4
        shape = [1, n, 6]
    weights = np.repeat(gain.reshape(1, -1) / 3.0, 3, axis=0)  # mean of 3 channel means
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "W", "bias"], ["rows"]),
            helper.make_node("Reshape", ["rows", "shape"], ["output0"]),
        ],
        "tiny_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, shape)],
        initializer=[
            helper.make_tensor("W", TensorProto.FLOAT, weights.shape, weights.ravel()),
            helper.make_tensor("bias", TensorProto.FLOAT, [table.size], table.ravel()),
            helper.make_tensor("shape", TensorProto.INT64, [3], shape),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    out = path / f"tiny-{layout}.onnx"
    onnx.save(model, str(out))
    return out


@pytest.mark.parametrize("layout", ["v8", "v5"])
def test_onnx_detector_decodes_letterboxes_and_suppresses(tmp_path: Path, layout: str) -> None:
    detector = OnnxDetector(tiny_yolo(tmp_path, layout), SIZE, score_threshold=0.3)
    black = np.zeros((96, 128, 3), np.uint8)
    boxes = sorted(detector.detect(black), key=lambda b: b.x1)
    assert len(boxes) == 2, "duplicate suppressed, weak candidate dropped"
    a, b = boxes
    # A: input (12..20, 16..32) -> frame: minus padding (0, 8), divided by 0.5
    assert (a.x1, a.y1, a.x2, a.y2) == pytest.approx((24, 16, 40, 48), abs=1e-3)
    padding_brightness = 0.25 * 114 / 255  # a quarter of the input is gray padding
    assert a.score == pytest.approx(0.55 + 0.4 * padding_brightness, abs=1e-3)
    assert (b.x1, b.y1, b.x2, b.y2) == pytest.approx((88, 48, 104, 80), abs=1e-3)


def test_onnx_detector_runs_the_network_on_the_frame(tmp_path: Path) -> None:
    detector = OnnxDetector(tiny_yolo(tmp_path, "v8"), SIZE, score_threshold=0.7)
    assert detector.detect(np.zeros((96, 128, 3), np.uint8)) == []
    white = np.full((96, 128, 3), 255, np.uint8)
    scores = sorted(round(b.score, 2) for b in detector.detect(white))
    # the letterbox padding is gray 114: mean brightness ~0.8, so scores rise by ~0.32
    assert len(scores) == 2 and all(s > 0.7 for s in scores)


def test_letterbox_image_centres_the_frame_on_gray() -> None:
    frame = np.full((96, 128), 200, np.uint8)
    lb = Letterbox.fit(128, 96, SIZE)
    canvas = letterbox_image(frame, lb, SIZE)
    assert canvas.shape == (SIZE, SIZE, 3)
    assert canvas[0, 0, 0] == 114 and canvas[SIZE - 1, 0, 0] == 114
    assert canvas[SIZE // 2, SIZE // 2, 0] == 200


def test_count_in_rois_uses_the_foot_point_and_first_roi() -> None:
    rois = [
        ("left", ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))),
        ("right", ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))),
    ]
    boxes = [
        Box(10, 10, 30, 90, 0.9),  # foot (20, 90): left
        Box(60, 0, 90, 40, 0.9),  # foot (75, 40): right
        Box(70, 50, 90, 100, 0.9),  # foot on the bottom edge: right
    ]
    assert count_in_rois(boxes, rois, 100, 100) == {"left": 1, "right": 2}


def test_hog_detector_runs_on_a_scene_frame_and_returns_boxes_in_the_frame() -> None:
    roi = SceneRoi("z", ((0.05, 0.4), (0.95, 0.4), (0.95, 0.98), (0.05, 0.98)))
    frame = Scene([roi], seed=2).render({"z": 6}, 3.0, night=False).image
    boxes = HogDetector(score_threshold=0.0).detect(frame)
    for b in boxes:
        assert 0 <= b.x1 < b.x2 <= 640 + 1 and 0 <= b.y1 < b.y2 <= 480 + 1
    empty = Scene([roi], seed=2).render({}, 3.0, night=False).image
    assert len(HogDetector(score_threshold=0.5).detect(empty)) <= 1
