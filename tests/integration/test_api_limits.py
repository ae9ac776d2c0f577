"""What an attacker tries first: huge bodies, guessing tokens, odd dates, forged client addresses.

In-process (starlette's TestClient, httpx over ASGI) for the rules, and over a
real uvicorn (``serve_api`` on a loopback port, raw sockets) where what matters
is what the server reads off the wire.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gateway.planning.service import PlanningService
from gateway.settings import Role
from tests.api_support import TOKENS, LiveServer, api_config, bearer, build_app, demo_settings

pytestmark = pytest.mark.integration
VIEWER = bearer(Role.VIEWER)
LIMIT = 4096


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


# --------------------------------------------------------------------------- body size


@pytest.fixture
def small_bodies() -> Iterator[TestClient]:
    app, _, _ = build_app(config=api_config(max_body_bytes=LIMIT))
    with TestClient(app, client=("10.0.0.5", 50000)) as client:
        yield client


def _too_large(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text
    body = r.json()
    assert body["error"]["code"] == "body_too_large"
    assert str(LIMIT) in body["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/session"),
        ("POST", "/api/v1/alerts/crowd_level:f2-waiting/acknowledge"),
        ("GET", "/api/v1/zones"),
        ("POST", "/api/v1/nothing-here"),
        ("GET", "/health"),
    ],
)
def test_a_large_body_is_refused_on_every_route(
    small_bodies: TestClient, method: str, path: str
) -> None:
    body = json.dumps({"token": "x" * (LIMIT + 1)})
    r = small_bodies.request(method, path, content=body, headers=VIEWER)
    _too_large(r)
    assert r.headers["x-content-type-options"] == "nosniff"  # still our response


def test_every_operation_of_the_schema_refuses_a_large_body(small_bodies: TestClient) -> None:
    paths = small_bodies.get("/openapi.json").json()["paths"]
    body = b"{" + b" " * LIMIT + b"}"
    seen = 0
    for template, operations in paths.items():
        path = template.replace("{zone_id}", "f2-waiting").replace("{floor_id}", "f2")
        path = path.replace("{alert_id}", "crowd_level:f2-waiting")
        path = path.replace("{source}", "qms-web")  # any name: the cap answers first
        assert "{" not in path, template
        for method in operations:
            r = small_bodies.request(method.upper(), path, content=body, headers=VIEWER)
            _too_large(r)
            seen += 1
    assert seen >= 26


def test_a_body_at_the_limit_is_taken(small_bodies: TestClient) -> None:
    token = TOKENS[Role.VIEWER]
    padding = LIMIT - len(json.dumps({"token": token, "p": ""}))
    body = json.dumps({"token": token, "p": " " * padding})
    assert len(body) == LIMIT
    r = small_bodies.post("/api/v1/session", content=body)
    assert r.status_code == 422  # read and parsed (the login model forbids "p")
    ok = small_bodies.post("/api/v1/session", json={"token": token})
    assert ok.status_code == 200


def test_a_chunked_body_is_cut_off_at_the_limit_without_reading_the_rest() -> None:
    """No Content-Length: the body is counted as it is read, and reading stops at the cap."""
    app, _, _ = build_app(config=api_config(max_body_bytes=LIMIT))
    sent = 0
    chunk = b"x" * 1000

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100_000):  # 100 MB if nobody stopped reading
            sent += len(chunk)
            yield chunk

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(
                "/api/v1/session", content=endless(), headers={"content-type": "application/json"}
            )

    r = asyncio.run(main())
    assert "content-length" not in r.request.headers
    _too_large(r)
    assert sent <= LIMIT + len(chunk)


def _raw_request(port: int, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def test_uvicorn_answers_413_to_a_declared_200_mb_body_before_it_is_sent() -> None:
    config = api_config(max_body_bytes=LIMIT)
    app, floor, _ = build_app(config=config)
    with LiveServer(app, config, floor) as server:
        sock = _raw_request(
            server.port,
            b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 209715200\r\n\r\n",
        )
        with sock:
            status, body = _read_response(sock)  # not one byte of the body was sent
        assert status == 413 and body["error"]["code"] == "body_too_large"  # type: ignore[index]


def test_uvicorn_stops_reading_a_chunked_body_at_the_limit() -> None:
    """A client streams chunks with no end; the 413 comes while it is still sending."""
    config = api_config(max_body_bytes=LIMIT)
    app, floor, _ = build_app(config=config)
    with LiveServer(app, config, floor) as server:
        sock = _raw_request(
            server.port,
            b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        chunk = b"%x\r\n%s\r\n" % (1024, b"x" * 1024)
        sent = 0
        with sock:
            try:
                while sent < 50 * 1024 * 1024:  # 50 MB if the server kept on reading
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:
                        break
                    sock.sendall(chunk)
                    sent += 1024
            except OSError:  # the server answered and closed: the rest is refused
                pass
            status, body = _read_response(sock)
        assert status == 413 and body["error"]["code"] == "body_too_large"  # type: ignore[index]
        # socket buffers hold a few MB on loopback; far from the 50 MB offered
        assert sent < 20 * 1024 * 1024


# --------------------------------------------------------------------------- lockout


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def guarded(clock: FakeClock) -> Iterator[TestClient]:
    app, _, _ = build_app(clock=clock, config=api_config(auth_max_failures=10))
    with TestClient(app, client=("10.0.0.5", 50000)) as client:
        yield client


def test_a_valid_token_does_not_reset_the_count_of_wrong_ones(guarded: TestClient) -> None:
    """9 wrong guesses, 1 request with the wall display's token, again: locked out at 10."""
    wrong = {"Authorization": "Bearer guess-0000"}
    statuses: list[int] = []
    for _ in range(3):
        statuses += [guarded.get("/api/v1/zones", headers=wrong).status_code for _ in range(9)]
        statuses.append(guarded.get("/api/v1/zones", headers=VIEWER).status_code)
    assert statuses[:10] == [401] * 9 + [200]
    assert statuses[10] == 401  # the 10th wrong guess: locks the address
    assert set(statuses[11:]) == {429}  # wrong or valid, every request is refused now
    assert guarded.get("/api/v1/zones", headers=VIEWER).status_code == 429


