"""``floorwatch fleet serve``'s API against a real nats-server (and a real InfluxDB 1.x for the
month): the centers in the attention order from the ``fleet_sites`` bucket, kept by a KV watch;
offline by the service's clock; the area filter; the live stream; roles and the error format."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from gateway.fleet.central_config import OverviewConfig, WaitThresholds
from gateway.fleet.cli import fleet_app
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.peers.process import free_port
from gateway.settings import Role
from tests.integration.fleet_page_support import (
    SITES,
    T0,
    TOKENS,
    WAIT_S,
    Clock,
    PageServer,
    central_config,
    put_states,
    site_doc,
)

pytestmark = pytest.mark.integration


def bearer(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def first_docs(at: datetime) -> dict[str, dict[str, Any] | None]:
    return {
        "hue.thuan-hoa": site_doc(
            "hue.thuan-hoa",
            at,
            {"waiting": (40, "busy", 600.0), "entrance": (8, "calm", None)},
            devices={"cam-1": True, "cam-2": False},
        ),
        "hue.phu-xuan": site_doc("hue.phu-xuan", at, {"waiting": (12, "calm", 120.0)}),
        "hue.huong-thuy": site_doc(
            "hue.huong-thuy", at - timedelta(hours=2), {"waiting": (90, "crowded", 900.0)}
        ),
        # reports, but is not in the registry: shown under its ids
        "hue.vinh-loc": site_doc("hue.vinh-loc", at, {"waiting": (3, "calm", 0.0)}),
    }


@pytest.fixture
def page(nats_server: NatsServer) -> Iterator[tuple[PageServer, Clock]]:
    clock = Clock(T0)
    put_states(nats_server.url, first_docs(T0))
    with PageServer(central_config(nats_server.url), clock) as server:
        wait_ready(server)
        yield server, clock


def wait_ready(server: PageServer) -> None:
    deadline = time.monotonic() + WAIT_S
    while httpx.get(server.url + "/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "the page never watched the bucket"
        time.sleep(0.05)


def centers(server: PageServer, **params: Any) -> dict[str, Any]:
    r = httpx.get(server.url + "/api/v1/fleet/centers", params=params, headers=bearer(Role.VIEWER))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def keys(body: dict[str, Any]) -> list[str]:
    return [c["key"] for c in body["centers"]]


def until(server: PageServer, want: list[str], **params: Any) -> dict[str, Any]:
    """The list once its order is ``want`` (the watch delivers a bucket change)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        body = centers(server, **params)
        if keys(body) == want:
            return body
        assert time.monotonic() < deadline, f"order stayed {keys(body)}"
        time.sleep(0.05)


