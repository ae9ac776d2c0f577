"""The ONVIF part of the site file: defaults, references to secrets, rejected values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.config_loader import ConfigError, parse_settings
from gateway.settings import OnvifEndpoint

SITE = """
site: {id: t, name: T}
floors: [{id: f1, name: F1, area_m2: 100, plan: {width_m: 10, depth_m: 10}}]
zones: [{id: waiting, name: W, floor: f1, area_m2: 50, capacity: 40, polygon: [[0, 0], [5, 0], [5, 5]]}]
cameras:
  - id: cam-1
    name: Lobby
    onvif:
      host: 10.0.0.31
      password: {env: CAM_PW}
"""


def test_defaults() -> None:
    ep = OnvifEndpoint(host="10.0.0.31")
    assert (ep.port, ep.username, ep.password, ep.adjust_clock) == (80, "admin", None, True)
    assert (ep.profile.encoding, ep.profile.width, ep.profile.height) == ("H264", 640, 480)
    assert ep.events.enabled and ep.events.termination_s == 60
    assert ep.events.counting_rules == {}


def test_password_comes_by_reference_and_never_renders() -> None:
    loaded = parse_settings(SITE, {"CAM_PW": "hunter2"})
    ep = loaded.settings.cameras[0].onvif
    assert ep.password is not None and ep.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(ep) and "hunter2" not in str(ep.model_dump())


def test_missing_password_variable_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(SITE, {})
    assert any("CAM_PW" in str(issue) for issue in info.value.issues)


@pytest.mark.parametrize(
    "extra",
    [
        {"profile": {"encoding": "VP8"}},
        {"profile": {"width": 0}},
        {"events": {"termination_s": 5}},  # cameras need time between renewals
        {"events": {"counting_rules": {"Queue": "Not An Id"}}},
        {"events": {"unknown": 1}},
        {"timeout_s": 0},
        {"adjust_time": True},  # the library's name, not ours: a typo is an error
    ],
)
def test_rejected_values(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OnvifEndpoint.model_validate({"host": "h", **extra})