def test_a_valid_login_does_not_reset_the_count_of_wrong_ones(guarded: TestClient) -> None:
    for _ in range(9):
        assert guarded.post("/api/v1/session", json={"token": "guess-1"}).status_code == 401
    assert guarded.post("/api/v1/session", json={"token": TOKENS[Role.VIEWER]}).status_code == 200
    assert guarded.post("/api/v1/session", json={"token": "guess-2"}).status_code == 401
    assert guarded.post("/api/v1/session", json={"token": TOKENS[Role.VIEWER]}).status_code == 429


def test_wrong_tokens_age_out_of_the_window(guarded: TestClient, clock: FakeClock) -> None:
    wrong = {"Authorization": "Bearer guess-0000"}
    for _ in range(9):
        assert guarded.get("/api/v1/zones", headers=wrong).status_code == 401
    clock.now += timedelta(seconds=61)  # auth_window_s: 60
    for _ in range(9):
        assert guarded.get("/api/v1/zones", headers=wrong).status_code == 401
    assert guarded.get("/api/v1/zones", headers=VIEWER).status_code == 200


# --------------------------------------------------------------------------- dates


@pytest.fixture
def dated() -> Iterator[TestClient]:
    site = demo_settings()
    app, _, _ = build_app(site=site)  # InfluxDB: nobody on 127.0.0.1:9
    app.state.planning = PlanningService.from_settings(site)
    with TestClient(app) as client:
        yield client


BAD_TIMES = [
    "0001-01-01T00:00:00Z",
    "1677-09-21T00:12:43Z",
    "2352-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "1700000000",
    "1700000000.5",
    "2026-12-02T08:00:00",  # no offset
    "2026-13-01T08:00:00Z",
]
BAD_DATES = ["0001-01-01", "1677-09-21", "2352-01-01", "9999-12-31", "20261201", "1764547200"]


@pytest.mark.parametrize("value", BAD_TIMES)
@pytest.mark.parametrize("param", ["start", "end"])
def test_history_times_out_of_bounds_are_422(dated: TestClient, param: str, value: str) -> None:
    r = dated.get("/api/v1/zones/f2-waiting/history", params={param: value}, headers=VIEWER)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert f"query.{param}" in error["message"] and "2000 to 2099" in error["message"]
    assert value not in r.text  # never echoed


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1700000000"])
def test_alert_filters_take_the_same_bounds(dated: TestClient, value: str) -> None:
    r = dated.get("/api/v1/alerts", params={"since": value}, headers=VIEWER)
    assert r.status_code == 422 and "2000 to 2099" in r.json()["error"]["message"]


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize("path", ["/api/v1/planning/staffing", "/api/v1/planning/staffing.csv"])
def test_staffing_dates_out_of_bounds_are_422(dated: TestClient, path: str, value: str) -> None:
    r = dated.get(path, params={"date": value}, headers=bearer(Role.MANAGER))
    assert r.status_code == 422, r.text
    assert "query.date" in r.json()["error"]["message"]


def test_good_dates_reach_influxdb_and_its_address_is_never_shown(dated: TestClient) -> None:
    for path, params, role in [
        (
            "/api/v1/zones/f2-waiting/history",
            {"start": "2000-01-01T00:00:00Z", "end": "2000-01-01T12:00:00+07:00"},
            Role.VIEWER,
        ),
        ("/api/v1/zones/f2-waiting/history", {"end": "2099-12-31T23:59:59Z"}, Role.VIEWER),
        ("/api/v1/planning/staffing", {"date": "2099-12-31"}, Role.MANAGER),
        ("/api/v1/planning/staffing", {"date": "2026-12-07"}, Role.MANAGER),
    ]:
        r = dated.get(path, params=params, headers=bearer(role))
        assert r.status_code == 503, (path, params, r.text)
        assert r.json()["error"]["code"] == "history_unavailable"
        assert "127.0.0.1" not in r.text and ":9" not in r.text


