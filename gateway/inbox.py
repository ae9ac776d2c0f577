"""ObservationInbox: the thread-safe, bounded hand-off of observations into the event loop.

Camera workers (and any other thread) call ``inbox.put(observation)``; the hub
drains it on the loop. ``put`` never blocks its caller: when the inbox is full
the oldest observation is dropped and counted (``dropped``): a newer count of
the same zone is worth more than an old one, and a camera thread must never
stall on the gateway. Shell module (threading).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque

from gateway.observations import Observation


class ObservationInbox:
    def __init__(self, maxsize: int = 10000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: deque[Observation] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self.dropped = 0
        self.accepted = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Call once from the loop that will drain the inbox."""
        self._loop = loop
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, observation: Observation) -> None:
        """From any thread; never blocks. Drops the oldest observation when full."""
        with self._lock:
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            was_empty = not self._items
            self._items.append(observation)
            self.accepted += 1
        if was_empty and self._loop is not None and self._ready is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping
                self._loop.call_soon_threadsafe(self._ready.set)

    async def get_batch(self, max_items: int) -> list[Observation]:
        """Wait for at least one observation and take up to ``max_items``, oldest first."""
        if self._ready is None:
            raise RuntimeError("bind() the inbox to the running loop first")
        while True:
            with self._lock:
                if self._items:
                    n = min(max_items, len(self._items))
                    return [self._items.popleft() for _ in range(n)]
                self._ready.clear()
            await self._ready.wait()
