"""The province page's live stream: Server-Sent Events driven by the ``fleet_sites`` watch.

Each frame is ``event: centers`` with one JSON document: ``time`` (the
server's clock: the page computes ages from it), ``full`` (true: the first
frame, every center of the filter; false: only the centers that changed),
``centers`` (rows, as ``GET /api/v1/fleet/centers``), ``removed`` (keys gone
from the bucket), ``order`` (every listed key, most attention first: the page
keeps the server's order) and ``counts``.

The stream wakes on each change of the board (a KV watch update) and at least
every ``TICK_S`` (a center turns offline by the clock alone, with no update),
and sends a frame only when a row changed beyond its age. Frames are
coalesced: a burst of updates in one tick is one frame. A reconnecting client
simply gets a new full frame: the stream carries state, not events, so there
is nothing to resume.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import AUTH_RESPONSES, ApiError, Reader, log
from api.events import KEEPALIVE, retry_frame
from api.fleet.routes import AreaQuery, Fleet, LinkQuery, ProvinceQuery, counts, listed
from api.fleet.schemas import center_out
from api.fleet.state import FleetState
from api.schemas import ErrorBody
from gateway.fleet.overview import CenterRow, Link

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])
TICK_S = 1.0


def _sameness(row: CenterRow) -> CenterRow:
    """A row without its ages, to tell a change from time passing."""
    return dataclasses.replace(row, age_s=None, data_age_s=None, link_age_s=None)


def centers_frame(body: dict[str, Any]) -> str:
    return (
        f"event: centers\ndata: {json.dumps(body, ensure_ascii=False, separators=(',', ':'))}\n\n"
    )


async def _stream(
    state: FleetState, area: list[str] | None, province: str | None, link: Link | None
) -> AsyncIterator[str]:
    state.stream_clients += 1
    state.metrics.stream_clients.inc()
    sent: dict[str, CenterRow] = {}
    version = -1
    idle_s = 0.0
    try:
        yield retry_frame(2000)
        while not state.closing.is_set():
            now = state.clock()
            rows, _ = listed(state, area, province, link)
            current = {r.key: _sameness(r) for r in rows}
            changed = [r for r in rows if sent.get(r.key) != current[r.key]]
            removed = sorted(set(sent) - set(current))
            full = version < 0
            if full or changed or removed:
                body = {
                    "time": now.isoformat(),
                    "full": full,
                    "watching": state.board.watching,
                    "centers": [center_out(r).model_dump(mode="json") for r in changed],
                    "removed": removed,
                    "order": [r.key for r in rows],
                    "counts": counts(rows).model_dump(mode="json"),
                }
                yield centers_frame(body)
                sent = current
                idle_s = 0.0
            elif idle_s >= state.config.stream_keepalive_s:
                yield KEEPALIVE
                idle_s = 0.0
            seen = state.board.version if version < 0 else version
            version = await state.board.wait_change(seen, TICK_S)
            idle_s += TICK_S
    finally:
        state.stream_clients -= 1
        state.metrics.stream_clients.dec()


@router.get(
    "/stream",
    summary="Live: the centers that changed, as they change (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        **AUTH_RESPONSES,
        200: {
            "content": {"text/event-stream": {}},
            "description": "events `centers`: the first one full, then what changed",
        },
        503: {"model": ErrorBody, "description": "too many open streams"},
    },
)
async def stream(
    state: Fleet,
    _: Reader,
    area: AreaQuery = None,
    province: ProvinceQuery = None,
    link: LinkQuery = None,
) -> StreamingResponse:
    if state.stream_clients >= state.config.max_stream_clients:
        raise ApiError(503, "too_many_streams", "too many open live streams; try again later")
    log.debug("api.fleet_stream_opened", clients=state.stream_clients + 1)
    return StreamingResponse(
        _stream(state, area, province, link),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
