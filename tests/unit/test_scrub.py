"""gateway.scrub: credentials hidden in free text (log values, device details)."""

from __future__ import annotations

import pytest

from gateway.scrub import scrub_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "opening rtsp://admin:s3cr3t@10.0.0.7:554/live",
            "opening rtsp://***:***@10.0.0.7:554/live",
        ),
        ("http://u:@host/x", "http://***:***@host/x"),
        (
            'cannot find the provided auth token "Bearer abcDEF123-_.~+/=" in config',
            'cannot find the provided auth token "Bearer ***" in config',
        ),
        ("Authorization: Token my-influx-token", "Authorization: Token ***"),
        ("Authorization: Basic dXNlcjpwYXNz, retry", "Authorization: Basic ***, retry"),
        ("token=abc; Bearer  two-spaces", "token=abc; Bearer ***"),
    ],
)
def test_credentials_are_hidden(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "rtsp://10.0.0.7:554/live",  # no credentials
        "http://host/path?a=b@c",  # an @ that is not userinfo
        "the API token was refused (HTTP 401)",  # the word, lower case, is not a credential
        "Bearer",  # the scheme alone
        "",
    ],
)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert scrub_text(text) == text
