"""Response models of the province page's API, and their conversions. Pure module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.schemas import Out, with_examples
from gateway.fleet.month import HourRow, LeagueRow
from gateway.fleet.overview import CenterRow

EXAMPLE_ROW: dict[str, Any] = {
    "key": "hue.phuong-thuan-hoa",
    "province": "hue",
    "site": "phuong-thuan-hoa",
    "name": "Trung tâm PVHCC phường Thuận Hóa",
    "area": "Thuận Hóa",
    "control_room": "https://thuan-hoa.example.vn/ui/",
    "registered": True,
    "link": "live",
    "last_seen": "2026-12-01T01:30:00+00:00",
    "age_s": 4.0,
    "data_seen": "2026-12-01T01:29:10+00:00",
    "data_age_s": 54.0,
    "link_seen": "2026-12-01T01:30:00+00:00",
    "link_age_s": 4.0,
    "level": "crowded",
    "people": 142,
    "longest_wait_s": 1260.0,
    "longest_wait_zone": "f2-waiting",
    "zones": 6,
    "open_alerts": 1,
    "critical_alerts": 0,
    "devices": 9,
    "devices_down": 1,
    "attention": 3,
    "reasons": ["crowded", "alerts", "devices_down"],
    "wait_watch_s": 1800.0,
    "wait_act_s": 3600.0,
    "cert_not_after": "2026-12-20T08:00:00+00:00",
    "cert_days_left": 19,
}


class CenterOut(Out):
    model_config = with_examples(EXAMPLE_ROW)
    key: str = Field(description="<province>.<site>")
    province: str
    site: str
    name: str = Field(description="the registry's name, or the site id when not registered")
    area: str = Field(description="district/area from the registry; empty when none")
    control_room: str | None = Field(description="the center's own control room")
    registered: bool
    link: Literal["live", "offline", "never"] = Field(
        description="offline: the latest record (a heartbeat included) is older than"
        " offline_after_s, the gateway is silent; never: registered, nothing received"
    )
    last_seen: datetime | None = Field(
        description="the latest record's time, a heartbeat included (the site's clock)"
    )
    age_s: float | None = Field(description="seconds since last_seen, at `time`")
    data_seen: datetime | None = Field(
        description="the latest zone, alert, device or hourly record's time: old while"
        " nothing changes at a live center"
    )
    data_age_s: float | None = Field(description="seconds since data_seen, at `time`")
    link_seen: datetime | None = Field(
        description="the latest heartbeat's time; null when the gateway sends none"
    )
    link_age_s: float | None = Field(description="seconds since link_seen, at `time`")
    level: Literal["calm", "busy", "crowded", "critical"] | None = Field(
        description="the worst zone's crowd level"
    )
    people: int | None = Field(description="people present, the zones summed")
    longest_wait_s: float | None = Field(description="the longest expected wait of a zone")
    longest_wait_zone: str | None
    zones: int
    open_alerts: int
    critical_alerts: int
    devices: int
    devices_down: int
    attention: int = Field(description="4 urgent, 3 act, 2 watch, 1 calm (docs/fleet.md)")
    reasons: list[str] = Field(
        description="worst first: offline, never, critical, crowded, busy, wait_act (the longest"
        " wait over wait_act_s), critical_alerts, alerts, wait_watch (over wait_watch_s),"
        " devices_down"
    )
    wait_watch_s: float | None = Field(
        description="the province's wait threshold for this center (its own, its area's or the"
        " province's): a longer wait is watched; null: not judged"
    )
    wait_act_s: float | None = Field(
        description="a longest wait over this is acted on, as a crowded center; null: not judged"
    )
    cert_not_after: datetime | None = Field(
        None,
        description="the end of the center's own certificate that ends first (its leaf's on the"
        " link, its gateway's), as its heartbeat reported it; null: none reported",
    )
    cert_days_left: int | None = Field(
        None,
        description="days left on that certificate, rounded up, only within the central file's"
        " nats.cert_warn_days (30 by default; 0 or less: expired); null otherwise",
    )


def _round(age: float | None) -> float | None:
    return round(age, 1) if age is not None else None


def center_out(row: CenterRow) -> CenterOut:
    return CenterOut(
        key=row.key,
        province=row.province,
        site=row.site,
        name=row.name,
        area=row.area,
        control_room=row.control_room,
        registered=row.registered,
        link=row.link.value,
        last_seen=row.last_seen,
        age_s=_round(row.age_s),
        data_seen=row.data_seen,
        data_age_s=_round(row.data_age_s),
        link_seen=row.link_seen,
        link_age_s=_round(row.link_age_s),
        level=row.level,
        people=row.people,
        longest_wait_s=row.longest_wait_s,
        longest_wait_zone=row.longest_wait_zone,
        zones=row.zones,
        open_alerts=row.open_alerts,
        critical_alerts=row.critical_alerts,
        devices=row.devices,
        devices_down=row.devices_down,
        attention=int(row.attention),
        reasons=list(row.reasons),
        wait_watch_s=row.wait_watch_s,
        wait_act_s=row.wait_act_s,
        cert_not_after=row.cert_not_after,
        cert_days_left=row.cert_days_left,
    )


class CountsOut(Out):
    live: int
    offline: int
    never: int
    urgent: int = Field(description="centers in attention tier 4")
    people: int = Field(description="people present at the live centers")
    open_alerts: int
    devices_down: int


class CentersOut(Out):
    time: datetime = Field(description="when the list was made (ages are at this time)")
    offline_after_s: float
    watching: bool = Field(description="false: the bucket is not being watched (NATS away)")
    areas: list[str] = Field(description="every area of the province's centers, for the filter")
    counts: CountsOut = Field(description="over the centers listed (after the filter)")
    centers: list[CenterOut] = Field(description="most attention first (docs/fleet.md)")


class ZoneNowOut(Out):
    zone_id: str
    at: datetime | None
    occupancy: int | None
    capacity_ratio: float | None
    level: str | None
    expected_wait_s: float | None


class AlertNowOut(Out):
    id: str
    at: datetime | None
    rule: str | None
    severity: str | None
    state: str | None
    zone_id: str | None
    device_id: str | None


class DeviceNowOut(Out):
    device_id: str
    at: datetime | None
    online: bool | None
    detail: str | None


class CenterDetailOut(Out):
    time: datetime
    center: CenterOut
    zones: list[ZoneNowOut]
    alerts: list[AlertNowOut]
    devices: list[DeviceNowOut]


class HourOut(Out):
    hour: int = Field(ge=0, le=23, description="hour of the day in the province's time zone")
    people: float | None = Field(description="this center's mean people present")
    others_mean: float | None
    others_max: float | None
    others: int = Field(description="other centers with data at that hour")


class LeagueOut(Out):
    rank: int
    key: str
    name: str
    area: str
    hours: int = Field(description="hours of the month with an expected wait")
    mean_wait_s: float = Field(description="the mean of each hour's longest expected wait")
    p90_wait_s: float = Field(description="their 90th percentile (nearest rank)")
    this: bool = Field(description="the center asked about")


class MonthOut(Out):
    month: str = Field(description="YYYY-MM")
    timezone: str
    start: datetime
    end: datetime
    center: str
    busiest: list[int] = Field(description="the center's three busiest hours, busiest first")
    hours: list[HourOut]
    people_source: str = Field(
        description="what the hours are made of: zone_hourly.people_mean (the uplink's hourly"
        " aggregates) or, without any in the month, zone_occupancy.count"
    )
    wait_source: str = Field(
        description="what the league table is made of: service_hourly.wait_p90_s (measured"
        " waits of called tickets) or, without any in the month, zone_occupancy.expected_wait_s"
    )
    league: list[LeagueOut] = Field(description="shortest mean wait first")


def hour_out(row: HourRow) -> HourOut:
    return HourOut(
        hour=row.hour,
        people=row.people,
        others_mean=row.others_mean,
        others_max=row.others_max,
        others=row.others,
    )


def league_out(row: LeagueRow, name: str, area: str, this: bool) -> LeagueOut:
    return LeagueOut(
        rank=row.rank,
        key=row.key,
        name=name,
        area=area,
        hours=row.hours,
        mean_wait_s=row.mean_wait_s,
        p90_wait_s=row.p90_wait_s,
        this=this,
    )
