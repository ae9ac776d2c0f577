"""CaptureConfig: defaults, limits, the one field in CameraConfig."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import CameraConfig, CaptureConfig

CAMERA = {"id": "cam-1", "name": "lobby", "onvif": {"host": "10.0.0.5"}}


def test_defaults() -> None:
    cfg = CameraConfig.model_validate(CAMERA).capture
    assert cfg == CaptureConfig()
    assert cfg.transport == "tcp" and cfg.max_sessions == 2 and cfg.snapshot_fallback


@pytest.mark.parametrize(
    "bad",
    [
        {"transport": "http"},
        {"max_sessions": 0},
        {"stall_s": 0},
        {"reconnect_min_s": 5, "reconnect_max_s": 1},
        {"snapshot_after_failures": 0},
        {"unknown": 1},
    ],
)
def test_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CameraConfig.model_validate({**CAMERA, "capture": bad})
