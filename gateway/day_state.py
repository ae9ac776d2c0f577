"""The day's state that only events build, kept across a gateway restart. Pure module.

Most of the floor picture comes back by itself after a restart: sensors and
cameras repeat their readings every few seconds. Two parts do not, because
they are sums of events that are acknowledged and gone:

- the tickets waiting per service group (issued, not yet called), with the
  counters seen calling: the waiting-time estimate and its alert;
- the door balances of zones counted by their doors (entries - exits).

The engine saves them (``capture_day``) in its SQLite store every few seconds
while they change and when it stops, and ``restore_day`` puts them back at start
unless the site closed in between: at closing, waiting tickets are dropped
and door balances reset anyway (gateway/floor_model.py). Entries for a
service group or zone the config no longer has are skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.floor_state import FloorState, QueueState
from gateway.settings import SiteConfig
from gateway.zones import Balance, DoorBalances, closed_between

VERSION = 1


@dataclass(frozen=True, slots=True)
class DayRestore:
    queues: int = 0
    waiting: int = 0
    balances: int = 0
    skipped: str | None = None  # why nothing was restored


def capture_day(state: FloorState, doors: DoorBalances) -> dict[str, Any]:
    """A JSON-able picture of the waiting tickets and door balances."""
    return {
        "version": VERSION,
        "queues": {
            service: {
                "waiting": sorted(q.waiting),
                "counters": {str(c): at.isoformat() for c, at in sorted(q.counters.items())},
            }
            for service, q in sorted(state.queues.items())
        },
        "balances": {
            zone: {"people": b.people, "anchored": b.anchored, "at": _iso(b.at)}
            for zone, b in sorted(doors.balances.items())
        },
    }


def restore_day(
    data: Mapping[str, Any],
    *,
    saved_at: datetime,
    now: datetime,
    site: SiteConfig,
    services: Collection[str],
    state: FloorState,
    doors: DoorBalances,
) -> DayRestore:
    """Put a ``capture_day`` back into ``state`` and ``doors``, unless it is from before a closing."""
    if data.get("version") != VERSION:
        return DayRestore(skipped=f"saved by another version ({data.get('version')!r})")
    if closed_between(site, saved_at, now):
        return DayRestore(skipped="the site has closed since it was saved")
    try:
        queues = {
            service: _queue(q) for service, q in data["queues"].items() if service in services
        }
        balances = {
            zone: Balance(float(b["people"]), bool(b["anchored"]), _time(b["at"]))
            for zone, b in data["balances"].items()
            if zone in doors.balances
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return DayRestore(skipped=f"unreadable: {type(exc).__name__}: {exc}")
    state.queues.update(queues)
    doors.balances.update(balances)
    return DayRestore(
        queues=len(queues),
        waiting=sum(len(q.waiting) for q in queues.values()),
        balances=len(balances),
    )


def _queue(q: Mapping[str, Any]) -> QueueState:
    if not isinstance(q["waiting"], list):
        raise TypeError("waiting is not a list")
    return QueueState(
        waiting={str(t) for t in q["waiting"]},
        counters={int(c): datetime.fromisoformat(at) for c, at in q["counters"].items()},
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _time(raw: object) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise TypeError(f"not a timestamp: {raw!r}")
    return datetime.fromisoformat(raw)
