"""Every endpoint of the API, built by create_app over the in-memory FloorService.

The app runs in-process (ASGI, starlette's TestClient); the floor is a real
working collaborator (tests/memory_floor.py), not a mock of HTTP.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.metrics import StatsCollector
from gateway.live import AlertState, Severity, ZoneClimateState
from gateway.observations import DeviceHealth, DeviceKind
from gateway.settings import Role
from tests.api_support import CAMERA_PASSWORD, NAMES, TOKENS, api_config, bearer, build_app
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
VIEWER = bearer(Role.VIEWER)
SUPERVISOR = bearer(Role.SUPERVISOR)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def floor_client(clock: FakeClock) -> Iterator[tuple[TestClient, MemoryFloor]]:
    app, floor, _ = build_app(clock=clock, config=api_config(auth_max_failures=3))
    with TestClient(app, client=("10.0.0.5", 50000)) as client:
        yield client, floor


@pytest.fixture
def client(floor_client: tuple[TestClient, MemoryFloor]) -> TestClient:
    return floor_client[0]


@pytest.fixture
def floor(floor_client: tuple[TestClient, MemoryFloor]) -> MemoryFloor:
    return floor_client[1]


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_site_floors_and_zone_outlines(client: TestClient, floor: MemoryFloor) -> None:
    floor.set_count("f2-waiting", 90)
    site = client.get("/api/v1/site", headers=VIEWER).json()
    assert site["id"] == "demo-hcc"
    assert [f["id"] for f in site["floors"]] == ["f1", "f2"]
    f2 = site["floors"][1]
    assert f2["width_m"] == 32.5 and f2["depth_m"] == 20
    assert f2["occupancy"] == 90 and site["occupancy"] == 90
    waiting = next(z for z in f2["zones"] if z["id"] == "f2-waiting")
    assert waiting["polygon"] == [[0, 0], [26, 0], [26, 12], [0, 12]]
    assert waiting["capacity"] == 180
    land = {"id": "land", "name": "Đất đai", "counters": [1, 2, 3, 4]}
    assert land in site["services"] and len(site["services"]) == 9
    assert client.get("/api/v1/floors", headers=VIEWER).json()[1] == f2
    assert client.get("/api/v1/floors/f2", headers=VIEWER).json() == f2
    missing = client.get("/api/v1/floors/f9", headers=VIEWER)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "floor_not_found"


def test_zones_live_with_sources_and_filters(client: TestClient, floor: MemoryFloor) -> None:
    floor.set_count("f2-waiting", 150)
    floor.set_climate("f2-waiting", ZoneClimateState(temperature_c=27.5, co2_ppm=900))
    zones = client.get("/api/v1/zones", headers=VIEWER).json()
    assert len(zones) == 8
    waiting = client.get("/api/v1/zones/f2-waiting", headers=VIEWER).json()
    assert waiting["occupancy"] == 150 and waiting["level"] == "crowded"
    assert waiting["sources"][0]["source_id"] == "pc-f2-waiting"
    assert waiting["climate"]["co2_ppm"] == 900
    f2 = client.get("/api/v1/zones", params={"floor": "f2"}, headers=VIEWER).json()
    assert {z["zone_id"] for z in f2} == {"f2-waiting", "f2-counters", "f2-landing"}
    crowded = client.get("/api/v1/zones", params={"level": "crowded"}, headers=VIEWER).json()
    assert [z["zone_id"] for z in crowded] == ["f2-waiting"]
    assert client.get("/api/v1/zones/nowhere", headers=VIEWER).status_code == 404
    bad = client.get("/api/v1/zones", params={"level": "packed"}, headers=VIEWER)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_alert_lifecycle_with_audited_note(
    client: TestClient, floor: MemoryFloor, clock: FakeClock
) -> None:
    floor.set_count("f2-waiting", 185)  # critical: raises crowd_level:f2-waiting
    [alert] = client.get("/api/v1/alerts", headers=VIEWER).json()
    assert alert["id"] == "crowd_level:f2-waiting"
    assert alert["severity"] == "critical" and alert["state"] == "active"
    r = client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge",
        json={"note": "mở thêm quầy 24"},
        headers=SUPERVISOR,
    )
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged_by"] == NAMES[Role.SUPERVISOR]
    assert acked["note"].startswith("mở thêm quầy 24 [acknowledged by Nguyễn Văn An (supervisor)")
    assert "from 10.0.0.5 at 2026-12-01T01:30:00+00:00]" in acked["note"]
    again = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=SUPERVISOR)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    clock.now += timedelta(minutes=5)
    done = client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={}, headers=SUPERVISOR)
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    assert client.get("/api/v1/alerts", headers=VIEWER).json() == []
    resolved = client.get("/api/v1/alerts", params={"state": "resolved"}, headers=VIEWER).json()
    assert [a["id"] for a in resolved] == [alert["id"]]
    assert client.get(f"/api/v1/alerts/{alert['id']}", headers=VIEWER).json()["state"] == "resolved"
    missing = client.post("/api/v1/alerts/nope/acknowledge", headers=SUPERVISOR)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "alert_not_found"
    assert client.get("/api/v1/alerts/nope", headers=VIEWER).status_code == 404


def test_alert_filters(client: TestClient, floor: MemoryFloor, clock: FakeClock) -> None:
    floor.raise_alert(
        "co2:f2-waiting",
        rule="co2_high",
        severity=Severity.WARNING,
        message="CO2 high",
        zone_id="f2-waiting",
    )
    clock.now += timedelta(minutes=10)
    floor.raise_alert(
        "camera_offline:cam-1",
        rule="camera_offline",
        severity=Severity.CRITICAL,
        message="camera offline",
        device_id="cam-1",
    )

    def ids(**params: object) -> list[str]:
        r = client.get("/api/v1/alerts", params=params, headers=VIEWER)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()]

    assert ids() == ["camera_offline:cam-1", "co2:f2-waiting"]  # newest first
    assert ids(zone="f2-waiting") == ["co2:f2-waiting"]
    assert ids(severity="critical") == ["camera_offline:cam-1"]
    assert ids(severity=["critical", "warning"], limit=1) == ["camera_offline:cam-1"]
    assert ids(since=(clock.now - timedelta(minutes=5)).isoformat()) == ["camera_offline:cam-1"]
    assert ids(until=(clock.now - timedelta(minutes=5)).isoformat()) == ["co2:f2-waiting"]
    assert ids(state="acknowledged") == []
    naive = client.get("/api/v1/alerts", params={"since": "2026-12-01T08:00:00"}, headers=VIEWER)
    assert naive.status_code == 422


def test_cameras_and_sensors_show_health_never_credentials(
    client: TestClient, floor: MemoryFloor, clock: FakeClock
) -> None:
    floor.set_device(
        DeviceHealth(
            "cam-f2-waiting",
            DeviceKind.CAMERA,
            False,
            clock(),
            detail=f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.21/ timed out",
            fps=0.0,
        )
    )
    floor.set_device(
        DeviceHealth("cl-f2-waiting", DeviceKind.SENSOR, True, clock(), battery_pct=80)
    )
    r = client.get("/api/v1/cameras", headers=VIEWER)
    assert r.status_code == 200
    [cam] = r.json()
    assert cam["zones"] == ["f2-waiting"] and cam["health"]["online"] is False
    assert CAMERA_PASSWORD not in r.text and "admin:" not in r.text
    assert "stream1" not in r.text  # the configured stream URI is never shown
    assert "rtsp://***:***@10.0.0.21/ timed out" in cam["health"]["detail"]
    sensors = client.get("/api/v1/sensors", headers=VIEWER).json()
    by_id = {s["id"]: s for s in sensors}
    assert by_id["cl-f2-waiting"]["health"]["battery_pct"] == 80
    assert by_id["dc-main"]["health"] is None and by_id["dc-main"]["door"] == "d-main"


def test_climate_for_facility_staff(client: TestClient, floor: MemoryFloor) -> None:
    floor.set_climate("f2-waiting", ZoneClimateState(temperature_c=29.0, temperature_status="high"))
    r = client.get("/api/v1/climate", headers=bearer(Role.FACILITY))
    assert r.status_code == 200
    waiting = next(z for z in r.json() if z["zone_id"] == "f2-waiting")
    assert waiting["comfort"]["temperature_c"] == [26.0, 28.0]
    assert waiting["climate"]["temperature_status"] == "high"


def test_history_answers_503_when_influxdb_is_away_and_checks_ranges(client: TestClient) -> None:
    r = client.get("/api/v1/zones/f2-waiting/history", headers=VIEWER)
    assert r.status_code == 503 and r.json()["error"]["code"] == "history_unavailable"
    too_long = client.get(
        "/api/v1/zones/f2-waiting/history",
        params={"resolution": "1m", "start": "2026-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z"},
        headers=VIEWER,
    )
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "invalid_range"
    unknown = client.get("/api/v1/zones/nowhere/history", headers=VIEWER)
    assert unknown.status_code == 404
    bad_res = client.get(
        "/api/v1/zones/f2-waiting/history", params={"resolution": "5m"}, headers=VIEWER
    )
    assert bad_res.status_code == 422


def test_metrics_in_prometheus_format(client: TestClient, floor: MemoryFloor) -> None:
    floor.set_count("f2-waiting", 185)
    client.get("/api/v1/zones", headers=VIEWER)
    r = client.get("/metrics", headers=VIEWER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'floorwatch_zone_people{zone="f2-waiting"} 185.0' in text
    assert 'floorwatch_zone_level{zone="f2-waiting"} 3.0' in text
    assert 'floorwatch_alerts{severity="critical",state="active"} 1.0' in text
    assert 'floorwatch_api_requests_total{method="GET",route="/api/v1/zones",status="200"}' in text
    assert client.get("/metrics").status_code == 401


def test_login_sets_a_strict_httponly_cookie_and_logout_clears_it(client: TestClient) -> None:
    r = client.post("/api/v1/session", json={"token": TOKENS[Role.SUPERVISOR]})
    assert r.status_code == 200 and r.json() == {
        "name": NAMES[Role.SUPERVISOR],
        "role": "supervisor",
    }
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert TOKENS[Role.SUPERVISOR] not in cookie
    assert client.get("/api/v1/session").json()["role"] == "supervisor"
    assert client.get("/api/v1/zones").status_code == 200  # the cookie alone is enough
    assert client.delete("/api/v1/session").status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/zones").status_code == 401


def test_cookie_writes_from_another_origin_are_refused(
    client: TestClient, floor: MemoryFloor
) -> None:
    floor.set_count("f2-waiting", 185)
    client.post("/api/v1/session", json={"token": TOKENS[Role.SUPERVISOR]})
    r = client.post(
        "/api/v1/alerts/crowd_level:f2-waiting/acknowledge",
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"


def test_failed_logins_are_rate_limited_per_client(client: TestClient, clock: FakeClock) -> None:
    for _ in range(2):
        assert client.post("/api/v1/session", json={"token": "wrong-" * 4}).status_code == 401
    assert client.get("/api/v1/zones", headers={"Authorization": "Bearer nope"}).status_code == 401
    locked = client.post("/api/v1/session", json={"token": TOKENS[Role.VIEWER]})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert client.get("/api/v1/zones", headers=VIEWER).status_code == 429
    clock.now += timedelta(seconds=301)
    assert client.get("/api/v1/zones", headers=VIEWER).status_code == 200


def test_validation_errors_never_echo_the_input(client: TestClient) -> None:
    r = client.post("/api/v1/session", json={"token": "x" * 600})
    assert r.status_code == 422
    assert "xxxx" not in r.text


def test_unknown_routes_answer_json_404(client: TestClient) -> None:
    r = client.get("/api/v1/nothing", headers=VIEWER)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_security_headers_and_the_page_is_served_locally(client: TestClient) -> None:
    r = client.get("/ui/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "http://" not in r.text and "https://" not in r.text  # no CDN
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"


def test_cors_is_closed_unless_configured() -> None:
    origin = "http://wall-display.local"
    app, _, _ = build_app()
    with TestClient(app) as closed:
        r = closed.get("/health", headers={"Origin": origin})
        assert "access-control-allow-origin" not in r.headers
    app, _, _ = build_app(config=api_config(cors_origins=[origin]))
    with TestClient(app) as open_:
        r = open_.get("/health", headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin


def test_openapi_has_examples_and_security(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["ZoneOut"]["examples"][0]["zone_id"] == "f2-waiting"
    assert schemas["AlertOut"]["examples"]
    assert {"HTTPBearer", "APIKeyCookie"} <= set(spec["components"]["securitySchemes"])
    assert "401" in spec["paths"]["/api/v1/zones"]["get"]["responses"]


def test_alert_state_enum_matches_the_contract() -> None:
    assert {s.value for s in AlertState} == {"active", "acknowledged", "resolved"}


def test_stats_collector_exports_a_stats_dataclass() -> None:
    @dataclass
    class Stats:
        messages: int = 12
        decode_errors: int = 1
        spool_bytes: float = 2048.0
        last_error: str | None = "boom"
        connected: bool = True

    app, _, registry = build_app()
    registry.register(
        StatsCollector("floorwatch_hub", Stats, counters=["messages", "decode_errors"])
    )
    with TestClient(app) as client:
        text = client.get("/metrics", headers=VIEWER).text
    assert "floorwatch_hub_messages_total 12.0" in text
    assert "floorwatch_hub_decode_errors_total 1.0" in text
    assert "floorwatch_hub_spool_bytes 2048.0" in text
    assert "last_error" not in text and "connected" not in text


def test_no_swagger_ui_from_a_cdn(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_method_not_allowed_lists_every_method_of_the_path(client: TestClient) -> None:
    r = client.request("PUT", "/api/v1/session")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE"}
