"""Grouping due deliveries into messages, and the retry backoff. Pure module.

Per channel, the due deliveries of one group (a zone, else the alert's
subject) become one message. A group that had a message less than
``window_s`` ago waits for the window's end, unless something critical is in
it. When ``digest_from`` or more groups of a channel are ready at once, they
go out as a single digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery whose time has come (an outbox entry)."""

    entry_id: int
    channel: str
    group: str
    critical: bool
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Batch:
    channel: str
    group: str  # the group, or "*" for a digest
    entries: tuple[Due, ...]


def batches(
    due: Sequence[Due],
    last_sent: Mapping[tuple[str, str], datetime],
    now: datetime,
    *,
    window_s: float,
    digest_from: int,
) -> tuple[list[Batch], datetime | None]:
    """The messages to form now, and when held groups are next ready (None: none held)."""
    per_channel: dict[str, dict[str, list[Due]]] = {}
    for d in sorted(due, key=lambda d: (d.due_at, d.entry_id)):
        per_channel.setdefault(d.channel, {}).setdefault(d.group, []).append(d)
    out: list[Batch] = []
    wake: datetime | None = None
    window = timedelta(seconds=window_s)
    for channel, groups in per_channel.items():
        ready: list[tuple[str, list[Due]]] = []
        for group, entries in groups.items():
            last = last_sent.get((channel, group))
            if last is None or now - last >= window or any(e.critical for e in entries):
                ready.append((group, entries))
            else:
                at = last + window
                wake = at if wake is None else min(wake, at)
        if len(ready) >= digest_from:
            merged = tuple(e for _, entries in ready for e in entries)
            out.append(Batch(channel, "*", merged))
        else:
            out.extend(Batch(channel, group, tuple(entries)) for group, entries in ready)
    return out, wake


def backoff_s(attempts: int, *, min_s: float, max_s: float) -> float:
    """Delay before the next attempt after ``attempts`` failed ones: doubling, capped."""
    if attempts <= 0:
        return 0.0
    return min(max_s, min_s * 2.0 ** min(attempts - 1, 30))
