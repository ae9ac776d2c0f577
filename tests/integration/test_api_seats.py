"""The counters endpoint and a zone's binary presence, over the in-memory FloorService."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gateway.seats import SeatState, SeatStatus
from gateway.settings import Role
from tests.api_support import bearer, build_app

pytestmark = pytest.mark.integration
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_counters_list_seats_open_now_and_per_service() -> None:
    app, floor, _ = build_app(clock=lambda: AT)
    floor.set_seats(
        [
            SeatState(6, "civil", SeatStatus.CLOSED, AT, False, AT),
            SeatState(5, "civil", SeatStatus.OPEN, AT, True, AT),
            SeatState(1, "land", SeatStatus.UNKNOWN, None, None, None),
        ]
    )
    with TestClient(app) as client:
        r = client.get("/api/v1/counters", headers=bearer(Role.VIEWER))
        assert r.status_code == 200
        body = r.json()
        assert body["open"] == [5]
        assert [(s["counter"], s["status"], s["occupied"]) for s in body["seats"]] == [
            (1, "unknown", None),
            (5, "open", True),
            (6, "closed", False),
        ]
        services = {s["service_id"]: s for s in body["services"]}
        assert (services["civil"]["watched"], services["civil"]["open"]) == ([5, 6], 1)
        assert (services["land"]["counters"], services["land"]["open"]) == ([1, 2, 3, 4], 0)
        assert (services["tax"]["watched"], services["tax"]["open"]) == ([], 0)
        assert client.get("/api/v1/counters").status_code == 401


def test_no_seat_sensor_means_no_counter_is_known_open() -> None:
    app, _, _ = build_app(clock=lambda: AT)
    with TestClient(app) as client:
        body = client.get("/api/v1/counters", headers=bearer(Role.VIEWER)).json()
    assert body["open"] == [] and body["seats"] == []
    assert all(s["watched"] == [] for s in body["services"])


def test_a_zone_known_only_by_binary_presence_is_not_a_count() -> None:
    app, floor, _ = build_app(clock=lambda: AT)
    floor.set_count("f1-canteen", 0, method="binary")
    floor.set_presence("f1-canteen", "occupied")
    floor.set_count("f2-waiting", 0)
    floor.set_presence("f2-waiting", "occupied")  # counted 0, somebody there: uncounted
    with TestClient(app) as client:
        canteen = client.get("/api/v1/zones/f1-canteen", headers=bearer(Role.VIEWER)).json()
        waiting = client.get("/api/v1/zones/f2-waiting", headers=bearer(Role.VIEWER)).json()
    assert (canteen["method"], canteen["known"], canteen["presence"]) == (
        "binary",
        False,
        "occupied",
    )
    assert (waiting["known"], waiting["occupancy"], waiting["presence"]) == (True, 0, "occupied")
