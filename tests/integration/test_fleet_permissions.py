"""A site's NATS user may publish under its own subjects only (real nats-server, users).

The server's users carry site_permissions(): site A's uplink lands in the
stream; site A's credentials publishing as site B get the server's permission
error, and nothing of B's is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
import nats.errors
from pydantic import SecretStr

from gateway.fleet.messages import FleetKind, FleetSubjects, site_permissions, zone_message
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent, ZoneClimateState, ZoneState
from gateway.peers.nats import NatsServer, NatsUser
from gateway.settings import CrowdLevel, FleetConfig

STREAM = "FLOORWATCH"
SITE_A = FleetSubjects("floorwatch", "hue", "phuong-thuan-hoa")
SITE_B = FleetSubjects("floorwatch", "hue", "phuong-phu-xuan")
PASSWORD_A = "a-password-for-the-test"
WAIT_S = 60.0


def zone(occupancy: int) -> ZoneState:
    return ZoneState(
        "waiting",
        "f1",
        "waiting",
        occupancy,
        50,
        occupancy / 50,
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
        datetime(2026, 3, 9, 2, 0, occupancy, tzinfo=UTC),
    )


def server(folder: Path) -> NatsServer:
    a = site_permissions(SITE_A, STREAM, create=True)
    b = site_permissions(SITE_B, STREAM, create=True)
    return NatsServer(
        folder,
        users=[
            NatsUser("site-a", PASSWORD_A, a.publish, a.subscribe),
            NatsUser("site-b", "b-password-for-the-test", b.publish, b.subscribe),
            NatsUser("reader", "reader-password", ("$JS.API.>",), ("_INBOX.>",)),
        ],
    )


async def nothing() -> AsyncIterator[LiveEvent]:
    """An engine with nothing to say: the uplink sends only its current states."""
    await asyncio.Event().wait()
    return
    yield  # pragma: no cover - makes this an async generator


async def wait_until(what: str, done: Callable[[], object]) -> None:
    async def poll() -> None:
        while True:
            if done():
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), WAIT_S)
    except TimeoutError:
        raise AssertionError(f"still waiting for {what}") from None


def test_a_site_publishes_its_own_subjects_and_not_another_sites(tmp_path: Path) -> None:
    with server(tmp_path / "nats") as srv:

        async def main() -> None:
            cfg = FleetConfig(
                enabled=True,
                url=srv.url,
                province="hue",
                stream=STREAM,
                user="site-a",
                password=SecretStr(PASSWORD_A),
                publish_timeout_s=1,
                retry_min_s=0.05,
                retry_max_s=0.2,
                heartbeat_s=0,  # one message counted: the zone's
            )
            uplink = FleetUplink(cfg, SITE_A, nothing, lambda: [zone_message(SITE_A, zone(1))])
            task = asyncio.create_task(uplink.run())
            try:
                await wait_until("site A's state stored", lambda: uplink.stats.published == 1)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            # site A's credentials, publishing as site B
            errors: list[Exception] = []

            async def on_error(exc: Exception) -> None:
                errors.append(exc)

            nc = await nats.connect(
                srv.url,
                user="site-a",
                password=PASSWORD_A,
                error_cb=on_error,
                inbox_prefix=SITE_A.inbox_prefix,
            )
            try:
                forged = zone_message(SITE_B, zone(2))
                try:
                    await nc.jetstream().publish(
                        forged.subject, forged.payload, timeout=1, headers=forged.headers
                    )
                except nats.errors.Error as exc:  # the ack never comes: no publish happened
                    errors.append(exc)
                await wait_until("the permission error", lambda: _violation(errors))
            finally:
                await nc.close()

            reader = await nats.connect(srv.url, user="reader", password="reader-password")
            try:
                info = await reader.jetstream().stream_info(STREAM, subjects_filter=">")
            finally:
                await reader.close()
            assert info.state.subjects == {SITE_A.subject(FleetKind.ZONE): 1}
            assert str(_violation(errors)).count(forged.subject) >= 1

        asyncio.run(main())


def _violation(errors: list[Exception]) -> Exception | None:
    for e in errors:
        if "permissions violation" in str(e).lower():
            return e
    return None