def test_the_centers_in_attention_order_follow_the_bucket_and_the_clock(
    page: tuple[PageServer, Clock], nats_server: NatsServer
) -> None:
    server, clock = page
    body = centers(server)
    assert keys(body) == [
        "hue.a-luoi",  # registered, never heard from
        "hue.huong-thuy",  # silent for 2 h: offline (its "crowded" is old)
        "hue.thuan-hoa",  # busy, a camera down
        "hue.phu-xuan",  # calm, a wait of 2 min
        "hue.vinh-loc",  # calm
    ]
    by = {c["key"]: c for c in body["centers"]}
    th = by["hue.thuan-hoa"]
    assert (th["name"], th["area"], th["control_room"]) == (
        "TT Phục vụ HCC phường Thuận Hóa",
        "Thuận Hóa",
        "http://10.20.1.10:8080/ui/",
    )
    assert (th["people"], th["level"], th["longest_wait_s"], th["devices_down"]) == (
        48,
        "busy",
        600.0,
        1,
    )
    assert (th["link"], th["attention"], th["reasons"]) == ("live", 2, ["busy", "devices_down"])
    assert (by["hue.huong-thuy"]["link"], by["hue.huong-thuy"]["age_s"]) == ("offline", 7200.0)
    assert by["hue.a-luoi"]["link"] == "never" and by["hue.a-luoi"]["last_seen"] is None
    assert (by["hue.vinh-loc"]["name"], by["hue.vinh-loc"]["registered"]) == ("vinh-loc", False)
    assert body["counts"] == {
        "live": 3,
        "offline": 1,
        "never": 1,
        "urgent": 0,
        "people": 63,
        "open_alerts": 0,
        "devices_down": 1,
    }
    assert body["areas"] == ["A Lưới", "Hương Thủy", "Phú Xuân", "Thuận Hóa"]
    assert body["watching"] is True

    # a calm center turns crowded with a critical alert: it rises to the top
    put_states(
        nats_server.url,
        {
            "hue.phu-xuan": site_doc(
                "hue.phu-xuan",
                T0 + timedelta(seconds=30),
                {"waiting": (175, "critical", 1800.0)},
                alerts={"crowd_level-waiting": "critical"},
            )
        },
    )
    clock.advance(30)
    body = until(
        server,
        ["hue.phu-xuan", "hue.a-luoi", "hue.huong-thuy", "hue.thuan-hoa", "hue.vinh-loc"],
    )
    assert body["centers"][0]["reasons"] == ["critical", "critical_alerts"]

    # eleven minutes later with nothing new from Thuận Hóa and Vĩnh Lộc: offline by the clock
    put_states(
        nats_server.url,
        {
            "hue.phu-xuan": site_doc(
                "hue.phu-xuan", T0 + timedelta(minutes=11), {"waiting": (20, "calm", 60.0)}
            )
        },
    )
    clock.advance(630)
    body = until(
        server,
        ["hue.a-luoi", "hue.huong-thuy", "hue.thuan-hoa", "hue.vinh-loc", "hue.phu-xuan"],
    )
    assert [c["link"] for c in body["centers"]] == [
        "never",
        "offline",
        "offline",
        "offline",
        "live",
    ]

    # a site removed from the bucket leaves the list (the registry's still show)
    put_states(nats_server.url, {"hue.vinh-loc": None})
    until(server, ["hue.a-luoi", "hue.huong-thuy", "hue.thuan-hoa", "hue.phu-xuan"])


def test_a_long_wait_ranks_a_center_by_the_provinces_thresholds(
    nats_server: NatsServer,
) -> None:
    """The screenshot of issue 16: a calm commune center, 19 people, no alert of its own and a
    70-minute longest wait ranked calm; by the province's thresholds (30 and 60 minutes by
    default; Phú Xuân's area 90 to act; A Lưới's own 15 to watch) it is acted on, with why."""
    cfg = central_config(nats_server.url)
    sites = [s.model_copy(update={"wait_watch_min": 15}) if s.id == "a-luoi" else s for s in SITES]
    cfg = cfg.model_copy(
        update={
            "sites": sites,
            "overview": OverviewConfig(
                offline_after_s=600, area_waits={"phú xuân": WaitThresholds(wait_act_min=90)}
            ),
        }
    )
    calm: dict[str, tuple[int | None, str | None, float | None]] = {"hall": (19, "calm", 4200.0)}
    put_states(
        nats_server.url,
        {
            "hue.thuan-hoa": site_doc("hue.thuan-hoa", T0, calm),
            "hue.phu-xuan": site_doc("hue.phu-xuan", T0, calm),
            "hue.a-luoi": site_doc("hue.a-luoi", T0, {"hall": (6, "calm", 20 * 60.0)}),
            "hue.vinh-loc": site_doc("hue.vinh-loc", T0, {"hall": (3, "calm", 10 * 60.0)}),
            "hue.huong-thuy": site_doc("hue.huong-thuy", T0, {"hall": (4, "calm", 60.0)}),
        },
    )
    with PageServer(cfg, Clock(T0)) as server:
        wait_ready(server)
        body = until(
            server,
            ["hue.thuan-hoa", "hue.phu-xuan", "hue.a-luoi", "hue.vinh-loc", "hue.huong-thuy"],
        )
    by = {c["key"]: c for c in body["centers"]}
    got = {
        k: (c["attention"], c["reasons"], c["wait_watch_s"], c["wait_act_s"]) for k, c in by.items()
    }
    assert got == {
        "hue.thuan-hoa": (3, ["wait_act"], 1800.0, 3600.0),  # the province's
        "hue.phu-xuan": (2, ["wait_watch"], 1800.0, 5400.0),  # its area acts at 90 min
        "hue.a-luoi": (2, ["wait_watch"], 900.0, 3600.0),  # its own watch at 15 min
        "hue.huong-thuy": (1, [], 1800.0, 3600.0),
        "hue.vinh-loc": (1, [], 1800.0, 3600.0),  # not registered: the province's
    }
    assert by["hue.thuan-hoa"]["level"] == "calm" and by["hue.thuan-hoa"]["open_alerts"] == 0


