"""The central stream in partitions: their names, where a new site goes, who reads which.

Pure module. With ``nats.partitions: N`` the province's sites are spread over
N central streams (each sourcing its share of the sites' streams), each read
through a durable consumer of its own; a ``fleet run`` process reads the
partitions it holds a lease on (gateway.fleet.partition_leases), so a site's
messages reach one process at a time and its state document has one writer
(no compare-and-set refused, no read before a write: docs/fleet.md, *The
benchmark*). nats-server 2.9 has one filter subject per consumer, so a share of
the sites is a stream of its own, not a filtered consumer.

Partition 0 keeps the stream's own name, so one partition (the default) is the
single central stream of before, and raising N later keeps the sites where
they are: a new site goes to the partition with the fewest sources.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MAX_PARTITIONS = 64


def partition_names(stream: str, count: int) -> tuple[str, ...]:
    """``stream`` itself, then ``stream_1`` ... ``stream_<count-1>``."""
    if not 1 <= count <= MAX_PARTITIONS:
        raise ValueError(f"partitions: {count} is not between 1 and {MAX_PARTITIONS}")
    return (stream, *(f"{stream}_{i}" for i in range(1, count)))


def place(new: Sequence[str], sourced: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Each new domain to the partition with the fewest sources (the first of equals).

    ``sourced``: each partition's stream name (in order) to the domains it
    sources now. A domain already sourced by some partition stays there (not in
    the answer); a domain listed twice is placed once.
    """
    counts = {name: len(domains) for name, domains in sourced.items()}
    if not counts:
        raise ValueError("no partition to place sites in")
    present = {d for domains in sourced.values() for d in domains}
    out: dict[str, list[str]] = {}
    for domain in dict.fromkeys(new):
        if domain in present:
            continue
        target = min(counts, key=lambda name: counts[name])  # the first of the least filled
        counts[target] += 1
        out.setdefault(target, []).append(domain)
        present.add(domain)
    return out


EXHAUSTIVE = 20_000  # choices of what to keep weighed one by one (16 partitions, 8 kept: 12,870)


def live_workers(keys: Iterable[str], prefix: str) -> int:
    """The live processes among a lease bucket's keys (at least 1: the one asking).

    Distinct keys: nats-py's ``keys()`` lists a key again when it is written while
    the listing runs, and every process renews its key each round; counted twice, a
    process made the others hand back a partition and take it again a round later
    (seen in the benchmark's logs)."""
    return max(1, len({k for k in keys if k.startswith(prefix)}))


def fair_share(partitions: int, workers: int) -> int:
    """How many partitions one of ``workers`` live processes may hold."""
    return math.ceil(partitions / max(1, workers))


@dataclass(frozen=True, slots=True)
class LeasePlan:
    take: tuple[str, ...]  # free partitions to try to take now
    release: tuple[str, ...]  # held partitions to hand back (after their batches end)


def plan_leases(
    names: Sequence[str],
    held: Sequence[str],
    taken_by_others: Sequence[str],
    workers: int,
    pending: Mapping[str, int] | None = None,
) -> LeasePlan:
    """What a process does at a lease round: take free partitions up to its fair share,
    hand back what it holds above it.

    Which ones it hands back: with ``pending`` (the messages each held partition
    still has to deliver, as its consumer last said) those that leave it about
    its share of its pending messages (``hand_back``): a backlog is then shared by
    its size, not by the partitions' count; without, or with no backlog, the last
    ones. Another process taking what this one hands back is what balances a new
    process in; a partition whose holder died is free once its lease expired.
    """
    share = fair_share(len(names), workers)
    mine = [n for n in names if n in held]
    if len(mine) > share:
        return LeasePlan((), hand_back(mine, share, pending or {}))
    busy = set(held) | set(taken_by_others)
    free = [n for n in names if n not in busy]
    return LeasePlan(tuple(free[: share - len(mine)]), ())


def hand_back(mine: Sequence[str], keep: int, pending: Mapping[str, int]) -> tuple[str, ...]:
    """The partitions to hand back so that the ``keep`` that remain have pending messages
    adding up as close as can be to ``keep / len(mine)`` of all of them: every choice
    weighed where there are at most ``EXHAUSTIVE`` (the first of equals, in order),
    else the largest first, each to the side whose load is the least for its size. With no pending message
    anywhere: the last ones, in order."""
    loads = [max(0, pending.get(n, 0)) for n in mine]
    total = sum(loads)
    if total == 0 or keep >= len(mine):
        return tuple(mine[keep:])
    target = total * keep / len(mine)
    if math.comb(len(mine), keep) <= EXHAUSTIVE:
        best = min(
            itertools.combinations(range(len(mine)), keep),
            key=lambda c: abs(sum(loads[i] for i in c) - target),
        )
        kept = set(best)
    else:  # the largest first, each to the side (kept, handed back) least full for its size
        size = (keep, len(mine) - keep)
        sides: tuple[list[int], list[int]] = ([], [])
        load = [0, 0]
        for i in sorted(range(len(mine)), key=lambda i: (-loads[i], i)):
            side = min(
                (s for s in (0, 1) if len(sides[s]) < size[s]), key=lambda s: load[s] / size[s]
            )
            sides[side].append(i)
            load[side] += loads[i]
        kept = set(sides[0])
    return tuple(n for i, n in enumerate(mine) if i not in kept)
