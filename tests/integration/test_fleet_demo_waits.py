"""The fleet demo's wait alerts end to end through a real nats-server and InfluxDB 1.x:
a light simulated commune center -> the real ``FleetUplink`` -> the stream -> ``fleet run``'s
worker -> ``fleet_sites`` -> the page's board and rows.

The center's morning queue raises the gateway's ``waiting_time`` warning (its own rule and
lifecycle); the page ranks the center *watch* for it with no province threshold at all,
and drops it back once the alert resolves. Times are the scene's: the center's clock is
passed in, and the page's rows are made at the scene time of the last record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.fleet.board import SiteBoard
from gateway.fleet.demo_center import SimulatedCenter
from gateway.fleet.demo_sites import center_settings, demo_centers
from gateway.fleet.messages import FleetMessage, FleetSubjects
from gateway.fleet.overview import Attention, WaitLimits, center_row
from gateway.fleet.uplink import FleetUplink
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.settings import FleetConfig
from tests.integration.test_fleet_central import STREAM, central, running, stream, wait_until
from tests.integration.test_fleet_heartbeat import no_events

START = datetime(2026, 12, 4, 7, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))  # a busy Friday
NO_THRESHOLDS = WaitLimits(None, None)


def wait_alerts(messages: list[FleetMessage]) -> list[tuple[str, str]]:
    """(id, transition) of each waiting_time alert message, in order."""
    out = []
    for m in messages:
        if m.subject.endswith(".alert"):
            body = json.loads(m.payload)
            if body["alert"]["rule"] == "waiting_time":
                out.append((str(body["alert"]["id"]), str(body["transition"])))
    return out


def play_until(sim: SimulatedCenter, done: Any, limit: datetime) -> list[FleetMessage]:
    """The center's messages, a scene minute at a time, until ``done(messages)`` or ``limit``."""
    out: list[FleetMessage] = []
    t = sim.now
    while not done(out):
        t += timedelta(minutes=1)
        assert t <= limit, "the scene ended first"
        out += sim.step(t)
    return out


def test_a_demo_centers_wait_alert_reaches_the_page_as_watch(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    cfg = central(nats_server.url, influxdb1.url, influxdb1_database, tmp_path)
    c = demo_centers(2, seed=7)[1]  # a ward center of 3-6 counters
    subjects = FleetSubjects("floorwatch", c.province, c.site_id)
    sim = SimulatedCenter(center_settings(c), subjects, c.seed, START)
    site = FleetConfig(
        enabled=True,
        url=nats_server.url,
        province=c.province,
        stream=STREAM,
        publish_timeout_s=30,
        retry_min_s=0.05,
        retry_max_s=0.5,
        heartbeat_s=0,
    )
    key = f"{c.province}.{c.site_id}"
    end = START + timedelta(hours=11)

    def open_alerts(board: SiteBoard) -> dict[str, Any]:
        doc = board.states.get(key) or {}
        return {a: v for a, v in (doc.get("alerts") or {}).items() if v["rule"] == "waiting_time"}

    async def main() -> tuple[dict[str, Any], datetime, dict[str, Any], datetime, str]:
        async with stream(nats_server), running(cfg):
            board = SiteBoard(cfg.nats, retry_s=0.1)
            uplink = FleetUplink(site, subjects, no_events, clock=lambda: sim.now)
            tasks = [asyncio.create_task(board.run()), asyncio.create_task(uplink.run())]
            try:
                raised = play_until(sim, wait_alerts, end)
                alert_id, transition = wait_alerts(raised)[0]
                assert transition == "raised"
                for m in raised:
                    uplink.offer(m)
                await wait_until(
                    f"{alert_id} open on the board", lambda: alert_id in open_alerts(board)
                )
                with_alert, at_raise = dict(board.states[key] or {}), sim.now

                def resolved(out: list[FleetMessage]) -> bool:
                    # this alert resolved, and no wait alert open at the center
                    done = (alert_id, "resolved") in wait_alerts(out)
                    return done and not any(a.rule == "waiting_time" for a in sim.open_alerts())

                rest = play_until(sim, resolved, end)
                for m in rest:
                    uplink.offer(m)
                await wait_until(
                    "every wait alert closed on the board", lambda: not open_alerts(board)
                )
                return with_alert, at_raise, dict(board.states[key] or {}), sim.now, alert_id
            finally:
                for t in tasks:
                    t.cancel()
                for t in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t

    with_alert, at_raise, after, at_end, alert_id = asyncio.run(main())
    stored = with_alert["alerts"][alert_id]
    assert (stored["severity"], stored["state"]) == ("warning", "active")

    # no province threshold at all: the site's own warning makes the center watched
    row = center_row(key, with_alert, None, at_raise, 600, NO_THRESHOLDS)
    assert row.attention is Attention.WATCH and "alerts" in row.reasons
    assert row.longest_wait_s is not None and row.longest_wait_s > 900
    # the alert resolved: the center is no longer watched for it
    row = center_row(key, after, None, at_end, 600, NO_THRESHOLDS)
    assert "alerts" not in row.reasons
    assert alert_id in after["closed_alerts"]
