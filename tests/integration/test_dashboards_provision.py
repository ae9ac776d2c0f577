"""``floorwatch dashboards push`` against a small real HTTP server speaking Grafana's API.

Grafana itself is not in Debian and cannot be downloaded here, so this server
implements the endpoints provision.py uses (folders, datasources by uid,
dashboards/db, search) with Grafana's status codes: 401 without the right
bearer token, 404 for an unknown uid, 409 for a duplicate folder or
datasource, 412 for an existing dashboard saved without ``overwrite``. No real
Grafana push was run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from dashboards.build import DatasourceSpec, build_dashboards, dashboard_json, datasource_body
from dashboards.provision import ProvisionError, connect, push
from gateway.cli import app
from gateway.config_loader import load_settings
from gateway.peers.process import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "glsa_test_token"  # noqa: S105


class FakeGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"null")

        def _route(self, method: str) -> None:
            path = urlsplit(self.path).path
            state.calls.append((method, path))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"message": "Unauthorized"})
                return
            body = self._body() if method in ("POST", "PUT") else None
            status, answer = _answer(state, method, path, body, urlsplit(self.path).query)
            self._send(status, answer)

        def do_GET(self) -> None:  # noqa: N802
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._route("PUT")

    return Handler


def _answer(state: FakeGrafana, method: str, path: str, body: Any, query: str) -> tuple[int, Any]:
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "folders"]:
        if method == "POST":
            if body["uid"] in state.folders:
                return 409, {"message": "a folder with the same name already exists"}
            state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "version": 1}
            return 200, state.folders[body["uid"]]
        folder = state.folders.get(parts[2]) if len(parts) == 3 else None
        if folder is None:
            return 404, {"message": "folder not found", "status": "not-found"}
        if method == "PUT":
            folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, folder
    if parts[:2] == ["api", "datasources"]:
        if method == "POST":
            if any(d["name"] == body["name"] for d in state.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            state.datasources[body["uid"]] = {**body, "id": len(state.datasources) + 1}
            return 200, {"message": "Datasource added", "datasource": body}
        uid = parts[3] if len(parts) == 4 and parts[2] == "uid" else ""
        if uid not in state.datasources:
            return 404, {"message": "Data source not found"}
        if method == "PUT":
            state.datasources[uid] = {**body, "id": state.datasources[uid]["id"]}
            return 200, {"message": "Datasource updated"}
        return 200, state.datasources[uid]
    if path == "/api/dashboards/db" and method == "POST":
        board = body["dashboard"]
        old = state.dashboards.get(board["uid"])
        if old is not None and not body.get("overwrite"):
            return 412, {
                "message": "A dashboard with the same uid already exists",
                "status": "name-exists",
            }
        if body.get("folderUid") not in state.folders:
            return 400, {"message": "folder not found"}
        version = old["version"] + 1 if old else 1
        state.dashboards[board["uid"]] = {
            "dashboard": board,
            "version": version,
            "folderUid": body["folderUid"],
        }
        return 200, {"status": "success", "uid": board["uid"], "version": version}
    if path == "/api/search" and method == "GET":
        folders = parse_qs(query).get("folderUIDs", [])
        hits = [
            {"uid": uid, "title": d["dashboard"]["title"], "type": "dash-db"}
            for uid, d in state.dashboards.items()
            if not folders or d["folderUid"] in folders
        ]
        return 200, hits
    return 404, {"message": "Not found"}


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafana]]:
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", free_port("127.0.0.1")), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def boards() -> list[dict[str, Any]]:
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    return [dashboard_json(m) for m in build_dashboards(settings)]


def test_push_creates_then_updates_idempotently(
    grafana: tuple[str, FakeGrafana], boards: list[dict[str, Any]]
) -> None:
    url, state = grafana
    ds = datasource_body(DatasourceSpec(), "influx-token")
    first = push(connect(url, TOKEN), url, ds, boards)
    assert (first.folder, first.datasource) == ("created", "created")
    assert set(first.dashboards.values()) == {"created"}
    second = push(connect(url, TOKEN), url, ds, boards)
    assert (second.folder, second.datasource) == ("updated", "updated")
    assert set(second.dashboards.values()) == {"updated"}
    assert list(state.folders) == ["floorwatch"]
    assert list(state.datasources) == ["floorwatch-influxdb"]
    assert sorted(state.dashboards) == sorted(b["uid"] for b in boards)
    assert {d["version"] for d in state.dashboards.values()} == {2}
    stored = state.datasources["floorwatch-influxdb"]
    assert stored["secureJsonData"] == {"httpHeaderValue1": "Token influx-token"}


def test_a_wrong_token_is_a_clear_error(
    grafana: tuple[str, FakeGrafana], boards: list[dict[str, Any]]
) -> None:
    url, _state = grafana
    with pytest.raises(ProvisionError, match=r"refused the token .*HTTP 401"):
        push(connect(url, "wrong"), url, datasource_body(DatasourceSpec(), None), boards)


def test_an_unreachable_grafana_is_a_clear_error(boards: list[dict[str, Any]]) -> None:
    url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    with pytest.raises(ProvisionError, match="cannot reach Grafana"):
        push(connect(url, TOKEN, timeout_s=2), url, datasource_body(DatasourceSpec(), None), boards)


@pytest.mark.parametrize("url", ["grafana:3000", "ftp://grafana", "http://admin:pw@grafana:3000"])
def test_a_bad_url_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(ProvisionError):
        connect(url, TOKEN)


def test_cli_push_takes_the_token_from_the_environment(grafana: tuple[str, FakeGrafana]) -> None:
    url, state = grafana
    runner = CliRunner()
    env = {"FLOORWATCH_GRAFANA_TOKEN": TOKEN, "FLOORWATCH_INFLUX_TOKEN": "t"}
    site = str(ROOT / "config" / "demo-site.yaml")
    result = runner.invoke(app, ["dashboards", "push", "--url", url, "-c", site], env=env)
    assert result.exit_code == 0, result.output
    assert "dashboard floorwatch-managers created" in result.output
    assert len(state.dashboards) == 3
    bad = runner.invoke(
        app,
        ["dashboards", "push", "--url", url, "-c", site],
        env={"FLOORWATCH_GRAFANA_TOKEN": "x"},
    )
    assert bad.exit_code == 1
    assert "refused the token" in bad.output
