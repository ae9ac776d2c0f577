"""The province service's state: the login side shared with the control room, the board."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from api.deps import AuthState
from api.fleet.store import MonthSource
from gateway.fleet.central_config import OverviewConfig
from gateway.fleet.overview import CenterRow, Registered, center_rows


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
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    stream_clients: int = 0

    def rows(self, now: datetime) -> list[CenterRow]:
        """Every center, most attention first, as of ``now``."""
        return center_rows(self.board.states, self.sites, now, self.overview.offline_after_s)

    def registered(self, key: str) -> Registered | None:
        return next((s for s in self.sites if s.key == key), None)