def test_openapi_states_the_bounds(dated: TestClient) -> None:
    spec = dated.get("/openapi.json").json()

    def schema(path: str, name: str) -> dict[str, object]:
        params = spec["paths"][path]["get"]["parameters"]
        found = next(p for p in params if p["name"] == name)["schema"]
        return next(s for s in found["anyOf"] if s.get("type") == "string")

    end = schema("/api/v1/zones/{zone_id}/history", "end")
    assert end["format"] == "date-time" and str(end["pattern"]).startswith("^20[0-9]{2}-")
    day = schema("/api/v1/planning/staffing", "date")
    assert day["format"] == "date" and "2000 to 2099" in str(day["description"])


# --------------------------------------------------------------------------- proxies


def _lock_out(client: TestClient, forwarded_for: str) -> None:
    headers = {"Authorization": "Bearer guess", "X-Forwarded-For": forwarded_for}
    for _ in range(3):
        client.get("/api/v1/zones", headers=headers)


def test_behind_a_trusted_proxy_the_lockout_counts_the_real_client() -> None:
    config = api_config(auth_max_failures=3, trusted_proxies=["10.0.0.0/24"])
    app, _, _ = build_app(config=config)
    with TestClient(app, client=("10.0.0.2", 50000)) as proxy:
        _lock_out(proxy, "203.0.113.7")
        attacker = {**VIEWER, "X-Forwarded-For": "203.0.113.7"}
        assert proxy.get("/api/v1/zones", headers=attacker).status_code == 429
        # a proxy in front of the proxy is trusted too: the client is the first untrusted hop
        chained = {**VIEWER, "X-Forwarded-For": "203.0.113.7, 10.0.0.9"}
        assert proxy.get("/api/v1/zones", headers=chained).status_code == 429
        wall = {**VIEWER, "X-Forwarded-For": "192.0.2.10"}
        assert proxy.get("/api/v1/zones", headers=wall).status_code == 200
        # a forged first hop does not help: the proxy appended the real address last
        forged = {**VIEWER, "X-Forwarded-For": "192.0.2.10, 203.0.113.7"}
        assert proxy.get("/api/v1/zones", headers=forged).status_code == 429


def test_forwarded_headers_from_anyone_else_are_ignored() -> None:
    config = api_config(auth_max_failures=3, trusted_proxies=["10.0.0.0/24"])
    app, _, _ = build_app(config=config)
    with TestClient(app, client=("198.51.100.4", 50000)) as outsider:
        for n in range(3):  # a new forged address each time: all count against the peer
            _lock_out(outsider, f"203.0.113.{n}")
        other = {**VIEWER, "X-Forwarded-For": "192.0.2.10"}
        assert outsider.get("/api/v1/zones", headers=other).status_code == 429


def test_without_trusted_proxies_the_peer_address_is_the_client() -> None:
    app, _, _ = build_app(config=api_config(auth_max_failures=3))
    with TestClient(app, client=("10.0.0.2", 50000)) as proxy:
        _lock_out(proxy, "203.0.113.7")
        wall = {**VIEWER, "X-Forwarded-For": "192.0.2.10"}
        assert proxy.get("/api/v1/zones", headers=wall).status_code == 429


def test_a_trusted_proxy_over_real_uvicorn_and_its_scheme() -> None:
    """Both ways over a real server: 127.0.0.1 trusted, then not."""
    for trusted, wall_status in ((["127.0.0.1"], 200), ([], 429)):
        config = api_config(auth_max_failures=3, trusted_proxies=trusted)
        app, floor, _ = build_app(config=config)
        with LiveServer(app, config, floor) as server, httpx.Client(base_url=server.url) as c:
            bad = {"Authorization": "Bearer guess", "X-Forwarded-For": "203.0.113.7"}
            assert [c.get("/api/v1/zones", headers=bad).status_code for _ in range(3)] == [401] * 3
            wall = {**VIEWER, "X-Forwarded-For": "192.0.2.10"}
            assert c.get("/api/v1/zones", headers=wall).status_code == wall_status
        if trusted:
            # the proxy ended TLS: a session cookie's same-origin check sees https
            with TestClient(app, base_url="http://gw.example", client=("127.0.0.1", 1)) as page:
                page.post("/api/v1/session", json={"token": TOKENS[Role.SUPERVISOR]})
                r = page.post(
                    "/api/v1/alerts/nothing/acknowledge",
                    headers={"Origin": "https://gw.example", "X-Forwarded-Proto": "https"},
                )
                assert r.status_code == 404  # past the origin check (403 otherwise)