def _with_certificate(doc: dict[str, Any], ends: datetime) -> dict[str, Any]:
    entry = {"source": "link", "path": "/etc/nats/tls/center.pem", "subject": "CN=c"}
    entry["not_after"] = ends.isoformat()
    return {**doc, "certificates": {"at": T0.isoformat(), "list": [entry]}}


@pytest.mark.parametrize(("warn_days", "shown"), [(None, [13, None]), (45, [13, 41])])
def test_a_centers_certificate_is_shown_within_the_central_files_warn_days(
    nats_server: NatsServer, warn_days: float | None, shown: list[int | None]
) -> None:
    """The page's badge follows nats.cert_warn_days (30 by default), as fleet status does."""
    cfg = central_config(nats_server.url)
    if warn_days is not None:
        nats = cfg.nats.model_copy(update={"cert_warn_days": warn_days})
        cfg = cfg.model_copy(update={"nats": nats})
    hall: dict[str, tuple[int | None, str | None, float | None]] = {"hall": (5, "calm", 60.0)}
    near = T0 + timedelta(days=12, hours=3)
    far = T0 + timedelta(days=40, hours=3)
    put_states(
        nats_server.url,
        {
            "hue.thuan-hoa": _with_certificate(site_doc("hue.thuan-hoa", T0, hall), near),
            "hue.phu-xuan": _with_certificate(site_doc("hue.phu-xuan", T0, hall), far),
        },
    )
    with PageServer(cfg, Clock(T0)) as server:
        wait_ready(server)
        deadline = time.monotonic() + WAIT_S
        while True:
            by = {c["key"]: c for c in centers(server)["centers"]}
            if all(by.get(k, {}).get("cert_not_after") for k in ("hue.thuan-hoa", "hue.phu-xuan")):
                break
            assert time.monotonic() < deadline, f"no certificates on the rows: {by}"
            time.sleep(0.05)
    got = [by[k]["cert_days_left"] for k in ("hue.thuan-hoa", "hue.phu-xuan")]
    assert got == shown


def test_filters_by_area_and_link(page: tuple[PageServer, Clock]) -> None:
    server, _ = page
    assert keys(centers(server, area="thuận hóa")) == ["hue.thuan-hoa"]
    assert keys(centers(server, area=["Phú Xuân", "A Lưới"])) == ["hue.a-luoi", "hue.phu-xuan"]
    assert keys(centers(server, link="offline")) == ["hue.huong-thuy"]
    assert keys(centers(server, province="da-nang")) == []
    filtered = centers(server, area="Hương Thủy")
    assert filtered["counts"]["offline"] == 1 and filtered["counts"]["live"] == 0
    assert len(filtered["areas"]) == 4  # the filter's choices are all areas


