"""Planning: the staffing plan for managers, HVAC advice for facility staff.

Mounted by ``create_app`` like every route module (``app.include_router(planning.router)``);
the ``PlanningService`` is set by the composition root as ``app.state.planning``.
Without it the endpoints answer 503. The service's calls are synchronous
(InfluxQL over HTTP), so these endpoints are plain ``def``: FastAPI runs them in
its thread pool and the event loop never waits for the database.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth import Permission, Principal
from api.deps import AUTH_RESPONSES, NOT_FOUND, ApiError, ClimateReader, State, require
from api.schemas import ErrorBody
from api.timebounds import BoundedDate
from gateway.planning.backtest import BacktestResult
from gateway.planning.hvac_rules import advice_payload
from gateway.planning.report import plan_csv
from gateway.planning.service import PlanningService
from gateway.planning.staffing import GroupPlan

router = APIRouter(prefix="/api/v1/planning", tags=["planning"])
Planner = Annotated[Principal, Depends(require(Permission.PLANNING))]
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "planning is not set up, or InfluxDB is away"}
}


class HourOut(BaseModel):
    hour: int = Field(description="local hour of day")
    open_minutes: int
    arrivals: float = Field(description="forecast arrivals (tickets) in the hour")
    traffic_erlangs: float
    counters_needed: int
    counters_available: int
    counters_staffed: int = Field(description="min(needed, available): the figures assume this")
    short: bool = Field(description="demand exceeds the counters the group has")
    counters_open_actual: float | None = Field(description="counters open per ticket data")
    counters_open_seats: float | None = Field(
        None,
        description="counters actually open by their seat sensors (somebody behind them): the"
        " hour's mean, summed over the group's counters; null: no seat sensor reported that"
        " hour (a day not yet lived, or no seat sensors)",
    )
    service_level: float = Field(description="share called within the target wait")
    p_wait: float
    expected_wait_s: float | None = Field(description="mean wait; null: the queue grows")
    occupancy: float


class GroupOut(BaseModel):
    id: str
    name: str
    counters: int
    service_time_s: float
    service_time_source: str = Field(description="tickets (measured) or config")
    forecast_basis: str
    reference_days: list[date]
    hours: list[HourOut]


class StaffingOut(BaseModel):
    date: date
    target_level: float
    target_wait_s: float
    arrivals_source: str
    groups: list[GroupOut]
    short_hours: list[str] = Field(description="'<group> HH' where demand exceeds the counters")


class BacktestHourOut(BaseModel):
    hour: int
    days: int
    mape: float | None
    bias: float
    bias_pct: float | None
    mean_actual: float


class BacktestOut(BaseModel):
    group: str
    days: list[date]
    mape: float | None
    wape: float | None
    bias_pct: float | None
    hours: list[BacktestHourOut]


def get_planning(request: Request) -> PlanningService:
    service = getattr(request.app.state, "planning", None)
    if not isinstance(service, PlanningService):
        raise ApiError(503, "planning_unavailable", "planning is not set up on this gateway")
    return service


Planning = Annotated[PlanningService, Depends(get_planning)]
DateQuery = Annotated[
    BoundedDate | None,
    Query(alias="date", description="day to plan, years 2000-2099 (default: tomorrow, local)"),
]


def _day(service: PlanningService, now: datetime, day: date | None) -> date:
    return day or (now.astimezone(service.tz).date() + timedelta(days=1))


@router.get(
    "/staffing",
    summary="Counters to open per hour and service group (Erlang C)",
    responses={**AUTH_RESPONSES, **_UNAVAILABLE},
)
def staffing(state: State, _: Planner, service: Planning, day: DateQuery = None) -> StaffingOut:
    plan = service.staffing_plan(_day(service, state.clock(), day))
    return StaffingOut(
        date=plan.day,
        target_level=plan.params.level,
        target_wait_s=plan.params.target_wait_s,
        arrivals_source=plan.arrivals_source,
        groups=[_group(g) for g in plan.groups],
        short_hours=[f"{g} {h:02d}" for g, h in plan.short_hours],
    )


@router.get(
    "/staffing.csv",
    summary="The staffing plan as CSV",
    response_class=Response,
    responses={**AUTH_RESPONSES, **_UNAVAILABLE, 200: {"content": {"text/csv": {}}}},
)
def staffing_csv(state: State, _: Planner, service: Planning, day: DateQuery = None) -> Response:
    target = _day(service, state.clock(), day)
    body = plan_csv(service.staffing_plan(target))
    headers = {"Content-Disposition": f'attachment; filename="staffing-{target}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/backtest",
    summary="Forecast error (MAPE, bias by hour) over recent weeks",
    responses={**AUTH_RESPONSES, **_UNAVAILABLE},
)
def backtest(
    state: State,
    _: Planner,
    service: Planning,
    weeks: Annotated[int, Query(ge=1, le=26)] = 4,
) -> list[BacktestOut]:
    today = state.clock().astimezone(service.tz).date()
    return [_backtest(r) for r in service.backtest(weeks, today)]


@router.get(
    "/hvac",
    summary="HVAC advice per zone (also published on floorwatch/<site>/hvac/<zone>/advice)",
    responses={**AUTH_RESPONSES, **_UNAVAILABLE},
)
def hvac(state: State, _: ClimateReader, service: Planning) -> list[dict[str, Any]]:
    advice = service.hvac_advice(state.floor.zones(), state.clock())
    return [advice_payload(a) for a in advice]


@router.get(
    "/hvac/{zone_id}",
    summary="HVAC advice of one zone",
    responses={**AUTH_RESPONSES, **NOT_FOUND, **_UNAVAILABLE},
)
def hvac_zone(state: State, _: ClimateReader, service: Planning, zone_id: str) -> dict[str, Any]:
    for payload in hvac(state, _, service):
        if payload["zone"] == zone_id:
            return payload
    raise ApiError(404, "zone_not_found", f"no live state for zone {zone_id!r}")


def _group(g: GroupPlan) -> GroupOut:
    return GroupOut(
        id=g.group.id,
        name=g.group.name,
        counters=g.group.counters,
        service_time_s=g.group.service_time_s,
        service_time_source=g.group.source,
        forecast_basis=g.forecast_basis,
        reference_days=list(g.reference_days),
        hours=[
            HourOut(
                hour=h.hour,
                open_minutes=h.open_minutes,
                arrivals=h.arrivals,
                traffic_erlangs=h.traffic,
                counters_needed=h.needed,
                counters_available=h.available,
                counters_staffed=h.staffed,
                short=h.short,
                counters_open_actual=h.counters_open,
                counters_open_seats=h.seats_open,
                service_level=h.service_level,
                p_wait=h.p_wait,
                expected_wait_s=h.wait_s if math.isfinite(h.wait_s) else None,
                occupancy=h.occupancy,
            )
            for h in g.hours
        ],
    )


def _backtest(r: BacktestResult) -> BacktestOut:
    return BacktestOut(
        group=r.group,
        days=list(r.days),
        mape=r.mape,
        wape=r.wape,
        bias_pct=r.bias_pct,
        hours=[
            BacktestHourOut(
                hour=h.hour,
                days=h.days,
                mape=h.mape,
                bias=h.bias,
                bias_pct=h.bias_pct,
                mean_actual=h.mean_actual,
            )
            for h in r.hours
        ],
    )
