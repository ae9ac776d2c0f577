"""The demo's gateway accepts the past day it replays, and nothing is narrowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.config_loader import load_settings
from gateway.demo import replay_max_age_s
from tests.integration.gateway_proc import DEMO

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("behind", "expected_s"),
    [
        (timedelta(hours=2), 86400.0 + 7200),  # recent start: a day of margin past it
        (timedelta(days=1, hours=9), 86400.0 * 2 + 9 * 3600),  # yesterday 07:00 local
        (timedelta(days=4), 86400.0 * 5),  # Friday, seen on a Tuesday
    ],
)
def test_window_reaches_back_to_the_start(behind: timedelta, expected_s: float) -> None:
    settings = load_settings(DEMO, {}).settings
    assert replay_max_age_s(settings, NOW - behind, NOW) == pytest.approx(expected_s)
