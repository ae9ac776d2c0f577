"""``fleet_sites`` updates (gateway.fleet.site_sync) against a real nats-server.

Two ``SiteSync`` (two workers, each with its own connection and its own memory
of the sites' revisions) fold records of the same site: each record a zone of
its own, so the final document must hold every zone. A worker whose remembered
revision is stale (the other wrote the site since) must be refused and fold
again: written without compare-and-set, its document would drop the other
worker's zones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import nats
import pytest
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from gateway.fleet.central import decode_state
from gateway.fleet.messages import FleetRecord, FleetSubjects, decode, zone_message
from gateway.fleet.site_sync import SiteSync
from gateway.live import ZoneClimateState, ZoneState
from gateway.peers.nats import NatsServer
from gateway.settings import CrowdLevel

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
A = FleetSubjects("floorwatch", "ha-noi", "ba-dinh")
B = FleetSubjects("floorwatch", "ha-noi", "hoan-kiem")
BUCKET = "fleet_sites"


def record(site: FleetSubjects, zone_id: str, minute: int = 0) -> FleetRecord:
    state = ZoneState(
        zone_id,
        "f1",
        zone_id,
        10,
        100,
        0.1,
        0.1,
        None,
        CrowdLevel.CALM,
        "camera",
        0.9,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        T0 + timedelta(minutes=minute),
    )
    m = zone_message(site, state)
    return decode("floorwatch", m.subject, m.payload)


@asynccontextmanager
async def bucket(server: NatsServer) -> AsyncIterator[KeyValue]:
    nc = await nats.connect(server.url)
    try:
        yield await nc.jetstream().create_key_value(KeyValueConfig(bucket=BUCKET, history=1))
    finally:
        await nc.close()


async def zones(kv: KeyValue, site: FleetSubjects) -> set[str]:
    state = decode_state((await kv.get(f"{site.province}.{site.site}")).value)
    assert state is not None
    return set(state["zones"])


def test_a_worker_with_a_stale_revision_folds_again_and_loses_no_change(
    nats_server: NatsServer,
) -> None:
    async def main() -> tuple[set[str], int, int, int]:
        async with bucket(nats_server) as kv1, bucket(nats_server) as kv2:
            w1, w2 = SiteSync(kv1), SiteSync(kv2)
            await w1.fold([record(A, "z0")])
            await w2.fold([record(A, "z1")])  # w2 reads the site (w1's write) and writes
            # w1 remembers the revision it wrote; w2 has written since: w1's is stale
            for i in range(2, 12, 2):
                await w1.fold([record(A, f"z{i}")])
                await w2.fold([record(A, f"z{i + 1}")])
            return await zones(kv1, A), w1.conflicts, w2.conflicts, w1.writes + w2.writes

    got, conflicts1, conflicts2, writes = asyncio.run(main())
    assert got == {f"z{i}" for i in range(12)}
    # each refused once (its remembered revision stale), then contended: read before writing
    assert (conflicts1, conflicts2) == (1, 1)
    assert writes == 12


def test_two_workers_folding_one_site_at_once_lose_no_change(nats_server: NatsServer) -> None:
    async def main() -> tuple[set[str], set[str], int, int]:
        async with bucket(nats_server) as kv1, bucket(nats_server) as kv2:
            w1, w2 = SiteSync(kv1), SiteSync(kv2)
            for i in range(0, 40, 2):  # both at once, each batch with both sites
                await asyncio.gather(
                    w1.fold([record(A, f"a{i}"), record(B, f"b{i}")]),
                    w2.fold([record(A, f"a{i + 1}"), record(B, f"b{i + 1}")]),
                )
            return await zones(kv1, A), await zones(kv1, B), w1.writes, w2.writes

    got_a, got_b, writes1, writes2 = asyncio.run(main())
    assert got_a == {f"a{i}" for i in range(40)}
    assert got_b == {f"b{i}" for i in range(40)}
    assert (writes1, writes2) == (40, 40)  # one write per site per batch


def test_a_batch_writes_each_site_once_and_an_unchanged_site_not_at_all(
    nats_server: NatsServer,
) -> None:
    async def main() -> tuple[int, int, int, set[str], int]:
        async with bucket(nats_server) as kv:
            sync = SiteSync(kv)
            batch = [record(A, f"z{i}", minute=i) for i in range(50)] + [record(B, "w")]
            first = await sync.fold(batch)
            again = await sync.fold(batch)  # redelivered: the newer wins, nothing changes
            older = await sync.fold([record(A, "z3", minute=-5)])  # late: does not move back
            written = (await kv.status()).stream_info.state.last_seq
            return first, again, older, await zones(kv, A), written

    first, again, older, got, written = asyncio.run(main())
    assert (first, again, older) == (2, 0, 0)
    assert got == {f"z{i}" for i in range(50)}
    assert written == 2  # all the bucket was ever written: A once (50 records), B once


def test_one_workers_batches_in_flight_fold_a_site_in_turn_without_a_conflict(
    nats_server: NatsServer,
) -> None:
    """A worker's batches in flight (nats.in_flight) fold the same sites at once: one
    fold of a site at a time, each against the revision the one before wrote; the folds
    that waited for it are written together."""

    async def main() -> tuple[set[str], set[str], int, int, int, int]:
        async with bucket(nats_server) as kv:
            sync = SiteSync(kv)
            await asyncio.gather(
                *(sync.fold([record(A, f"a{i}"), record(B, f"b{i}")]) for i in range(30))
            )
            written = (await kv.status()).stream_info.state.last_seq
            s = sync
            return (
                await zones(kv, A),
                await zones(kv, B),
                s.writes,
                s.coalesced,
                s.conflicts,
                written,
            )

    got_a, got_b, writes, coalesced, conflicts, written = asyncio.run(main())
    assert got_a == {f"a{i}" for i in range(30)}
    assert got_b == {f"b{i}" for i in range(30)}
    assert conflicts == 0  # never refused: no read, no retry
    assert writes == written < 60  # the bucket's writes, fewer than one per site and batch
    assert writes + coalesced == 60


def test_a_site_written_less_than_the_interval_ago_waits_and_the_folds_meanwhile_go_in_one_write(
    nats_server: NatsServer,
) -> None:
    """nats.kv_interval_s: a site is written at most once an interval by one worker. The
    clock and the sleep are the test's: the hold is exactly what is left of the interval,
    and the folds that come during it are written with the held one; another site, never
    written, is not held; a site quiet for longer than the interval is written at once."""
    now = [100.0]
    sleeps: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await gate.wait()

    async def main() -> tuple[set[str], list[int], int, int, int, int]:
        async with bucket(nats_server) as kv:
            sync = SiteSync(kv, interval_s=1.0, clock=lambda: now[0], sleep=sleep)
            counts = [await sync.fold([record(A, "z0")])]  # never written: at once
            now[0] = 100.4
            held = asyncio.ensure_future(sync.fold([record(A, "z1")]))
            joined = asyncio.ensure_future(sync.fold([record(A, "z2")]))
            counts.append(await sync.fold([record(B, "w")]))  # B: not held by A's interval
            for _ in range(500):  # A's second fold held (bounded: an unheld one fails below)
                if sleeps or held.done():
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # the second fold of A queued behind the first
            assert not held.done() and not joined.done()
            now[0] = 101.0
            gate.set()
            counts += [await held, await joined]
            now[0] = 105.0  # quiet for longer than the interval: written at once
            counts.append(await sync.fold([record(A, "z3")]))
            written = (await kv.status()).stream_info.state.last_seq
            return await zones(kv, A), counts, sync.writes, sync.coalesced, sync.held, written

    got, counts, writes, coalesced, held, written = asyncio.run(main())
    assert sleeps == [pytest.approx(0.6)]  # what was left of A's interval, once
    assert got == {"z0", "z1", "z2", "z3"}
    assert counts == [1, 1, 1, 0, 1]  # z1 and z2 in one write (the second finds it done)
    assert (writes, coalesced, held) == (4, 1, 1)
    assert written == writes  # A three times, B once


def test_a_held_site_is_written_once_its_batch_is_durable_if_that_comes_first(
    nats_server: NatsServer,
) -> None:
    """The worker hands each fold its batch's durability: the hold never delays an
    acknowledgement. The interval's sleep here never ends; the batch becoming durable
    ends the hold, with the test's clock not moved."""
    now = [100.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.Event().wait()  # the interval never ends by itself

    async def main() -> tuple[set[str], int, int, bool]:
        async with bucket(nats_server) as kv:
            sync = SiteSync(kv, interval_s=1.0, clock=lambda: now[0], sleep=sleep)
            await sync.fold([record(A, "z0")])
            durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            folding = asyncio.ensure_future(sync.fold([record(A, "z1")], durable))
            for _ in range(500):  # held (bounded: an unheld fold ends the loop too)
                if sleeps or folding.done():
                    break
                await asyncio.sleep(0.01)
            held_before = not folding.done()
            durable.set_result(None)
            written = await asyncio.wait_for(folding, 10)
            # a fold whose batch is durable already is not held at all
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            written += await sync.fold([record(A, "z2")], done)
            return await zones(kv, A), written, sync.held, held_before

    got, written, held, held_before = asyncio.run(main())
    assert held_before and held == 1 and sleeps == [pytest.approx(1.0)]
    assert written == 2
    assert got == {"z0", "z1", "z2"}
