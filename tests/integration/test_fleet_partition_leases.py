"""Partition leases (gateway.fleet.partition_leases) against a real nats-server.

A renewal that comes after the lease expired (a busy process's event loop, a
short ``lease_s``) keeps the partition when nobody took it meanwhile, and loses
it when another process did. The bucket's entries expire by the server's own
max age (1 s here); the test waits for the entry to be gone, it does not guess.
"""

from __future__ import annotations

import asyncio

import nats
import nats.js.errors
from nats.js.kv import KeyValue

from gateway.fleet.partition_leases import PART, PartitionLeases, lease_bucket
from gateway.peers.nats import NatsServer

NAMES = ("S", "S_1")


async def expired(kv: KeyValue, name: str) -> None:
    for _ in range(100):  # the server's max age (1 s), checked every 0.1 s
        try:
            await kv.get(PART + name)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the lease of {name} did not expire")


def test_a_late_renewal_keeps_a_lease_nobody_took_and_loses_one_another_took(
    nats_server: NatsServer,
) -> None:
    async def main() -> tuple[tuple[str, ...], tuple[str, ...], int, tuple[str, ...], bool]:
        nc = await nats.connect(nats_server.url)
        try:
            kv = await lease_bucket(nc.jetstream(), "leases_test", lease_s=1.0, replicas=1)
            a = PartitionLeases(kv, NAMES, "a")
            b = PartitionLeases(kv, NAMES, "b")
            assert await a.take("S") and await a.take("S_1")
            await expired(kv, "S")
            await expired(kv, "S_1")
            # nobody took them: a's late round creates them again, nothing lost
            _, lost_first = await a.round()
            held_first = a.held
            relet = a.relet
            await expired(kv, "S")
            await expired(kv, "S_1")
            taken_by_b = await b.take("S_1")  # b takes one while a is late again
            _, lost_second = await a.round()
            return lost_first, held_first, relet, lost_second, taken_by_b and a.held == ("S",)
        finally:
            await nc.close()

    lost_first, held_first, relet, lost_second, kept_one = asyncio.run(main())
    assert lost_first == ()
    assert held_first == NAMES
    assert relet == 2
    assert lost_second == ("S_1",)  # b holds it now: a lost it, and not S
    assert kept_one


class GatedUpdates:
    """The real bucket, its updates held until the test opens the gate (a renewal
    in flight while the partition's reader hands it back)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def update(self, key: str, value: bytes, last: int) -> int:
        self.waiting.set()
        await self.gate.wait()
        return await self._kv.update(key, value, last=last)

    def __getattr__(self, name: str) -> object:
        return getattr(self._kv, name)


def test_a_partition_handed_back_during_its_renewal_is_not_held_again(
    nats_server: NatsServer,
) -> None:
    async def main() -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        nc = await nats.connect(nats_server.url)
        try:
            kv = await lease_bucket(nc.jetstream(), "leases_race", lease_s=30.0, replicas=1)
            gated = GatedUpdates(kv)
            a = PartitionLeases(gated, NAMES, "a")  # type: ignore[arg-type]
            assert await a.take("S")
            renewing = asyncio.ensure_future(a.round())
            await asyncio.wait_for(gated.waiting.wait(), 10)
            await a.release("S")  # the reader finished and handed it back
            gated.gate.set()
            _, lost = await asyncio.wait_for(renewing, 10)
            free_for_b = await PartitionLeases(kv, NAMES, "b").take("S")
            return lost, a.held, free_for_b
        finally:
            await nc.close()

    lost, held, free_for_b = asyncio.run(main())
    assert lost == ()  # handed back, not lost
    assert held == ()  # and not held again by the late renewal
    assert free_for_b  # another process can take it at once
