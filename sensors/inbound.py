"""Inbound MQTT messages and their bounded hand-off from the MQTT thread to the event loop.

``Inbound`` is a raw message with what is needed to acknowledge it later;
``InboundBuffer`` is the queue between paho's thread (sensors/mqtt_source.py)
and the hub, with the high- and low-water marks that pause and resume reading
(docs/architecture.md, "Backpressure"). Shell module (threading, asyncio).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    """A raw message with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int
    qos: int
    generation: int


class InboundBuffer:
    """Bounded, thread-safe hand-off from the paho thread to the event loop.

    ``put`` never blocks the MQTT thread (it must keep the connection alive).
    Once ``maxsize`` items wait, ``paused`` turns true and the MQTT thread stops
    reading the socket (at most the packet being read arrives after that); it
    turns false again when the consumer has taken the buffer down to
    ``resume_at`` (half of ``maxsize``: hysteresis, so reading does not stop and
    start with every batch), and ``on_resume`` (the MQTT loop's wake) is called.
    """

    def __init__(self, maxsize: int, resume_at: int | None = None) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.resume_at = maxsize // 2 if resume_at is None else min(resume_at, maxsize - 1)
        self._items: deque[Inbound] = deque()
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self._paused = False
        self.on_resume: Callable[[], None] | None = None
        self.high_water = 0
        self.pauses = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def paused(self) -> bool:
        """True from the moment the buffer is full until it is down to ``resume_at``."""
        return self._paused

    def put(self, item: Inbound, stop: threading.Event | None = None) -> bool:
        """Called from the producer thread; never blocks. False only when stopping."""
        return self.put_many((item,), stop)

    def put_many(self, items: Sequence[Inbound], stop: threading.Event | None = None) -> bool:
        """``put`` for several items in order, under one lock and with at most one wake-up."""
        if stop is not None and stop.is_set():
            return False
        with self._cond:
            was_empty = not self._items
            self._items.extend(items)
            size = len(self._items)
            if size > self.high_water:
                self.high_water = size
            if size >= self.maxsize and not self._paused:
                self._paused = True
                self.pauses += 1
        if was_empty and items and self._loop is not None and self._ready is not None:
            with contextlib.suppress(RuntimeError):  # loop closed while stopping
                self._loop.call_soon_threadsafe(self._ready.set)
        return True

    def room(self) -> int:
        """How many more items fit before the buffer pauses reading."""
        return max(0, self.maxsize - len(self._items))

    async def get_batch(self, max_items: int) -> list[Inbound]:
        """Wait for at least one item and take up to ``max_items``."""
        if self._ready is None:
            raise RuntimeError("bind() the buffer to the running loop first")
        while True:
            resumed = False
            with self._cond:
                if self._items:
                    n = min(max_items, len(self._items))
                    batch = [self._items.popleft() for _ in range(n)]
                    if self._paused and len(self._items) <= self.resume_at:
                        self._paused = False
                        resumed = True
                    self._cond.notify_all()
                else:
                    batch = []
                    self._ready.clear()
            if resumed and self.on_resume is not None:
                self.on_resume()
            if batch:
                return batch
            await self._ready.wait()
