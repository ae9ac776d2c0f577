"""The site file's fleet: section (gateway.settings.FleetConfig)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from gateway.settings import FleetConfig


def test_off_by_default() -> None:
    cfg = FleetConfig()
    assert cfg.enabled is False
    assert cfg.province is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"enabled": True}, "needs fleet.province"),
        ({"province": "Ha Noi"}, "province"),
        ({"url": "nats://site:secret@127.0.0.1:4222"}, "url"),
        ({"url": "http://127.0.0.1:4222"}, "url"),
        ({"stream": "fleet.site"}, "stream"),
        ({"user": "site-1"}, "both user and password"),
        ({"password": SecretStr("x")}, "both user and password"),
        (
            {"user": "u", "password": SecretStr("p"), "token": SecretStr("t")},
            "a token or a user and password",
        ),
        ({"retry_min_s": 5, "retry_max_s": 1}, "retry_max_s"),
        ({"queue_size": 0}, "queue_size"),
        ({"uplink": True}, "uplink"),
    ],
)
def test_bad_sections_are_refused_with_the_reason(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FleetConfig(**given)


def test_a_complete_section() -> None:
    cfg = FleetConfig(
        enabled=True,
        url="tls://leaf.example.vn:4222",
        province="ha-noi",
        token=SecretStr("s3cret"),
    )
    assert cfg.province == "ha-noi"
    assert "s3cret" not in repr(cfg)
