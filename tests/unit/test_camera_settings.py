"""The counting section of a camera's settings: defaults and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.settings import CameraConfig, CountingConfig

PAIRS = [
    {"image": [0.1, 0.3], "floor": [0, 12]},
    {"image": [0.9, 0.3], "floor": [9, 12]},
    {"image": [0.95, 0.95], "floor": [9, 2]},
    {"image": [0.05, 0.95], "floor": [0, 2]},
]


def cam(counting: dict[str, Any] | None = None, **roi: Any) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "c1",
            "name": "c1",
            "onvif": {"host": "127.0.0.1"},
            "rois": [{"zone": "waiting", "polygon": [[0, 0.5], [1, 0.5], [1, 1]], **roi}],
            "counting": counting or {},
        }
    )


def test_defaults_count_with_the_density_estimator() -> None:
    c = cam().counting
    assert c.estimator == "density"
    assert c.person_height == (0.08, 0.28)
    assert c.homography is None
    assert cam(person_area=0.3, overlap=0.7).rois[0].person_area == 0.3


@pytest.mark.parametrize(
    ("counting", "roi", "message"),
    [
        ({"estimator": "onnx"}, {}, "needs 'model_path'"),
        ({"estimator": "yolo"}, {}, "density"),
        ({"homography": PAIRS[:3]}, {}, "at least 4"),
        ({"homography": [*PAIRS, PAIRS[0]]}, {}, "at most 4"),
        ({"homography": [{"image": [1.2, 0], "floor": [0, 0]}, *PAIRS[1:]]}, {}, "outside"),
        ({"person_height": [0.0, 0.3]}, {}, "person_height"),
        ({"detect_every": 0}, {}, "greater than or equal to 1"),
        ({"colour": True}, {}, "Extra inputs"),
        ({}, {"overlap": 0}, "greater than 0"),
        ({}, {"polygon": [[0, 0], [1.5, 0], [1, 1]]}, "outside the image"),
    ],
)
def test_bad_counting_settings_are_refused(
    counting: dict[str, Any], roi: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        cam(counting, **roi)


def test_a_full_counting_section_loads() -> None:
    c = CountingConfig.model_validate(
        {
            "estimator": "onnx",
            "model_path": "/models/yolov8n.onnx",
            "input_size": 640,
            "detect_every": 5,
            "homography": PAIRS,
        }
    )
    assert c.homography is not None and c.homography[2].floor == (9, 2)
