"""GET /api/v1/dead-letters and the per-sensor decode errors of /metrics.

The app is built by create_app (in-process, starlette's TestClient) with a
real DeadLetters record (a file in tmp_path) set as the composition root sets
it. Who may read it (supervisor, admin), what a letter shows (a text preview
with credentials scrubbed, never the raw bytes), the filters, and the counts.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.routes.dead_letters import DecodeErrorCollector
from gateway.dead_letters import DeadLetter, DeadLetters
from gateway.settings import Role
from tests.api_support import bearer, build_app

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _dead(tmp_path: Path) -> DeadLetters:
    dead = DeadLetters(tmp_path / "dead-letters.jsonl", max_entries=100)
    dead.open()
    for i in range(3):
        dead.record(
            DeadLetter("airq/hall", f"co2_ppm {65000 + i} outside [250, 10000]", T0, b"{}", "cl-a")
        )
    dead.record(
        DeadLetter(
            "tele/x/SENSOR",
            "not JSON: Expecting value at char 0",
            T0 + timedelta(seconds=5),
            b"see rtsp://admin:hunter2@10.0.0.5/ \xff\xfe" + b"x" * 5000,
            "cl-b",
        )
    )
    dead.record(DeadLetter("nobody/listens", "no sensor is configured for this topic", T0, b"1"))
    return dead


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app, _, registry = build_app()
    dead = _dead(tmp_path)
    app.state.dead_letters = dead
    registry.register(DecodeErrorCollector(dead))
    return TestClient(app)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_read_the_dead_letters(client: TestClient, role: Role) -> None:
    r = client.get("/api/v1/dead-letters", headers=bearer(role))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5
    assert body["per_sensor"] == [{"sensor": "cl-a", "count": 3}, {"sensor": "cl-b", "count": 1}]
    newest = body["letters"][0]
    assert newest["topic"] == "nobody/listens" and newest["sensor"] is None
    assert [d["reason"] for d in body["letters"][2:]] == [
        "co2_ppm 65002 outside [250, 10000]",
        "co2_ppm 65001 outside [250, 10000]",
        "co2_ppm 65000 outside [250, 10000]",
    ]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MANAGER, Role.FACILITY])
def test_other_roles_may_not(client: TestClient, role: Role) -> None:
    r = client.get("/api/v1/dead-letters", headers=bearer(role))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/dead-letters").status_code == 401


def test_a_payload_is_a_scrubbed_text_preview(client: TestClient) -> None:
    r = client.get("/api/v1/dead-letters?sensor=cl-b", headers=bearer(Role.ADMIN))
    [letter] = r.json()["letters"]
    assert letter["payload_bytes"] == len(b"see rtsp://admin:hunter2@10.0.0.5/ \xff\xfe") + 5000
    preview = letter["payload_preview"]
    assert "hunter2" not in preview and "rtsp://***:***@10.0.0.5/" in preview
    assert "\ufffd" in preview  # invalid UTF-8 shown as such
    assert len(preview.encode("utf-8")) <= 1024 + 8  # the first 1 KiB
    assert "hunter2" not in r.text


def test_filter_and_limit(client: TestClient) -> None:
    supervisor = bearer(Role.SUPERVISOR)
    r = client.get("/api/v1/dead-letters?sensor=cl-a&limit=2", headers=supervisor)
    assert [d["reason"][-24:] for d in r.json()["letters"]] == [
        "65002 outside [250, 10000]"[-24:],
        "65001 outside [250, 10000]"[-24:],
    ]
    counts = client.get("/api/v1/dead-letters?limit=0", headers=supervisor).json()
    assert counts["letters"] == [] and counts["total"] == 5  # the counts alone, for the page
    assert client.get("/api/v1/dead-letters?limit=1001", headers=supervisor).status_code == 422


def test_without_a_gateway_it_is_503() -> None:
    app, _, _ = build_app()
    r = TestClient(app).get("/api/v1/dead-letters", headers=bearer(Role.ADMIN))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "unavailable"


def test_decode_errors_per_sensor_in_metrics(client: TestClient) -> None:
    text = client.get("/metrics", headers=bearer(Role.VIEWER)).text
    assert 'floorwatch_sensor_decode_errors_total{sensor="cl-a"} 3.0' in text
    assert 'floorwatch_sensor_decode_errors_total{sensor="cl-b"} 1.0' in text


def test_the_per_sensor_counts_are_bounded(tmp_path: Path) -> None:
    dead = DeadLetters(tmp_path / "d.jsonl", max_entries=10, max_topics=3)
    for i in range(100):
        dead.record(DeadLetter("t", "bad", T0, b"", f"s{i % 7}"))
    assert len(dead.per_sensor) == 3
    assert list(dead.per_sensor) == ["s6", "s0", "s1"]  # the most recent kept (i = 97, 98, 99)
    assert dead.per_sensor["s6"] == 1  # evicted between its letters: counted again from 1
