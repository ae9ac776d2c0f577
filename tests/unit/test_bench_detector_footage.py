"""The pure parts of bench/detector_footage.py: TensorFlow SSD anchors and the graph cut."""

from __future__ import annotations

import math

import numpy as np

from bench.detector_footage import FEATURE_SIZES, anchors, trimmed_graph


def test_anchors_follow_the_tensorflow_ssd_layout() -> None:
    a = anchors()
    # three boxes per cell on the 19x19 layer, six on the others: 1917 in all
    assert a.shape == (19 * 19 * 3 + sum(s * s for s in FEATURE_SIZES[1:]) * 6, 4)
    first = a[:3]  # cell (0, 0) of the lowest layer: (0.1, 1:1), (0.2, 2:1), (0.2, 1:2)
    assert np.allclose(first[:, :2], 0.5 / 19)
    assert np.allclose(first[0, 2:], (0.1, 0.1))
    assert np.allclose(first[1, 2:], (0.2 / math.sqrt(2), 0.2 * math.sqrt(2)))
    last = a[-6:]  # the 1x1 layer: centred; its interpolated box between 0.95 and 1.0
    assert np.allclose(last[:, :2], 0.5)
    assert np.allclose(last[-1, 2:], math.sqrt(0.95))


def test_the_graph_is_cut_at_the_feature_extractor_and_predictions_concatenated() -> None:
    text = 'node {\n  name: "image_tensor"\n  op: "Placeholder"\n}\n'
    text += 'node {\n  name: "FeatureExtractor/MobilenetV2/MobilenetV2/input"\n  op: "Identity"\n  input: "image_tensor"\n}\n'
    text += 'node {\n  name: "w"\n  op: "Const"\n}\n'
    for i in range(6):
        for kind in ("ClassPredictor", "BoxEncodingPredictor"):
            text += (
                f'node {{\n  name: "BoxPredictor_{i}/{kind}/BiasAdd"\n  op: "BiasAdd"\n'
                '  input: "FeatureExtractor/MobilenetV2/MobilenetV2/input"\n  input: "w"\n}\n'
            )
    cut = trimmed_graph(text)
    assert "image_tensor" not in cut  # TensorFlow's preprocessing is gone
    assert 'op: "Placeholder"' in cut and 'name: "w"' not in cut  # weights come from the .pb
    assert cut.count('op: "Flatten"') == 12
    assert 'name: "ClassPredictor_concat"' in cut and 'name: "BoxEncodingPredictor_concat"' in cut
