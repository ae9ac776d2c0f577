"""The province page's REST routes: the centers now, one center, a center's month."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import AUTH_RESPONSES, NOT_FOUND, ApiError, Reader
from api.fleet.schemas import (
    AlertNowOut,
    CenterDetailOut,
    CentersOut,
    CountsOut,
    DeviceNowOut,
    MonthOut,
    ZoneNowOut,
    center_out,
    hour_out,
    league_out,
)
from api.fleet.state import FleetState
from api.schemas import ErrorBody, HealthOut
from gateway.fleet.month import MonthError, busiest_hours, month_range, top_hours, wait_league
from gateway.fleet.overview import CenterRow, Link, areas_of, filter_rows

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])
system = APIRouter(tags=["system"])


async def get_fleet(request: Request) -> FleetState:
    state: FleetState = request.app.state.floorwatch
    return state


Fleet = Annotated[FleetState, Depends(get_fleet)]
AreaQuery = Annotated[
    list[str] | None,
    Query(description="keep these areas (repeat the parameter; case-insensitive)"),
]
ProvinceQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")]
LinkQuery = Annotated[Link | None, Query(description="live, offline or never")]


def listed(
    state: FleetState, area: list[str] | None, province: str | None, link: Link | None
) -> tuple[list[CenterRow], list[str]]:
    """The filtered rows in the page's order, and every area (for the filter)."""
    rows = state.rows(state.clock())
    return filter_rows(rows, areas=area or (), province=province, link=link), areas_of(rows)


def counts(rows: list[CenterRow]) -> CountsOut:
    links = Counter(r.link for r in rows)
    live = [r for r in rows if r.link is Link.LIVE]
    return CountsOut(
        live=links[Link.LIVE],
        offline=links[Link.OFFLINE],
        never=links[Link.NEVER],
        urgent=sum(1 for r in rows if r.attention == 4),
        people=sum(r.people or 0 for r in live),
        open_alerts=sum(r.open_alerts for r in rows),
        devices_down=sum(r.devices_down for r in rows),
    )


@router.get(
    "/centers",
    summary="Every center now, most attention first, filterable by area",
    responses=AUTH_RESPONSES,
)
async def centers(
    state: Fleet,
    _: Reader,
    area: AreaQuery = None,
    province: ProvinceQuery = None,
    link: LinkQuery = None,
) -> CentersOut:
    rows, areas = listed(state, area, province, link)
    return CentersOut(
        time=state.clock(),
        offline_after_s=state.overview.offline_after_s,
        watching=state.board.watching,
        areas=areas,
        counts=counts(rows),
        centers=[center_out(r) for r in rows],
    )


def _row(state: FleetState, key: str) -> CenterRow:
    for row in state.rows(state.clock()):
        if row.key == key:
            return row
    raise ApiError(404, "center_not_found", f"no center {key!r}")


KeyPath = Annotated[str, "<province>.<site>"]


@router.get(
    "/centers/{key}",
    summary="One center now: its zones, open alerts and devices",
    responses={**AUTH_RESPONSES, **NOT_FOUND},
)
async def center(state: Fleet, _: Reader, key: KeyPath) -> CenterDetailOut:
    row = _row(state, key)
    doc = state.board.states.get(key) or {}
    zones = doc.get("zones") or {}
    alerts = doc.get("alerts") or {}
    devices = doc.get("devices") or {}
    return CenterDetailOut(
        time=state.clock(),
        center=center_out(row),
        zones=[
            ZoneNowOut(
                zone_id=z,
                at=v.get("at"),
                occupancy=v.get("occupancy"),
                capacity_ratio=v.get("capacity_ratio"),
                level=v.get("level"),
                expected_wait_s=v.get("expected_wait_s"),
            )
            for z, v in sorted(zones.items())
        ],
        alerts=[
            AlertNowOut(
                id=a,
                at=v.get("at"),
                rule=v.get("rule"),
                severity=v.get("severity"),
                state=v.get("state"),
                zone_id=v.get("zone_id"),
                device_id=v.get("device_id"),
            )
            for a, v in sorted(alerts.items())
        ],
        devices=[
            DeviceNowOut(
                device_id=d, at=v.get("at"), online=v.get("online"), detail=v.get("detail")
            )
            for d, v in sorted(devices.items())
        ],
    )


@router.get(
    "/centers/{key}/month",
    summary="A center's month beside the others: busiest hours, waiting-time league table",
    responses={
        **AUTH_RESPONSES,
        **NOT_FOUND,
        400: {"model": ErrorBody, "description": "month is not YYYY-MM"},
        503: {"model": ErrorBody, "description": "the central store did not answer"},
    },
)
async def month(
    state: Fleet,
    _: Reader,
    key: KeyPath,
    month: Annotated[
        str | None, Query(description="YYYY-MM (default: this month)", max_length=7)
    ] = None,
) -> MonthOut:
    row = _row(state, key)
    tz = state.overview.timezone
    try:
        span = month_range(month, state.clock(), tz)
    except MonthError as exc:
        raise ApiError(400, "bad_month", str(exc)) from exc
    figures = await state.months.month(row.province, span.start, span.end)
    hours = busiest_hours(figures.people, key, tz)
    names = {r.key: r for r in state.rows(state.clock())}
    league = []
    for entry in wait_league(figures.waits):
        known = names.get(entry.key)
        league.append(
            league_out(
                entry,
                known.name if known else entry.key.partition(".")[2],
                known.area if known else "",
                entry.key == key,
            )
        )
    return MonthOut(
        month=span.label,
        timezone=tz,
        start=span.start,
        end=span.end,
        center=key,
        busiest=top_hours(hours),
        hours=[hour_out(h) for h in hours],
        people_source=figures.people_source,
        wait_source=figures.wait_source,
        league=league,
    )


@system.get("/health", summary="The service answers (no token needed)")
async def health(state: Fleet) -> HealthOut:
    return HealthOut(status="ok", time=state.clock())


@system.get(
    "/health/ready",
    summary="Ready: the sites' bucket is watched (no token needed)",
    responses={503: {"model": HealthOut, "description": "not watching the bucket"}},
)
async def ready(state: Fleet, response: Response) -> HealthOut:
    if not state.board.watching:
        response.status_code = 503
        return HealthOut(status="not_ready", time=state.clock())
    return HealthOut(status="ready", time=state.clock())


@system.get(
    "/metrics",
    summary="The service's figures in Prometheus text format",
    response_class=Response,
    responses={**AUTH_RESPONSES, 200: {"content": {"text/plain": {}}}},
)
async def metrics(state: Fleet, _: Reader) -> Response:
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
