"""The live stream: Server-Sent Events of zone updates, alert transitions and device health.

Resuming: a client that reconnects sends ``Last-Event-ID`` (``EventSource``
does so by itself) or ``?after=<seq>``. The stream subscribes first, then
replays ``events_since(seq)``, then follows the subscription, skipping what it
already sent; so no transition falls between replay and subscription. A gap
in the subscription (a slow client whose queue overflowed, or a subscription
that started late) is filled from ``events_since``; when the replay buffer no
longer reaches back far enough, the client gets a fresh ``snapshot`` instead.
A stream without a resume point starts with a ``snapshot``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from api.deps import AUTH_RESPONSES, ApiError, AppState, Reader, State, log
from api.events import KEEPALIVE, parse_last_event_id, retry_frame, snapshot_frame
from api.schemas import ErrorBody
from gateway.live import LiveEvent

router = APIRouter(prefix="/api/v1", tags=["live"])

QUEUE_SIZE = 1000
_CLOSED = None


class _Follower:
    """One client's position in the event sequence."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.last: int | None = None  # seq of the last event sent; None: after a snapshot

    def snapshot(self) -> str:
        floor = self.state.floor
        self.last = None
        return snapshot_frame(self.state.clock(), floor.zones(), floor.alerts(), floor.devices())

    def resume(self, after: int) -> list[str]:
        """Frames after ``after``: the replay, or a snapshot when it is too old."""
        replay = self.state.floor.events_since(after)
        if replay is None:
            self.state.metrics.stream_resets.inc()
            return [self.snapshot()]
        self.last = after
        return [self._send(e) for e in replay if e.seq > after]

    def follow(self, event: LiveEvent) -> list[str]:
        if self.last is None:
            return [self._send(event)]
        if event.seq <= self.last:
            return []  # already sent in the replay
        if event.seq > self.last + 1:
            frames = self.resume(self.last)  # fill the gap
            if self.last is not None and event.seq > self.last:
                frames.append(self._send(event))
            return frames
        return [self._send(event)]

    def _send(self, event: LiveEvent) -> str:
        self.last = event.seq
        return self.state.frames.frame(event)


async def _pump(source: AsyncIterator[LiveEvent], queue: asyncio.Queue[LiveEvent | None]) -> None:
    try:
        async for event in source:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)  # dropped when full: the follower fills the gap
    finally:
        # The subscription ended (the engine dropped a slow subscriber, or stops): end
        # the stream, and the client resumes from its Last-Event-ID.
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(_CLOSED)
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


async def _stream(state: AppState, after: int | None) -> AsyncIterator[str]:
    queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(QUEUE_SIZE)
    pump = asyncio.create_task(_pump(state.floor.subscribe(), queue), name="stream-pump")
    state.streams.add(queue)
    state.stream_clients += 1
    state.metrics.stream_clients.inc()
    follower = _Follower(state)
    try:
        await asyncio.sleep(0)  # let the subscription start before the replay is read
        yield retry_frame(2000)
        for frame in follower.resume(after) if after is not None else [follower.snapshot()]:
            yield frame
        while not state.closing.is_set():
            try:
                async with asyncio.timeout(state.config.stream_keepalive_s):
                    event = await queue.get()
            except TimeoutError:
                if pump.done():
                    break
                if follower.last is not None:  # reconcile: anything the subscription missed
                    for frame in follower.resume(follower.last):
                        yield frame
                yield KEEPALIVE
                continue
            if event is _CLOSED:
                break
            for frame in follower.follow(event):
                yield frame
    finally:
        pump.cancel()
        state.streams.discard(queue)
        state.stream_clients -= 1
        state.metrics.stream_clients.dec()


@router.get(
    "/stream",
    summary="Live zone updates, alert transitions and device health (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        **AUTH_RESPONSES,
        200: {
            "content": {"text/event-stream": {}},
            "description": "events `snapshot`, `zone`, `alert`, `device`; `id:` is the seq",
        },
        503: {"model": ErrorBody, "description": "too many open streams"},
    },
)
async def stream(
    state: State,
    _: Reader,
    last_event_id: Annotated[str | None, Header(description="resume after this seq")] = None,
    after: Annotated[int | None, Query(ge=0, description="resume after this seq")] = None,
) -> StreamingResponse:
    if state.stream_clients >= state.config.max_stream_clients:
        raise ApiError(503, "too_many_streams", "too many open live streams; try again later")
    resume = parse_last_event_id(last_event_id)
    if resume is None:
        resume = after
    log.debug("api.stream_opened", after=resume, clients=state.stream_clients + 1)
    return StreamingResponse(
        _stream(state, resume),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def close_streams(state: AppState) -> None:
    """End every open stream (graceful shutdown)."""
    state.closing.set()
    for queue in list(state.streams):
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(_CLOSED)
