"""Zones: live state, history from InfluxDB, climate against comfort bands, counter seats."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field, TypeAdapter

from api.deps import AUTH_RESPONSES, NOT_FOUND, ApiError, AppState, ClimateReader, Reader, State
from api.history import ZoneHistory
from api.influxql import RangeError, Resolution
from api.schemas import (
    ErrorBody,
    Out,
    ZoneClimateOut,
    ZoneOut,
    climate_out,
    zone_out,
    zone_plan,
)
from api.schemas_history import (
    ClimatePoint,
    ClimateSeries,
    OccupancyPoint,
    OccupancySeries,
    ZoneHistoryOut,
)
from api.timebounds import BoundedDateTime
from gateway.live import ZoneClimateState, ZoneState
from gateway.seats import SeatStatus, counters_open, open_by_service
from gateway.settings import CrowdLevel

router = APIRouter(prefix="/api/v1", tags=["zones"])

DEFAULT_SPAN = {
    Resolution.M1: timedelta(hours=2),
    Resolution.M15: timedelta(hours=24),
    Resolution.H1: timedelta(days=7),
}


def _live(state: AppState, zone_id: str) -> ZoneState:
    for z in state.floor.zones():
        if z.zone_id == zone_id:
            return z
    raise ApiError(404, "zone_not_found", f"no live state for zone {zone_id!r}")


def _known_zone(state: AppState, zone_id: str) -> None:
    if all(z.id != zone_id for z in state.site.zones):
        raise ApiError(404, "zone_not_found", f"no zone {zone_id!r}")


_ZONES = TypeAdapter(list[ZoneOut])


@router.get(
    "/zones",
    summary="Live state of every zone",
    response_model=list[ZoneOut],
    responses=AUTH_RESPONSES,
)
async def zones(
    request: Request,
    _: Reader,
    floor: Annotated[str | None, Query(description="only the zones of this floor")] = None,
    level: Annotated[CrowdLevel | None, Query(description="only zones at this level")] = None,
) -> Response:
    state: AppState = request.app.state.floorwatch  # the hot path: no State dependency
    chosen = [
        z
        for z in state.floor.zones()
        if (floor is None or z.floor_id == floor) and (level is None or z.level == level)
    ]
    body = state.renders.get(
        ("zones", floor, level), chosen, lambda: _ZONES.dump_json([zone_out(z) for z in chosen])
    )
    return Response(body, media_type="application/json")


@router.get(
    "/zones/{zone_id}",
    summary="Live state of one zone, with the sources behind its figures",
    responses={**AUTH_RESPONSES, **NOT_FOUND},
)
async def zone(zone_id: str, state: State, _: Reader) -> ZoneOut:
    return zone_out(_live(state, zone_id))


@router.get(
    "/zones/{zone_id}/history",
    summary="Occupancy and climate of a zone over time, from InfluxDB",
    responses={
        **AUTH_RESPONSES,
        **NOT_FOUND,
        422: {"model": ErrorBody, "description": "a bad range or resolution"},
        503: {"model": ErrorBody, "description": "InfluxDB is not reachable or refused"},
    },
)
async def zone_history(
    zone_id: str,
    state: State,
    _: Reader,
    resolution: Annotated[Resolution, Query(description="bucket size")] = Resolution.M15,
    start: Annotated[
        BoundedDateTime | None,
        Query(description="ISO 8601 with offset, years 2000-2099; default: end minus a span"),
    ] = None,
    end: Annotated[
        BoundedDateTime | None,
        Query(description="ISO 8601 with offset, years 2000-2099; default: now"),
    ] = None,
) -> ZoneHistoryOut:
    _known_zone(state, zone_id)
    end = end or state.clock()
    start = start or end - DEFAULT_SPAN[resolution]
    try:
        history = await state.history.zone_history(zone_id, start, end, resolution)
    except RangeError as exc:
        raise ApiError(422, "invalid_range", str(exc)) from exc
    return _history_out(history)


def _history_out(h: ZoneHistory) -> ZoneHistoryOut:
    return ZoneHistoryOut(
        zone_id=h.zone_id,
        resolution=h.resolution,
        start=h.start,
        end=h.end,
        occupancy=[
            OccupancySeries(
                source=s.tag,
                points=[
                    OccupancyPoint(
                        time=t,
                        mean=v.get("mean"),
                        max=v.get("max"),
                        density=v.get("density"),
                        capacity_ratio=v.get("capacity_ratio"),
                    )
                    for t, v in s.rows
                ],
            )
            for s in h.occupancy
        ],
        climate=[
            ClimateSeries(
                sensor=s.tag,
                points=[
                    ClimatePoint(
                        time=t,
                        temperature=v.get("temperature"),
                        humidity=v.get("humidity"),
                        co2=v.get("co2"),
                        pm25=v.get("pm25"),
                    )
                    for t, v in s.rows
                ],
            )
            for s in h.climate
        ],
    )


@router.get(
    "/climate",
    summary="Climate of every zone against its comfort band (facility staff)",
    responses=AUTH_RESPONSES,
)
async def climate(state: State, _: ClimateReader) -> list[ZoneClimateOut]:
    live = {z.zone_id: z for z in state.floor.zones()}
    out: list[ZoneClimateOut] = []
    for cfg in state.site.zones:
        z = live.get(cfg.id)
        plan = zone_plan(cfg)
        out.append(
            ZoneClimateOut(
                zone_id=cfg.id,
                name=cfg.name,
                floor_id=cfg.floor,
                occupancy=z.occupancy if z else 0,
                comfort=plan.comfort,
                climate=climate_out(z.climate if z else ZoneClimateState()),
            )
        )
    return out


# --------------------------------------------------------------------------- counter seats


class SeatOut(Out):
    counter: int
    service_id: str | None
    status: SeatStatus = Field(
        description="open: somebody behind the counter; closed: vacant past seats.vacant_after_s;"
        " unknown: its seat sensors are stale or offline, or not heard yet"
    )
    since: datetime | None = Field(description="when the reading behind the status began")
    occupied: bool | None = Field(
        description="the seat sensors' reading now, before the debounce; null: none fresh"
    )
    at: datetime | None = Field(description="the latest reading of its sensors")


class ServiceSeatsOut(Out):
    service_id: str
    name: str
    counters: list[int] = Field(description="every counter of the group (site file)")
    watched: list[int] = Field(description="its counters that have a seat sensor")
    open: int = Field(description="counters of the group whose seat is open now")


class CountersOut(Out):
    open: list[int] = Field(description="counters whose seat is open now (counters actually open)")
    seats: list[SeatOut]
    services: list[ServiceSeatsOut]


@router.get(
    "/counters",
    summary="Counter seats now: which counters are actually open (somebody behind them)",
    responses=AUTH_RESPONSES,
)
async def counters(state: State, _: Reader) -> CountersOut:
    seats = state.floor.seats()
    watched = {s.counter for s in seats}
    opened = open_by_service(seats)
    return CountersOut(
        open=counters_open(seats),
        seats=[
            SeatOut(
                counter=s.counter,
                service_id=s.service_id,
                status=s.status,
                since=s.since,
                occupied=s.occupied,
                at=s.at,
            )
            for s in seats
        ],
        services=[
            ServiceSeatsOut(
                service_id=svc.id,
                name=svc.name,
                counters=list(svc.counters),
                watched=[c for c in svc.counters if c in watched],
                open=opened.get(svc.id, 0),
            )
            for svc in state.site.services
        ],
    )
