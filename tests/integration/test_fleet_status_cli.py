"""`floorwatch fleet status` against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.messages import FleetSubjects, zone_message
from gateway.live import ZoneClimateState, ZoneState
from gateway.peers.nats import NatsServer
from gateway.peers.process import free_port
from gateway.settings import CrowdLevel
from tests.integration.gateway_proc import DEMO, site_file

pytestmark = pytest.mark.integration
STREAM = "FLOORWATCH"


def zone(zone_id: str, second: int) -> ZoneState:
    return ZoneState(
        zone_id,
        "f1",
        zone_id,
        3,
        10,
        0.3,
        0.1,
        None,
        CrowdLevel.CALM,
        "camera",
        1.0,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        datetime(2026, 3, 9, 2, 0, second, tzinfo=UTC),
    )


async def publish(url: str, consumer: bool) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["floorwatch.ha-noi.>"], duplicate_window=600)
        for site, n in (("ba-dinh", 3), ("dong-anh", 2)):
            subjects = FleetSubjects("floorwatch", "ha-noi", site)
            for i in range(n):
                m = zone_message(subjects, zone("waiting", i))
                await js.publish(m.subject, m.payload, headers=m.headers)
        if consumer:
            await js.add_consumer(STREAM, durable_name="central", ack_policy="explicit")
    finally:
        await nc.close()


def config(tmp_path: Path, url: str) -> Path:
    return site_file(
        tmp_path, fleet={"enabled": True, "url": url, "province": "ha-noi", "stream": STREAM}
    )


def test_status_lists_each_site_and_the_consumers_lag(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    asyncio.run(publish(nats_server.url, consumer=True))
    path = config(tmp_path, nats_server.url)
    result = CliRunner().invoke(
        app, ["fleet", "status", "-c", str(path), "--json", "--silent-after", "3600"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stream"]["messages"] == 5
    assert doc["stream"]["duplicate_window_s"] == 600
    sites = {s["site"]: s for s in doc["sites"]}
    assert set(sites) == {"ba-dinh", "dong-anh"}
    assert sites["ba-dinh"]["messages"] == {"zone": 3}
    assert sites["dong-anh"]["messages"] == {"zone": 2}
    assert not sites["ba-dinh"]["silent"]
    assert doc["consumers"] == [
        {"name": "central", "pending": 5, "ack_pending": 0, "redelivered": 0}
    ]

    text = CliRunner().invoke(app, ["fleet", "status", "-c", str(path), "--silent-after", "3600"])
    assert text.exit_code == 0, text.output
    assert "sites: 2, silent for more than 3600 s: 0" in text.stdout


def test_no_site_yet_exits_3_and_says_so(tmp_path: Path, nats_server: NatsServer) -> None:
    async def empty() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().add_stream(name=STREAM, subjects=["floorwatch.ha-noi.>"])
        finally:
            await nc.close()

    asyncio.run(empty())
    result = CliRunner().invoke(
        app, ["fleet", "status", "-c", str(config(tmp_path, nats_server.url))]
    )
    assert result.exit_code == 3, result.output
    assert "none has published" in result.stdout


def test_a_missing_stream_or_server_exits_1_with_the_reason(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    missing = CliRunner().invoke(
        app, ["fleet", "status", "-c", str(config(tmp_path / "a", nats_server.url))]
    )
    assert missing.exit_code == 1
    assert f"no stream {STREAM}" in missing.stderr
    nobody = f"nats://127.0.0.1:{free_port()}"
    down = CliRunner().invoke(app, ["fleet", "status", "-c", str(config(tmp_path / "b", nobody))])
    assert down.exit_code == 1
    assert "cannot read the fleet stream" in down.stderr


def test_the_demo_site_file_has_no_fleet_section() -> None:
    assert "fleet:" not in DEMO.read_text(encoding="utf-8")