def test_one_center_and_its_zones_alerts_devices(page: tuple[PageServer, Clock]) -> None:
    server, _ = page
    r = httpx.get(server.url + "/api/v1/fleet/centers/hue.thuan-hoa", headers=bearer(Role.VIEWER))
    assert r.status_code == 200
    body = r.json()
    assert [z["zone_id"] for z in body["zones"]] == ["entrance", "waiting"]
    assert [(d["device_id"], d["online"]) for d in body["devices"]] == [
        ("cam-1", True),
        ("cam-2", False),
    ]
    assert body["center"]["key"] == "hue.thuan-hoa"


def error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_roles_sessions_and_the_error_format(page: tuple[PageServer, Clock]) -> None:
    server, _ = page
    url = server.url + "/api/v1/fleet/centers"
    error(httpx.get(url), 401, "unauthorized")
    error(
        httpx.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"}),
        401,
        "unauthorized",
    )
    for role in Role:
        assert httpx.get(url, headers=bearer(role)).status_code == 200, role
    error(httpx.get(url + "/hue.nowhere", headers=bearer(Role.VIEWER)), 404, "center_not_found")
    error(
        httpx.get(
            url + "/hue.thuan-hoa/month", params={"month": "2026-13"}, headers=bearer(Role.VIEWER)
        ),
        400,
        "bad_month",
    )
    error(
        httpx.get(url, params={"link": "sideways"}, headers=bearer(Role.VIEWER)),
        422,
        "invalid_request",
    )
    error(httpx.post(url, headers=bearer(Role.ADMIN)), 405, "method_not_allowed")
    # no central store behind it (port 9): the month is 503, the reason not shown
    r = httpx.get(
        url + "/hue.thuan-hoa/month", params={"month": "2026-11"}, headers=bearer(Role.VIEWER)
    )
    error(r, 503, "history_unavailable")
    assert "127.0.0.1" not in r.text

    # the page's login: a session cookie, then the API without a token; same-origin writes
    with httpx.Client(base_url=server.url) as client:
        error(
            client.post("/api/v1/session", json={"token": "nope-nope-nope-nope"}),
            401,
            "unauthorized",
        )
        r = client.post("/api/v1/session", json={"token": TOKENS[Role.VIEWER]})
        assert r.status_code == 200 and r.json()["role"] == "viewer"
        assert "httponly" in r.headers["set-cookie"].lower()
        assert r.headers["set-cookie"].startswith("floorwatch_province_session=")
        assert client.get("/api/v1/fleet/centers").status_code == 200
        assert client.get("/api/v1/session").json()["name"] == "Sở viewer"
        assert client.delete("/api/v1/session").status_code == 204
        error(client.get("/api/v1/fleet/centers"), 401, "unauthorized")

    # public: health, the page; the headers of the control room
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    r = httpx.get(server.url + "/", follow_redirects=True)
    assert r.status_code == 200 and 'id="centers"' in r.text
    assert r.headers["x-frame-options"] == "DENY"
    schema = httpx.get(server.url + "/openapi.json").json()
    op = schema["paths"]["/api/v1/fleet/centers"]["get"]
    assert op["security"] == [{"HTTPBearer": []}, {"APIKeyCookie": []}]
    assert {"/api/v1/fleet/stream", "/api/v1/fleet/centers/{key}/month", "/api/v1/session"} <= set(
        schema["paths"]
    )
    assert (
        "floorwatch_api_requests"
        in httpx.get(server.url + "/metrics", headers=bearer(Role.VIEWER)).text
    )


