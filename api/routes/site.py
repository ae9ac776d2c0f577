"""The site and its floors: plans and zone outlines from the config, totals from the live state."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AUTH_RESPONSES, NOT_FOUND, ApiError, AppState, Reader, State
from api.schemas import FloorOut, ServiceOut, SiteOut, zone_plan
from gateway.settings import FloorConfig

router = APIRouter(prefix="/api/v1", tags=["site"])


def _floor_out(state: AppState, floor: FloorConfig, people: dict[str, int]) -> FloorOut:
    zones = [z for z in state.site.zones if z.floor == floor.id]
    return FloorOut(
        id=floor.id,
        name=floor.name,
        level=floor.level,
        area_m2=floor.area_m2,
        width_m=floor.plan.width_m,
        depth_m=floor.plan.depth_m,
        occupancy=sum(people.get(z.id, 0) for z in zones),
        capacity=sum(z.capacity for z in zones),
        zones=[zone_plan(z) for z in zones],
    )


def _people(state: AppState) -> dict[str, int]:
    return {z.zone_id: z.occupancy for z in state.floor.zones()}


@router.get("/site", summary="The site, its floors and zone outlines", responses=AUTH_RESPONSES)
async def site(state: State, _: Reader) -> SiteOut:
    people = _people(state)
    floors = [_floor_out(state, f, people) for f in state.site.floors]
    return SiteOut(
        id=state.site.site.id,
        name=state.site.site.name,
        timezone=state.site.site.timezone,
        occupancy=sum(f.occupancy for f in floors),
        capacity=sum(f.capacity for f in floors),
        floors=floors,
        services=[
            ServiceOut(id=s.id, name=s.name, counters=list(s.counters)) for s in state.site.services
        ],
    )


@router.get("/floors", summary="Floors with their plans and totals", responses=AUTH_RESPONSES)
async def floors(state: State, _: Reader) -> list[FloorOut]:
    people = _people(state)
    return [_floor_out(state, f, people) for f in state.site.floors]


@router.get(
    "/floors/{floor_id}",
    summary="One floor with its plan, zone outlines and totals",
    responses={**AUTH_RESPONSES, **NOT_FOUND},
)
async def floor(floor_id: str, state: State, _: Reader) -> FloorOut:
    for f in state.site.floors:
        if f.id == floor_id:
            return _floor_out(state, f, _people(state))
    raise ApiError(404, "floor_not_found", f"no floor {floor_id!r}")
