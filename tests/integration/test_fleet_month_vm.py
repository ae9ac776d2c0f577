"""The province page's month with VictoriaMetrics as the central store (its export API).

The same points as ``test_fleet_page_api``'s two month tests, written the way
``fleet run`` writes them (the v2 line protocol with a token, through vmauth),
give the same figures: busiest hours and the waiting-time league from the
zone states, then from the uplink's hourly aggregates. A VictoriaMetrics of
each test's own: the sources are chosen by what the province's month holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gateway.fleet.central_config import CentralConfig
from gateway.peers.nats import NatsServer
from gateway.peers.victoriametrics import VictoriaMetricsServer
from gateway.peers.vmauth import VMAuthServer
from gateway.settings import InfluxConfig, Role
from tests.integration.fleet_page_support import T0, Clock, PageServer, central_config, put_states
from tests.integration.test_fleet_page_api import bearer, first_docs, wait_ready
from tests.peers.victoriametrics import TokenPeer

pytestmark = pytest.mark.integration


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[TokenPeer]:
    """A VictoriaMetrics of the test's own behind vmauth with a token."""
    backend = VictoriaMetricsServer(tmp_path / "vm")
    backend.start()
    token = secrets.token_urlsafe(24)
    proxy = VMAuthServer(tmp_path / "vmauth", backend.url, [token])
    try:
        proxy.start()
        yield TokenPeer(proxy.url, token, backend)
    finally:
        proxy.stop()
        backend.stop()


def write(vm: TokenPeer, lines: list[str]) -> None:
    r = httpx.post(
        f"{vm.url}/api/v2/write",
        params={"org": "floorwatch", "bucket": "province", "precision": "s"},
        headers={"Authorization": f"Token {vm.token}"},
        content="\n".join(lines),
    )
    assert r.status_code == 204, r.text
    vm.backend.force_flush()


def vm_config(nats_url: str, vm: TokenPeer) -> CentralConfig:
    cfg = central_config(nats_url)
    store = InfluxConfig(protocol="v2", url=vm.url, token=SecretStr(vm.token), timeout_s=5)
    overview = cfg.overview.model_copy(update={"store": "victoriametrics"})
    return cfg.model_copy(update={"influxdb": store, "overview": overview})


def month(nats_server: NatsServer, vm: TokenPeer) -> dict[str, Any]:
    put_states(nats_server.url, first_docs(T0))
    with PageServer(vm_config(nats_server.url, vm), Clock(T0)) as server:
        wait_ready(server)
        r = httpx.get(
            server.url + "/api/v1/fleet/centers/hue.thuan-hoa/month",
            params={"month": "2026-11"},
            headers=bearer(Role.VIEWER),
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def test_a_centers_month_from_the_zone_states(nats_server: NatsServer, vm: TokenPeer) -> None:
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
    # another province and another month (its last hour, local time) do not count
    t_oct = int(datetime(2026, 10, 31, 16, 0, tzinfo=UTC).timestamp())
    lines.append(
        f"zone_occupancy,province=hue,site=phu-xuan,source=fused,zone=waiting count=999i,expected_wait_s=9999 {t_oct}"
    )
    t_hcm = int(datetime(2026, 11, 3, 1, 10, tzinfo=UTC).timestamp())
    lines.append(
        f"zone_occupancy,province=hcm,site=q1,source=fused,zone=waiting count=5i,expected_wait_s=1 {t_hcm}"
    )
    write(vm, lines)
    body = month(nats_server, vm)
    assert (body["month"], body["start"]) == ("2026-11", "2026-10-31T17:00:00Z")
    assert body["busiest"] == [9, 8]
    assert [
        (h["hour"], h["people"], h["others_mean"], h["others_max"], h["others"])
        for h in body["hours"]
    ] == [
        (8, 40.0, 50.0, 80.0, 2),
        (9, 120.0, 150.0, 240.0, 2),
    ]
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


def test_a_centers_month_from_the_hourly_aggregates(nats_server: NatsServer, vm: TokenPeer) -> None:
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
        lines.append(
            f"zone_occupancy,province=hue,site=thuan-hoa,source=fused,zone=waiting"
            f" count=999i,expected_wait_s=9999 {t + 60}"
        )
    write(vm, lines)
    body = month(nats_server, vm)
    assert (body["people_source"], body["wait_source"]) == (
        "zone_hourly.people_mean",
        "service_hourly.wait_p90_s",
    )
    assert [(h["hour"], h["people"], h["others_mean"]) for h in body["hours"]] == [(9, 40.5, 24.0)]
    assert [(x["key"], x["hours"], x["mean_wait_s"], x["p90_wait_s"]) for x in body["league"]] == [
        ("hue.phu-xuan", 2, 300.0, 300.0),
        ("hue.thuan-hoa", 2, 1500.0, 1500.0),
    ]


def test_without_the_store_the_month_is_503(nats_server: NatsServer, vm: TokenPeer) -> None:
    cfg = vm_config(nats_server.url, vm)
    wrong = cfg.influxdb.model_copy(update={"token": SecretStr("not-the-token")})
    put_states(nats_server.url, first_docs(T0))
    with PageServer(cfg.model_copy(update={"influxdb": wrong}), Clock(T0)) as server:
        wait_ready(server)
        r = httpx.get(
            server.url + "/api/v1/fleet/centers/hue.thuan-hoa/month",
            params={"month": "2026-11"},
            headers=bearer(Role.VIEWER),
        )
        assert r.status_code == 503
        assert vm.url not in r.text and "not-the-token" not in r.text
