"""`floorwatch run` with the site file's fleet: section on, against a real nats-server.

The composition root builds the uplink only when fleet.enabled is set; then the
site's zone states reach the site's JetStream stream under
floorwatch.<province>.<site>.zone, authenticated by a token given by reference
({env: NAME}), which never appears in the gateway's log.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
import yaml

from gateway.config_loader import load_settings
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.peers.nats import NatsServer
from tests.integration.gateway_proc import DEMO, GatewayProcess, site_file, wait_until

pytestmark = pytest.mark.integration
TOKEN = "fleet-" + uuid.uuid4().hex  # a test token, random per run


async def stream_messages(url: str, stream: str) -> list[tuple[str, dict[str, Any]]]:
    nc = await nats.connect(url, token=TOKEN)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return []
        if not info.state.messages:  # created, nothing stored yet: first_seq is 0
            return []
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            out.append((msg.subject or "", json.loads(msg.data or b"{}")))
        return out
    finally:
        await nc.close()


def test_the_gateway_publishes_its_zones_to_the_fleet_stream(
    tmp_path: Path, mosquitto: MosquittoServer, influxdb1: InfluxDB1Server
) -> None:
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    site_id = demo["site"]["id"]
    zones = {z["id"] for z in demo["zones"] if z.get("counted", True)}
    with NatsServer(tmp_path / "nats", token=TOKEN) as server:
        config = site_file(
            tmp_path,
            mqtt={"host": mosquitto.host, "port": mosquitto.port, "client_id": "gw-fleet"},
            influxdb={"url": influxdb1.url, "protocol": "v1", "database": "fleet_e2e"},
            gateway={"state_dir": str(tmp_path / "state")},
            fleet={
                "enabled": True,
                "url": server.url,
                "province": "ha-noi",
                "token": {"env": "FLOORWATCH_TEST_FLEET_TOKEN"},
            },
        )
        gw = GatewayProcess(
            config, tmp_path / "gateway.log", env={"FLOORWATCH_TEST_FLEET_TOKEN": TOKEN}
        )
        gw.start()
        try:
            gw.wait_log("fleet.connected", timeout_s=60)

            def zones_arrived() -> bool:
                got = asyncio.run(stream_messages(server.url, "FLOORWATCH"))
                return {p["zone"]["zone_id"] for s, p in got if s.endswith(".zone")} >= zones

            wait_until(zones_arrived, 60, "a state of every zone in the stream")

            def heartbeat_arrived() -> bool:
                got = asyncio.run(stream_messages(server.url, "FLOORWATCH"))
                return any(s.endswith(".heartbeat") for s, _ in got)

            wait_until(heartbeat_arrived, 60, "the gateway's first heartbeat in the stream")
            got = asyncio.run(stream_messages(server.url, "FLOORWATCH"))
        finally:
            assert gw.stop() == 0
        log_text = gw.log_path.read_text(errors="replace")
    # the fleet's own state files: the hourly feed's (saved at stop) and the alert cursor's
    # (none yet: no alert was acknowledged and the store had no transition at start)
    hourly = json.loads((tmp_path / "state" / "fleet-hourly.json").read_text(encoding="utf-8"))
    assert hourly["aggregator"]["v"] == 1
    assert not (tmp_path / "state" / "fleet-uplink.json").exists()
    assert {s for s, _ in got} <= {
        f"floorwatch.ha-noi.{site_id}.zone",
        f"floorwatch.ha-noi.{site_id}.device",
        f"floorwatch.ha-noi.{site_id}.alert",
        f"floorwatch.ha-noi.{site_id}.plan",  # when the day's plan could be computed
        f"floorwatch.ha-noi.{site_id}.heartbeat",
    }
    # the heartbeat counts the site file's cameras and sensors
    beats = [p["heartbeat"] for s, p in got if s.endswith(".heartbeat")]
    settings = load_settings(config, {}, need_secrets=False).settings
    configured = len({c.id for c in settings.cameras} | {s.id for s in settings.sensors})
    assert beats and {b["devices_configured"] for b in beats} == {configured}
    assert all(0 <= b["devices_online"] <= configured and b["queue"] >= 0 for b in beats)
    assert {p["site"] for _, p in got} == {site_id}
    assert TOKEN not in log_text
    assert "fleet.stream_created" in log_text
    assert "fleet.ack_listener_failed" not in log_text
    assert "plan_published" in log_text or "plan_failed" in log_text  # the plan was asked for


def test_without_a_fleet_section_nothing_connects(
    tmp_path: Path, mosquitto: MosquittoServer, influxdb1: InfluxDB1Server
) -> None:
    config = site_file(
        tmp_path,
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "client_id": "gw-no-fleet"},
        influxdb={"url": influxdb1.url, "protocol": "v1", "database": "fleet_off"},
        gateway={"state_dir": str(tmp_path / "state")},
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("mqtt.connected", timeout_s=60)
        gw.wait_log("gateway.started", timeout_s=60)
    finally:
        assert gw.stop() == 0
    assert not any(e.startswith("fleet.") for e in gw.log_events())
