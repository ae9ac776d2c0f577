"""Login sessions survive a gateway restart (api/session_file.py), and only while they should."""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gateway.settings import Role
from tests.api_support import NAMES, TOKENS, api_config, build_app

pytestmark = pytest.mark.integration
COOKIE = "floorwatch_session"


def _login(path: Path, role: Role) -> str:
    app, _, _ = build_app(sessions_path=path)
    with TestClient(app) as client:
        assert client.post("/api/v1/session", json={"token": TOKENS[role]}).status_code == 200
        cookie = client.cookies.get(COOKIE)
    assert cookie
    return cookie


def _whoami(path: Path, cookie: str, **config: object) -> int:
    """A new start of the API on the same file; the status of GET /session with the cookie."""
    config_ = api_config(**config) if config else None
    app, _, _ = build_app(sessions_path=path, config=config_)
    with TestClient(app, cookies={COOKIE: cookie}) as client:
        r = client.get("/api/v1/session")
        if r.status_code == 200:
            assert r.json()["name"] == NAMES[Role.SUPERVISOR]
        return r.status_code


def test_a_session_survives_a_restart_until_logout(tmp_path: Path) -> None:
    path = tmp_path / "state" / "api-sessions.json"
    cookie = _login(path, Role.SUPERVISOR)
    text = path.read_text(encoding="utf-8")
    assert cookie not in text and TOKENS[Role.SUPERVISOR] not in text  # hashes only
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _whoami(path, cookie) == 200  # the control-room wall stays logged in

    app, _, _ = build_app(sessions_path=path)
    with TestClient(app, cookies={COOKIE: cookie}) as client:
        assert client.delete("/api/v1/session").status_code == 204
    assert _whoami(path, cookie) == 401  # logged out for good, across restarts too


def test_a_session_of_a_removed_token_does_not_come_back(tmp_path: Path) -> None:
    path = tmp_path / "api-sessions.json"
    cookie = _login(path, Role.SUPERVISOR)
    others = [t for t in api_config().tokens if t.role is not Role.SUPERVISOR]
    assert _whoami(path, cookie, tokens=others) == 401


def test_an_unreadable_file_means_logging_in_again(tmp_path: Path) -> None:
    path = tmp_path / "api-sessions.json"
    cookie = _login(path, Role.SUPERVISOR)
    path.write_text("{ not json", encoding="utf-8")
    assert _whoami(path, cookie) == 401
    assert _login(path, Role.SUPERVISOR) != cookie  # and the next login writes it anew
