"""The site heartbeat end to end through a real nats-server and InfluxDB 1.x:
uplink -> stream -> ``fleet run``'s worker -> ``fleet_sites`` -> the page's board and rows.

The uplink's clock is injected (each reading one minute after the last), so the
heartbeats' times are known whatever the machine's speed: a center whose one
zone state is 30 minutes old but whose gateway beats is live, with a data age
of 30 minutes; once the beats stop it goes offline past ``offline_after_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.fleet.board import SiteBoard
from gateway.fleet.messages import FleetMessage, Heartbeat, heartbeat_message, zone_message
from gateway.fleet.overview import Link, center_row
from gateway.fleet.uplink import FleetUplink
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.settings import FleetConfig
from tests.integration.test_fleet_central import (
    STREAM,
    T0,
    A,
    central,
    running,
    stream,
    wait_until,
    zone,
)

OFFLINE_AFTER_S = 600.0


class MinuteClock:
    """Each reading one minute after the last, from T0 (the uplink's only clock)."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> datetime:
        at = T0 + timedelta(minutes=self.readings)
        self.readings += 1
        return at


async def no_events() -> Any:
    await asyncio.Event().wait()
    return
    yield  # pragma: no cover - an async generator that never yields


def test_heartbeats_keep_an_unchanged_center_live_and_their_end_takes_it_offline(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    cfg = central(nats_server.url, influxdb1.url, influxdb1_database, tmp_path)
    site = FleetConfig(
        enabled=True,
        url=nats_server.url,
        province=A.province,
        stream=STREAM,
        publish_timeout_s=30,
        retry_min_s=0.05,
        retry_max_s=0.5,
        heartbeat_s=0.05,  # real seconds between beats; each beat reads the next minute
    )
    clock = MinuteClock()
    acked: list[FleetMessage] = []
    key = f"{A.province}.{A.site}"

    def events() -> Any:
        return no_events()

    async def main() -> tuple[dict[str, Any], int, int]:
        async with stream(nats_server), running(cfg):
            board = SiteBoard(cfg.nats, retry_s=0.1)
            uplink = FleetUplink(
                site,
                A,
                events,
                lambda: [zone_message(A, zone(0, 20))],  # the one zone state, at T0
                on_acked=lambda m: acked.append(m) if m.subject.endswith(".heartbeat") else None,
                clock=clock,
                devices=lambda: (5, 6),
            )
            tasks = [asyncio.create_task(board.run()), asyncio.create_task(uplink.run())]
            try:

                def beat_at(minute: int) -> bool:
                    at = _beat(board, key)
                    return at is not None and datetime.fromisoformat(at) >= T0 + timedelta(
                        minutes=minute
                    )

                await wait_until("a heartbeat of minute 31 on the board", lambda: beat_at(31))
                tasks[1].cancel()  # the gateway goes silent
                with contextlib.suppress(asyncio.CancelledError):
                    await tasks[1]
                # the board holds the last heartbeat JetStream acknowledged before the stop
                last = json.loads(acked[-1].payload)["heartbeat"]["at"]
                await wait_until(
                    "the last heartbeat on the board", lambda: _beat(board, key) == last
                )
                doc = dict(board.states[key] or {})
                # the last heartbeat sent again (a retry, a restart in its bucket): a duplicate
                again = FleetUplink(site.model_copy(update={"heartbeat_s": 0}), A, events)
                again.offer(heartbeat_message(A, _heartbeat_of(doc), site.heartbeat_s))
                task = asyncio.create_task(again.run())
                await wait_until("the resend acked", lambda: again.stats.duplicates == 1)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return doc, uplink.stats.published, again.stats.published
            finally:
                for t in tasks:
                    t.cancel()
                for t in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t

    doc, published, resent_as_new = asyncio.run(main())
    assert resent_as_new == 0
    assert published >= 32  # the zone state and a beat per minute from T0 to at least T0+31
    beat = doc["heartbeat"]
    last_beat = datetime.fromisoformat(beat["at"])
    assert last_beat >= T0 + timedelta(minutes=31)
    assert (beat["devices_online"], beat["devices_configured"]) == (5, 6)
    assert beat["uptime_s"] == (last_beat - T0).total_seconds()
    assert datetime.fromisoformat(doc["last_data"]) == T0
    assert doc["last_seen"] == beat["at"]

    # the page 20 s after the last beat: live, the data 30+ minutes old
    row = center_row(key, doc, None, last_beat + timedelta(seconds=20), OFFLINE_AFTER_S)
    assert row.link is Link.LIVE
    assert row.link_age_s == 20
    assert row.data_age_s == (last_beat - T0).total_seconds() + 20
    assert row.data_age_s is not None and row.data_age_s > 30 * 60
    # no beat since: offline once the threshold has passed
    row = center_row(key, doc, None, last_beat + timedelta(seconds=601), OFFLINE_AFTER_S)
    assert row.link is Link.OFFLINE and row.reasons[0] == "offline"


def _heartbeat_of(doc: dict[str, Any]) -> Heartbeat:
    b = doc["heartbeat"]
    return Heartbeat(datetime.fromisoformat(b["at"]), b["uptime_s"], b["queue"], 5, 6)


def _beat(board: SiteBoard, key: str) -> str | None:
    doc = board.states.get(key) or {}
    at = (doc.get("heartbeat") or {}).get("at")
    return at if isinstance(at, str) else None
