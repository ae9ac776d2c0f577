"""The virtual camera's HTTP auth: Basic and Digest (RFC 7616, MD5, qop=auth), no socket."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cameras.simulator.mjpeg import HttpAuth, _Authenticator, parse_auth_params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _digest_header(challenge: str, user: str, password: str, uri: str, *, nonce: str = "") -> str:
    p = parse_auth_params(challenge)
    nonce = nonce or p["nonce"]
    ha1 = _md5(f"{user}:{p['realm']}:{password}")
    ha2 = _md5(f"GET:{uri}")
    response = _md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{p["realm"]}", nonce="{nonce}", uri="{uri}",'
        f' qop=auth, nc=00000001, cnonce="abc", response="{response}", algorithm=MD5'
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Digest realm="a, b", qop="auth", nonce="n1"',
            {"realm": "a, b", "qop": "auth", "nonce": "n1"},
        ),
        ("Digest nc=00000001, qop=auth", {"nc": "00000001", "qop": "auth"}),
        ('Basic realm="cam"', {"realm": "cam"}),
    ],
)
def test_parse_auth_params(header: str, expected: dict[str, str]) -> None:
    assert parse_auth_params(header) == expected


def test_digest_accepts_the_right_answer_only() -> None:
    auth = _Authenticator(HttpAuth("admin", "p@ss:word", "digest"))
    challenge = auth.challenge()
    assert challenge.startswith("Digest ") and 'qop="auth"' in challenge
    good = _digest_header(challenge, "admin", "p@ss:word", "/stream.mjpg")
    assert auth.check(good, "GET")
    assert not auth.check(_digest_header(challenge, "admin", "wrong", "/stream.mjpg"), "GET")
    assert not auth.check(_digest_header(challenge, "root", "p@ss:word", "/stream.mjpg"), "GET")
    forged = _digest_header(challenge, "admin", "p@ss:word", "/stream.mjpg", nonce="f" * 32)
    assert not auth.check(forged, "GET")  # a nonce the server never gave
    assert not auth.check(None, "GET")
    assert not auth.check("Basic " + base64.b64encode(b"admin:p@ss:word").decode(), "GET")


def test_basic() -> None:
    auth = _Authenticator(HttpAuth("admin", "secret", "basic"))
    assert auth.challenge() == 'Basic realm="floorwatch-virtual-camera"'
    assert auth.check("Basic " + base64.b64encode(b"admin:secret").decode(), "GET")
    assert not auth.check("Basic " + base64.b64encode(b"admin:nope").decode(), "GET")
    assert not auth.check("Basic !!!", "GET")
