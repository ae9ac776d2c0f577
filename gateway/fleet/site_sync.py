"""A worker's updates of the ``fleet_sites`` bucket: one compare-and-set per site per batch.

Shell module (nats-py KV). ``SiteSync.fold(records)`` folds a batch's records
into each site's state document (gateway.fleet.central.merge_site_state, pure)
and writes each changed site once, with compare-and-set on the entry's
revision, the sites of the batch concurrently (at most ``concurrency`` writes
in flight).

Each worker remembers the (revision, document) it last read or wrote per site,
so a site it wrote last needs no read before its next write. When another
worker wrote the site meanwhile the remembered revision is stale: the bucket
refuses the write (wrong last sequence), and the site is read again, folded
again and written again, up to ``CAS_ATTEMPTS`` times; a read or write the
bucket does not answer in time (a leader being elected) is tried again the
same way (a write that did land makes the next one refused, then a no-op). So two workers folding
one site never lose a change: each write is against the revision its
document was folded from. A site refused once is *contended* (other workers
write it too): it is read before each write (two round trips, not a refused
write and two more) until a read finds the revision this worker wrote last.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from gateway.fleet.central import decode_state, encode_state, merge_site_state
from gateway.fleet.messages import FleetRecord

CAS_ATTEMPTS = 20
CONCURRENCY = 256  # site writes in flight per batch (a batch's sites, mostly)
REMEMBERED_SITES = 20_000  # a country's ~3,300 centers fit; the oldest is forgotten first

_Known = tuple[int | None, dict[str, Any] | None]  # (revision, document); (None, None): no key


class SiteSync:
    """Constructor stores; ``fold()`` per batch. Not shared between workers (its memory)."""

    def __init__(self, kv: KeyValue, *, concurrency: int = CONCURRENCY) -> None:
        self._kv = kv
        self._limit = asyncio.Semaphore(concurrency)
        self._known: dict[str, _Known] = {}
        self._contended: set[str] = set()
        self.writes = 0  # site documents written
        self.conflicts = 0  # writes refused because another worker wrote the site first
        self.unanswered = 0  # reads and writes the bucket did not answer in time (tried again)

    async def fold(self, records: list[FleetRecord]) -> int:
        """Fold the records into their sites; return the number of sites written.

        Returns only once every changed site is in the bucket; raises a NATS
        error (the batch then goes unacknowledged) when a write fails.
        """
        by_site: dict[str, list[FleetRecord]] = defaultdict(list)
        for record in records:
            by_site[record.site_key].append(record)
        written = await asyncio.gather(*(self._site(k, rs) for k, rs in by_site.items()))
        return sum(written)

    async def _site(self, key: str, records: list[FleetRecord]) -> bool:
        async with self._limit:
            known = None if key in self._contended else self._known.get(key)
            for _ in range(CAS_ATTEMPTS):
                if known is None:
                    known = await self._read(key)
                    last = self._known.get(key)
                    if last is not None and last[0] == known[0]:
                        self._contended.discard(key)  # nobody else wrote it since
                revision, previous = known
                state = previous
                for record in records:
                    state = merge_site_state(state, record)
                if state is None or state == previous:
                    self._remember(key, known)
                    return False
                try:
                    if revision is None:
                        new_revision = await self._kv.create(key, encode_state(state))
                    else:
                        new_revision = await self._kv.update(
                            key, encode_state(state), last=revision
                        )
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
