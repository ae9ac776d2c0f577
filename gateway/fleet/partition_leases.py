"""Which central partitions this ``fleet run`` process reads: leases in a key-value bucket.

Shell module (nats-py KV). The bucket (``nats.partition_bucket``) keeps its
entries ``nats.lease_s`` at most (its max age): a process renews what it holds
every third of that, so a process that dies frees its partitions within
``lease_s``. Keys:

- ``worker.<owner>``: this process is alive (renewed each round); the live
  workers' count sets each one's fair share (gateway.fleet.partitions);
- ``part.<stream>``: the partition's holder (created only where absent;
  renewed by compare-and-set on its revision, so a lease that expired and was
  taken by another is not taken back).

A lease is a matter of efficiency, not of correctness: two processes that both
read a partition for a while (one paused past its lease) still get each
message once from JetStream, and the site documents are written under
compare-and-set (gateway.fleet.site_sync).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from gateway.fleet.partitions import LeasePlan, live_workers, plan_leases

WORKER = "worker."
PART = "part."


async def lease_bucket(
    js: JetStreamContext, bucket: str, lease_s: float, replicas: int
) -> KeyValue:
    """The partitions' lease bucket, created (entries kept ``lease_s``) when missing."""
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        config = KeyValueConfig(bucket=bucket, history=1, ttl=lease_s, replicas=replicas)
        return await js.create_key_value(config)


class PartitionLeases:
    """Constructor stores; ``round()`` renews and plans; ``take``/``release`` act."""

    def __init__(self, kv: KeyValue, names: tuple[str, ...], owner: str) -> None:
        self._kv = kv
        self._names = names
        self._owner = owner
        self._revs: dict[str, int] = {}  # partition -> revision of our lease entry
        self.relet = 0  # leases renewed too late (expired), nobody else had taken them

    @property
    def held(self) -> tuple[str, ...]:
        return tuple(n for n in self._names if n in self._revs)

    async def round(
        self, pending: Mapping[str, int] | None = None
    ) -> tuple[LeasePlan, tuple[str, ...]]:
        """Say this process is alive, renew its leases; return what to take or hand back
        (``pending``: the messages each held partition has yet to be done with, which
        chooses what is handed back: gateway.fleet.partitions.hand_back), and the
        partitions whose lease was lost (taken by another after it expired).

        The renewals and the holders' reads go out together (a busy process's event
        loop makes each request wait its turn: one after the other, a round could
        outlast a short lease). A lease that expired before its renewal and that
        nobody took meanwhile is created again: kept, its reader goes on."""
        await self._kv.put(WORKER + self._owner, b"1")
        held = list(self._revs)
        renewed = await asyncio.gather(*(self._renew(n) for n in held))
        lost = [name for name, ok in zip(held, renewed, strict=True) if not ok]
        free = [n for n in self._names if n not in self._revs]
        holders = await asyncio.gather(*(self._holder(n) for n in free))
        others = [n for n, h in zip(free, holders, strict=True) if h not in (None, self._owner)]
        plan = plan_leases(self._names, self.held, others, await self._workers(), pending)
        return plan, tuple(lost)

    async def _renew(self, name: str) -> bool:
        """Renew one lease: False when another process took it after it expired.

        A reader handing its partition back (``release``) can run meanwhile: a
        lease released during its renewal is not held again."""
        rev = self._revs.get(name)
        if rev is None:
            return True  # released since the round began
        try:
            new = await self._kv.update(PART + name, self._owner.encode(), last=rev)
        except nats.js.errors.KeyWrongLastSequenceError:
            if self._revs.get(name) != rev:
                return True  # released meanwhile
            del self._revs[name]
            if await self.take(name):  # expired, nobody took it: ours again
                self.relet += 1
                return True
            return False
        if self._revs.get(name) == rev:
            self._revs[name] = new
        else:  # released while this renewal wrote it again: free it now
            with contextlib.suppress(nats.js.errors.KeyWrongLastSequenceError):
                await self._kv.delete(PART + name, last=new)
        return True

    async def take(self, name: str) -> bool:
        """Create the partition's lease; False when another process has it."""
        try:
            self._revs[name] = await self._kv.create(PART + name, self._owner.encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        return True

    async def release(self, name: str) -> None:
        """Hand a held partition back (its reader has stopped)."""
        rev = self._revs.pop(name, None)
        if rev is None:
            return
        # expired and taken by another meanwhile: not ours to delete
        with contextlib.suppress(nats.js.errors.KeyWrongLastSequenceError):
            await self._kv.delete(PART + name, last=rev)

    async def leave(self) -> None:
        """Hand everything back and stop counting as a worker (a clean stop)."""
        for name in list(self._revs):
            await self.release(name)
        await self._kv.delete(WORKER + self._owner)

    async def _holder(self, name: str) -> str | None:
        try:
            entry = await self._kv.get(PART + name)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return None
        return entry.value.decode() if entry.value else None

    async def _workers(self) -> int:
        try:
            keys = await self._kv.keys()  # not filters=: nats-server 2.9 answers none
        except nats.js.errors.NoKeysError:
            return 1
        return live_workers(keys, WORKER)
