"""The province service's state: the login side shared with the control room, the board."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from api.deps import AuthState
from api.fleet.store import MonthSource
from gateway.fleet.central_config import OverviewConfig
from gateway.fleet.overview import (
    CERT_WARN_DAYS,
    CenterRow,
    Figures,
    Registered,
    WaitLimits,
    figures_of,
    rows_of,
)


class BoardView(Protocol):
    """What the API reads of the sites' states (``gateway.fleet.board.SiteBoard``)."""

    states: dict[str, dict[str, Any] | None]
    version: int
    watching: bool

    async def wait_change(self, seen: int, timeout_s: float) -> int: ...


@dataclass(slots=True, kw_only=True)
class FleetState(AuthState):
    board: BoardView
    months: MonthSource
    sites: tuple[Registered, ...]
    overview: OverviewConfig
    cert_warn_days: float = CERT_WARN_DAYS  # a center's certificate shown within this many days
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    stream_clients: int = 0
    # key -> (the document object, its figures): a document is read once per change
    _figures: dict[str, tuple[object, Figures]] = field(default_factory=dict)
    # (board version, whole second) -> rows: shared by every request and stream in that second
    _rows: tuple[tuple[int, int], list[CenterRow]] | None = None

    def rows(self, now: datetime) -> list[CenterRow]:
        """Every center, most attention first, as of ``now`` (to the second: rows are made once
        per board version and second, whatever the number of open streams)."""
        stamp = (self.board.version, int(now.timestamp()))
        if self._rows is not None and self._rows[0] == stamp:
            return self._rows[1]
        states = self.board.states
        for gone in self._figures.keys() - states.keys():
            del self._figures[gone]
        figures: dict[str, Figures] = {}
        for key, doc in states.items():
            known = self._figures.get(key)
            if known is None or known[0] is not doc:
                known = (doc, figures_of(doc))
                self._figures[key] = known
            figures[key] = known[1]
        o = self.overview
        waits = WaitLimits.minutes(o.wait_watch_min, o.wait_act_min)  # the unregistered centers'
        rows = rows_of(figures, self.sites, now, o.offline_after_s, waits, self.cert_warn_days)
        self._rows = (stamp, rows)
        return rows

    def registered(self, key: str) -> Registered | None:
        return next((s for s in self.sites if s.key == key), None)
