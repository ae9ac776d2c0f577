"""A worker's updates of the ``fleet_sites`` bucket: one compare-and-set per site per batch.

Shell module (nats-py KV). ``SiteSync.fold(records)`` folds a batch's records
into each site's state document (gateway.fleet.central.merge_site_records, pure: one copy of
the document per site and batch)
and writes each changed site once, with compare-and-set on the entry's
revision, the sites of the batch concurrently (at most ``concurrency`` writes
in flight).

Each worker remembers the (revision, document) it last read or wrote per site,
so a site it wrote last needs no read before its next write. When another
worker wrote the site meanwhile the remembered revision is stale: the bucket
refuses the write (wrong last sequence), and the site is read again, folded
again and written again, up to ``CAS_ATTEMPTS`` times; a read or write the
bucket does not answer in time (a leader being elected) is tried again the
same way (a write that did land makes the next one refused, then a no-op).
So two workers folding one site never lose a change: each write is against
the revision its document was folded from. A site refused once is
*contended* (other workers write it too): it is read before each write (two
round trips, not a refused write and two more) until a read finds the
revision this worker wrote last. Within one worker, its batches in flight
(``nats.in_flight``) fold a site one after the other (a lock per site), each
against the revision the one before wrote (never refused); the folds of a site
that waited for the one before are written together, in one write.

And a site is written at most once every ``interval_s`` by one worker
(``nats.kv_interval_s``): a fold of a site written less than that ago waits
out the rest, and the folds of the batches that come meanwhile are written
with it, in one write. A bucket write on a 3-node cluster costs the cluster
as much CPU as delivering and acknowledging 20-30 messages, and under a
backlog each batch in flight held a write per site. The wait ends early when
the fold's batch is durable (``until``, from the worker): a batch is
acknowledged only once its points are durable anyway, so the hold never
delays an acknowledgement; with the default writer (``flush_interval_s`` 1
s) it is the whole interval, with a writer that flushes more often fewer
folds are written together. A site quiet for the interval is written at once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from gateway.fleet.central import decode_state, encode_state, merge_site_records
from gateway.fleet.messages import FleetRecord

CAS_ATTEMPTS = 20
CONCURRENCY = 256  # site writes in flight per batch (a batch's sites, mostly)
REMEMBERED_SITES = 20_000  # a country's ~3,300 centers fit; the oldest is forgotten first

_Known = tuple[int | None, dict[str, Any] | None]  # (revision, document); (None, None): no key


@dataclass(slots=True)
class _Slot:
    """A site's folds in this worker: one at a time; those waiting, with their records."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: list[tuple[list[FleetRecord], asyncio.Future[bool]]] = field(default_factory=list)
    users: int = 0