def frames(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The stream's ``centers`` documents as they come."""
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "centers":
            yield json.loads(line[6:])


def test_the_stream_sends_everything_then_what_changes(
    page: tuple[PageServer, Clock], nats_server: NatsServer
) -> None:
    server, clock = page
    with httpx.stream(
        "GET",
        server.url + "/api/v1/fleet/stream",
        headers=bearer(Role.VIEWER),
        timeout=WAIT_S,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        docs = frames(r.iter_lines())
        first = next(docs)
        assert first["full"] is True and len(first["centers"]) == 5
        assert first["order"][:2] == ["hue.a-luoi", "hue.huong-thuy"]

        put_states(
            nats_server.url,
            {"hue.vinh-loc": site_doc("hue.vinh-loc", T0, {"waiting": (150, "crowded", 700.0)})},
        )
        update = next(docs)
        assert update["full"] is False
        assert [c["key"] for c in update["centers"]] == ["hue.vinh-loc"]
        assert update["order"][0] == "hue.vinh-loc"
        assert update["centers"][0]["level"] == "crowded"

        clock.advance(601)  # nobody reports: every live center turns offline by the clock
        update = next(docs)
        assert {c["key"] for c in update["centers"]} == {
            "hue.thuan-hoa",
            "hue.phu-xuan",
            "hue.vinh-loc",
        }
        assert {c["link"] for c in update["centers"]} == {"offline"}

        put_states(nats_server.url, {"hue.vinh-loc": None})
        update = next(docs)
        assert update["removed"] == ["hue.vinh-loc"] and update["centers"] == []

    # a filtered stream carries only its area
    with httpx.stream(
        "GET",
        server.url + "/api/v1/fleet/stream",
        params={"area": "Thuận Hóa"},
        headers=bearer(Role.VIEWER),
        timeout=WAIT_S,
    ) as r:
        first = next(frames(r.iter_lines()))
        assert first["order"] == ["hue.thuan-hoa"]
    error(httpx.get(server.url + "/api/v1/fleet/stream"), 401, "unauthorized")


def write_points(influx: InfluxDB1Server, db: str, lines: list[str]) -> None:
    influx.create_database(db)
    r = httpx.post(
        f"{influx.url}/write", params={"db": db, "precision": "s"}, content="\n".join(lines)
    )
    assert r.status_code == 204, r.text


def test_a_centers_month_beside_the_others(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    # November 2026 in Hue (UTC+7): hours written at local 08:00 and 09:00 on two days
    lines = []
    for day in (3, 4):
        for local_hour, people, wait in ((8, 40, 300.0), (9, 120, 900.0)):
            t = int(datetime(2026, 11, day, local_hour - 7, 10, tzinfo=UTC).timestamp())
            for site, factor in (("thuan-hoa", 1.0), ("phu-xuan", 0.5), ("vinh-loc", 2.0)):
                for zone_id, share in (("waiting", 0.75), ("entrance", 0.25)):
                    lines.append(
                        f"zone_occupancy,province=hue,site={site},source=fused,zone={zone_id}"
                        f" count={int(people * factor * share)}i,expected_wait_s={wait * factor} {t}"
                    )
    # another province and another month do not count
    t_oct = int(datetime(2026, 10, 31, 16, 0, tzinfo=UTC).timestamp())
    lines.append(
        f"zone_occupancy,province=hue,site=phu-xuan,source=fused,zone=waiting count=999i,expected_wait_s=9999 {t_oct}"
    )
    lines.append(
        f"zone_occupancy,province=hcm,site=q1,source=fused,zone=waiting count=5i,expected_wait_s=1 {int(datetime(2026, 11, 3, 1, 10, tzinfo=UTC).timestamp())}"
    )
    write_points(influxdb1, influxdb1_database, lines)

    clock = Clock(T0)
    put_states(nats_server.url, first_docs(T0))
    cfg = central_config(nats_server.url, influxdb1.url, influxdb1_database)
    with PageServer(cfg, clock) as server:
        wait_ready(server)
        r = httpx.get(
            server.url + "/api/v1/fleet/centers/hue.thuan-hoa/month",
            params={"month": "2026-11"},
            headers=bearer(Role.VIEWER),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["month"], body["start"]) == ("2026-11", "2026-10-31T17:00:00Z")
        assert body["busiest"] == [9, 8]
        assert [
            (h["hour"], h["people"], h["others_mean"], h["others_max"], h["others"])
            for h in body["hours"]
        ] == [
            (8, 40.0, 50.0, 80.0, 2),
            (9, 120.0, 150.0, 240.0, 2),
        ]
        # no hourly aggregates in the store: the zone states answer, and say so
        assert body["wait_source"] == "zone_occupancy.expected_wait_s"
        assert body["people_source"] == "zone_occupancy.count"
        assert [
            (x["rank"], x["key"], x["hours"], x["mean_wait_s"], x["p90_wait_s"], x["this"])
            for x in body["league"]
        ] == [
            (1, "hue.phu-xuan", 4, 300.0, 450.0, False),
            (2, "hue.thuan-hoa", 4, 600.0, 900.0, True),
            (3, "hue.vinh-loc", 4, 1200.0, 1800.0, False),
        ]
        assert body["league"][0]["name"] == "TT Phục vụ HCC phường Phú Xuân"
        # the default month is the clock's (November 2026 in Hue)
        r = httpx.get(
            server.url + "/api/v1/fleet/centers/hue.thuan-hoa/month", headers=bearer(Role.VIEWER)
        )
        assert r.json()["month"] == "2026-11"


def test_the_month_from_the_uplinks_hourly_aggregates(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    """zone_hourly's time-weighted means and service_hourly's measured p90 waits (the worst
    service group per hour) win over the zone states when the month has them."""
    lines = []
    for day in (3, 4):
        t = int(datetime(2026, 11, day, 9 - 7, 0, tzinfo=UTC).timestamp())  # 09:00 in Hue
        for site, people, p90s in (
            ("thuan-hoa", (30.5, 10.0), (600.0, 1500.0)),
            ("phu-xuan", (20.0, 4.0), (300.0, 240.0)),
        ):
            for zone_id, mean in zip(("waiting", "entrance"), people, strict=True):
                lines.append(
                    f"zone_hourly,province=hue,site={site},zone={zone_id}"
                    f" people_mean={mean},people_max={int(mean) + 5}i,covered_s=3600 {t}"
                )
            for service, p90 in zip(("land", "civil"), p90s, strict=True):
                lines.append(
                    f"service_hourly,province=hue,site={site},service={service}"
                    f" tickets=12i,waits=10i,wait_p50_s={p90 / 2},wait_p90_s={p90} {t}"
                )
        # the zone states of the same hour would give other figures: not used
        lines.append(
            f"zone_occupancy,province=hue,site=thuan-hoa,source=fused,zone=waiting"
            f" count=999i,expected_wait_s=9999 {t + 60}"
        )
    write_points(influxdb1, influxdb1_database, lines)
    cfg = central_config(nats_server.url, influxdb1.url, influxdb1_database)
    put_states(nats_server.url, first_docs(T0))
    with PageServer(cfg, Clock(T0)) as server:
        wait_ready(server)
        r = httpx.get(
            server.url + "/api/v1/fleet/centers/hue.thuan-hoa/month",
            params={"month": "2026-11"},
            headers=bearer(Role.VIEWER),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["people_source"], body["wait_source"]) == (
            "zone_hourly.people_mean",
            "service_hourly.wait_p90_s",
        )
        assert [(h["hour"], h["people"], h["others_mean"]) for h in body["hours"]] == [
            (9, 40.5, 24.0)
        ]
        assert [
            (x["key"], x["hours"], x["mean_wait_s"], x["p90_wait_s"]) for x in body["league"]
        ] == [
            ("hue.phu-xuan", 2, 300.0, 300.0),
            ("hue.thuan-hoa", 2, 1500.0, 1500.0),
        ]


def test_the_watch_comes_back_after_nats_restarts(
    page: tuple[PageServer, Clock], nats_server: NatsServer
) -> None:
    """NATS away: not ready, the list says it is not watching; back (same store): the board is
    rebuilt from the bucket, so a site changed and one deleted meanwhile show as they are."""
    server, _ = page
    nats_server.stop()
    deadline = time.monotonic() + WAIT_S
    while httpx.get(server.url + "/health/ready").status_code != 503:
        assert time.monotonic() < deadline, "still ready with NATS away"
        time.sleep(0.05)
    assert centers(server)["watching"] is False
    nats_server.start()
    # written by another client while the page was reconnecting
    put_states(
        nats_server.url,
        {
            "hue.vinh-loc": None,
            "hue.phu-xuan": site_doc("hue.phu-xuan", T0, {"waiting": (170, "critical", 60.0)}),
        },
    )
    wait_ready(server)
    body = until(server, ["hue.phu-xuan", "hue.a-luoi", "hue.huong-thuy", "hue.thuan-hoa"])
    assert body["watching"] is True


def test_fleet_serve_refuses_a_bad_central_file(tmp_path: Path) -> None:
    bad = tmp_path / "central.yaml"
    bad.write_text(
        "api: {port: 70000}\nsites: [{province: hue, id: a, name: A, control_room: ftp://x}]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(fleet_app, ["serve", "-c", str(bad)])
    assert result.exit_code == 2
    assert "api.port" in result.output and "sites.0.control_room" in result.output


def test_floorwatch_fleet_serve_as_a_process(nats_server: NatsServer, tmp_path: Path) -> None:
    """The command from a central file: it waits for the bucket, serves the page with the
    token given by {env:}, never logs the token, and exits 0 on SIGTERM."""
    port = free_port()
    central = tmp_path / "central.yaml"
    central.write_text(
        f"nats: {{url: '{nats_server.url}'}}\n"
        f"api: {{port: {port}, tokens: [{{name: Sở, role: viewer, token: {{env: PROVINCE_TOKEN}}}}]}}\n"
        "sites: [{province: hue, id: thuan-hoa, name: TT Thuận Hóa, area: Thuận Hóa}]\n",
        encoding="utf-8",
    )
    token = "a-province-token-0123456789"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "floorwatch"), "fleet", "serve", "-c", str(central)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1", "PROVINCE_TOKEN": token},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + WAIT_S
            while True:  # no bucket yet: it answers, but is not ready
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/health").status_code == 200:
                        break
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            assert httpx.get(url + "/health/ready").status_code == 503
            put_states(nats_server.url, {"hue.thuan-hoa": site_doc("hue.thuan-hoa", T0, {})})
            while httpx.get(url + "/health/ready").status_code != 200:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            r = httpx.get(
                url + "/api/v1/fleet/centers", headers={"Authorization": f"Bearer {token}"}
            )
            assert [c["key"] for c in r.json()["centers"]] == ["hue.thuan-hoa"]
            with httpx.stream(
                "GET",
                url + "/api/v1/fleet/stream",
                headers={"Authorization": f"Bearer {token}"},
                timeout=WAIT_S,
            ) as stream:
                lines = stream.iter_lines()
                assert next(frames(lines))["full"] is True
                proc.send_signal(signal.SIGTERM)
                assert list(frames(lines)) == []  # the server ends the open stream
            assert proc.wait(timeout=WAIT_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log_path.read_text(encoding="utf-8")
    assert "fleet.page_waiting_for_bucket" in text and "fleet.page_watching" in text
    assert token not in text


def test_fleet_serve_exits_1_when_its_port_is_taken(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        central = tmp_path / "central.yaml"
        central.write_text(
            f"nats: {{url: '{nats_server.url}'}}\napi: {{port: {port}}}\n", encoding="utf-8"
        )
        result = subprocess.run(
            [str(Path(sys.executable).parent / "floorwatch"), "fleet", "serve", "-c", str(central)],
            capture_output=True,
            timeout=120,  # a bound: the command imports the whole gateway first
            env={**os.environ, "NO_COLOR": "1"},
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert b"fleet.serve_failed" in result.stdout + result.stderr