class SiteSync:
    """Constructor stores; ``fold()`` per batch. Not shared between workers (its memory)."""

    def __init__(
        self,
        kv: KeyValue,
        *,
        concurrency: int = CONCURRENCY,
        interval_s: float = 0.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._kv = kv
        self._limit = asyncio.Semaphore(concurrency)
        self._interval_s = interval_s
        self._clock = clock  # None: the running loop's time
        self._sleep = sleep
        self._written_at: dict[str, float] = {}  # per site: when this worker last wrote it
        self._known: dict[str, _Known] = {}
        self._contended: set[str] = set()
        self._slots: dict[str, _Slot] = {}
        self.writes = 0  # site documents written
        self.conflicts = 0  # writes refused because another worker wrote the site first
        self.unanswered = 0  # reads and writes the bucket did not answer in time (tried again)
        self.coalesced = 0  # folds written with another batch's fold of the same site
        self.held = 0  # folds that waited for the site's interval since its last write

    async def fold(
        self, records: list[FleetRecord], until: asyncio.Future[None] | None = None
    ) -> int:
        """Fold the records into their sites; return the number of sites written.

        ``until``: done when the batch's points are durable (a site's hold for its
        interval ends then at the latest); None: the interval alone. Returns only
        once every changed site is in the bucket; raises a NATS error (the batch
        then goes unacknowledged) when a write fails.
        """
        by_site: dict[str, list[FleetRecord]] = defaultdict(list)
        for record in records:
            by_site[record.site_key].append(record)
        written = await asyncio.gather(*(self._site(k, rs, until) for k, rs in by_site.items()))
        return sum(written)

    async def _site(
        self, key: str, records: list[FleetRecord], until: asyncio.Future[None] | None
    ) -> bool:
        # One fold of a site at a time in this worker (its batches in flight share the
        # site's remembered revision). The folds that waited meanwhile are written
        # together: the first to get the site folds their records with its own, in one
        # write, and the others find theirs done. A site written less than interval_s ago
        # is held until then, the lock kept: the folds that come meanwhile join this one.
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        slot.waiting.append((records, done))
        slot.users += 1
        try:
            async with slot.lock:
                if done.done():
                    return done.result()
                if (wait := self._hold(key)) > 0 and not (until is not None and until.done()):
                    self.held += 1
                    await self._wait(wait, until)
                taken, slot.waiting = slot.waiting, []
                try:
                    async with self._limit:
                        written = await self._fold_site(key, [r for rs, _ in taken for r in rs])
                except BaseException:
                    # failed or cancelled: the others' records wait for the next to fold
                    slot.waiting[:0] = [(rs, f) for rs, f in taken if f is not done]
                    raise
                for _, other in taken:
                    if not other.done():
                        other.set_result(False)  # written (and counted) by this fold
                self.coalesced += len(taken) - 1
                return written
        finally:
            slot.users -= 1
            if not slot.users:
                del self._slots[key]

    async def _wait(self, seconds: float, until: asyncio.Future[None] | None) -> None:
        """Sleep ``seconds``, or until ``until`` is done if that comes first."""
        if until is None:
            await self._sleep(seconds)
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({sleeper, until}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _hold(self, key: str) -> float:
        """Seconds until the site may be written again (0: now)."""
        last = self._written_at.get(key)
        if last is None or self._interval_s <= 0:
            return 0.0
        return max(0.0, last + self._interval_s - self._now())

    async def _fold_site(self, key: str, records: list[FleetRecord]) -> bool:
        known = None if key in self._contended else self._known.get(key)
        for _ in range(CAS_ATTEMPTS):
            if known is None:
                known = await self._read(key)
                last = self._known.get(key)
                if last is not None and last[0] == known[0]:
                    self._contended.discard(key)  # nobody else wrote it since
            revision, previous = known
            state = merge_site_records(previous, records)
            if state is None or state == previous:
                self._remember(key, known)
                return False
            try:
                if revision is None:
                    new_revision = await self._kv.create(key, encode_state(state))
                else:
                    new_revision = await self._kv.update(key, encode_state(state), last=revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                self.conflicts += 1
                self._contended.add(key)
                known = None  # another worker wrote the site: read it again
                continue
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                # No answer (a bucket leader being elected, a node lost): the write may
                # or may not be in. Read again: if it is, the fold changes nothing.
                self.unanswered += 1
                known = None
                continue
            self._remember(key, (new_revision, state))
            self._written_at[key] = self._now()
            self.writes += 1
            return True
        self._known.pop(key, None)
        self._contended.discard(key)
        raise nats.js.errors.KeyWrongLastSequenceError(
            description=f"{key}: {CAS_ATTEMPTS} concurrent updates in a row"
        )

    async def _read(self, key: str) -> _Known:
        for _ in range(CAS_ATTEMPTS):
            try:
                entry = await self._kv.get(key)
            except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
                return None, None
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                self.unanswered += 1
                continue
            break
        else:
            raise nats.errors.TimeoutError
        return entry.revision, decode_state(entry.value)

    def _remember(self, key: str, known: _Known) -> None:
        self._known.pop(key, None)
        self._known[key] = known  # last used goes last
        if len(self._known) > REMEMBERED_SITES:
            oldest = next(iter(self._known))
            del self._known[oldest]
            self._contended.discard(oldest)
            self._written_at.pop(oldest, None)
