"""The province page's picture of its centers, from the ``fleet_sites`` documents. Pure module.

``center_rows`` turns each site's latest state (as ``fleet run`` keeps it in
the key-value bucket) and the registry of centers into one ``CenterRow``:
crowd level (the worst zone's), people (the zones' sum), the longest expected
wait, open alerts, devices down, and the link: ``live`` (its latest record,
a heartbeat included, is at most ``offline_after_s`` old), ``offline``
(older: the gateway is silent) or ``never`` (listed in the registry, nothing
received). Beside it two ages: the data's (its latest zone, alert, device or
hourly record: unchanged zones make it old while the link is live) and the
link's (its latest heartbeat; None for a gateway that sends none). ``sort_rows`` puts first what needs attention
(the order is documented in docs/fleet.md and in ``attention``);
``filter_rows`` keeps an area or a province.

Times come in as values: ``now`` is the caller's clock, ``last_seen`` the
site's own record time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from gateway.settings import CrowdLevel

_LEVEL_RANK = {level.value: i + 1 for i, level in enumerate(CrowdLevel)}  # calm 1 … critical 4
_LEVELS = tuple(_LEVEL_RANK)


class Link(StrEnum):
    LIVE = "live"
    OFFLINE = "offline"  # its latest record is older than offline_after_s
    NEVER = "never"  # listed in the registry, nothing received yet


class Attention(IntEnum):
    """How much a center needs the province's eyes now; the first key of the page's order."""

    CALM = 1  # live, nothing below
    WATCH = 2  # live and busy, or a warning alert open, or a device down
    ACT = 3  # live and crowded; or offline / never heard from: the province cannot see it
    URGENT = 4  # live and critical, or a critical alert open


@dataclass(frozen=True, slots=True)
class Registered:
    """A center from the central file's ``sites:`` registry."""

    province: str
    site: str
    name: str
    area: str = ""
    control_room: str | None = None

    @property
    def key(self) -> str:
        return f"{self.province}.{self.site}"


@dataclass(frozen=True, slots=True)
class CenterRow:
    key: str  # <province>.<site>
    province: str
    site: str
    name: str  # the registry's name, or the site id
    area: str  # "" when the registry does not give one
    control_room: str | None
    registered: bool
    link: Link
    last_seen: datetime | None
    age_s: float | None  # now - last_seen (0 when the site's clock is ahead)
    data_seen: datetime | None  # its latest record but heartbeats
    data_age_s: float | None
    link_seen: datetime | None  # its latest heartbeat; None: it sends none
    link_age_s: float | None
    level: str | None  # the worst zone level; None when no zone reports one
    people: int | None  # the zones' occupancy summed; None when no zone counts
    longest_wait_s: float | None
    longest_wait_zone: str | None
    zones: int
    open_alerts: int
    critical_alerts: int
    devices: int
    devices_down: int
    attention: Attention
    reasons: tuple[str, ...]  # why: critical, crowded, offline, never, alerts, busy, devices_down


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Figures:
    """What a site document says, apart from the clock: computed once per document."""

    last_seen: datetime | None
    data_seen: datetime | None
    link_seen: datetime | None
    level: str | None
    people: int | None
    longest_wait_s: float | None
    longest_wait_zone: str | None
    zones: int
    open_alerts: int
    critical_alerts: int
    devices: int
    devices_down: int


NO_FIGURES = Figures(None, None, None, None, None, None, None, 0, 0, 0, 0, 0)


def figures_of(state: Mapping[str, Any] | None) -> Figures:
    """The figures of one ``fleet_sites`` document (None: never received)."""
    if not state:
        return NO_FIGURES
    zones = _dict(state.get("zones"))
    level_rank, people, counted = 0, 0, False
    wait, wait_zone = None, None
    for zone_id, z in sorted(zones.items()):
        zone = _dict(z)
        level_rank = max(level_rank, _LEVEL_RANK.get(str(zone.get("level")), 0))
        occupancy = _number(zone.get("occupancy"))
        if occupancy is not None:
            people, counted = people + int(occupancy), True
        w = _number(zone.get("expected_wait_s"))
        if w is not None and (wait is None or w > wait):
            wait, wait_zone = w, str(zone_id)
    alerts = [_dict(a) for a in _dict(state.get("alerts")).values()]
    devices = [_dict(d) for d in _dict(state.get("devices")).values()]
    last_seen = _time(state.get("last_seen"))
    heartbeat = _dict(state.get("heartbeat"))
    data_seen = _time(state.get("last_data"))
    if data_seen is None and not heartbeat:  # a document from before heartbeats
        data_seen = last_seen
    return Figures(
        last_seen=last_seen,
        data_seen=data_seen,
        link_seen=_time(heartbeat.get("at")),
        level=_LEVELS[level_rank - 1] if level_rank else None,
        people=people if counted else None,
        longest_wait_s=wait,
        longest_wait_zone=wait_zone,
        zones=len(zones),
        open_alerts=len(alerts),
        critical_alerts=sum(1 for a in alerts if a.get("severity") == "critical"),
        devices=len(devices),
        devices_down=sum(1 for d in devices if d.get("online") is False),
    )


def center_row(
    key: str,
    state: Mapping[str, Any] | None,
    registered: Registered | None,
    now: datetime,
    offline_after_s: float,
) -> CenterRow:
    """One center's row from its state document (None: never received) and registry entry."""
    return row_of(key, figures_of(state), registered, now, offline_after_s)


def row_of(
    key: str,
    f: Figures,
    registered: Registered | None,
    now: datetime,
    offline_after_s: float,
) -> CenterRow:
    """One center's row from its document's figures, its registry entry and the clock."""
    province, _, site = key.partition(".")
    last_seen = f.last_seen
    age = _age(now, last_seen)
    if last_seen is None:
        link = Link.NEVER
    elif age is not None and age > offline_after_s:
        link = Link.OFFLINE
    else:
        link = Link.LIVE
    attention, reasons = attention_of(
        link, f.level, f.open_alerts, f.critical_alerts, f.devices_down
    )
    return CenterRow(
        key=key,
        province=registered.province if registered else province,
        site=registered.site if registered else site,
        name=registered.name if registered else site,
        area=registered.area if registered else "",
        control_room=registered.control_room if registered else None,
        registered=registered is not None,
        link=link,
        last_seen=last_seen,
        age_s=age,
        data_seen=f.data_seen,
        data_age_s=_age(now, f.data_seen),
        link_seen=f.link_seen,
        link_age_s=_age(now, f.link_seen),
        level=f.level,
        people=f.people,
        longest_wait_s=f.longest_wait_s,
        longest_wait_zone=f.longest_wait_zone,
        zones=f.zones,
        open_alerts=f.open_alerts,
        critical_alerts=f.critical_alerts,
        devices=f.devices,
        devices_down=f.devices_down,
        attention=attention,
        reasons=reasons,
    )


def _age(now: datetime, at: datetime | None) -> float | None:
    """Seconds from ``at`` to ``now``; 0 when the site's clock is ahead; None without ``at``."""
    return max(0.0, (now - at).total_seconds()) if at is not None else None


def attention_of(
    link: Link, level: str | None, open_alerts: int, critical_alerts: int, devices_down: int
) -> tuple[Attention, tuple[str, ...]]:
    """The attention tier and its reasons, worst first.

    A center the province cannot see (offline, never heard from) is ``ACT``: its
    last known figures are shown but do not raise it further, as they may be old.
    """
    reasons: list[str] = []
    if link is not Link.LIVE:
        reasons.append(link.value)
    if level in ("critical", "crowded", "busy"):
        reasons.append(level)
    if critical_alerts:
        reasons.append("critical_alerts")
    if open_alerts > critical_alerts:
        reasons.append("alerts")
    if devices_down:
        reasons.append("devices_down")
    if link is not Link.LIVE:
        return Attention.ACT, tuple(reasons)
    if level == "critical" or critical_alerts:
        return Attention.URGENT, tuple(reasons)
    if level == "crowded":
        return Attention.ACT, tuple(reasons)
    if level == "busy" or open_alerts or devices_down:
        return Attention.WATCH, tuple(reasons)
    return Attention.CALM, tuple(reasons)


def center_rows(
    states: Mapping[str, Mapping[str, Any] | None],
    registry: Iterable[Registered],
    now: datetime,
    offline_after_s: float,
) -> list[CenterRow]:
    """A row per center in the bucket or the registry, in the page's order (``sort_rows``)."""
    return rows_of({k: figures_of(v) for k, v in states.items()}, registry, now, offline_after_s)


def rows_of(
    figures: Mapping[str, Figures],
    registry: Iterable[Registered],
    now: datetime,
    offline_after_s: float,
) -> list[CenterRow]:
    """``center_rows`` from figures already computed (a caller keeps them per document)."""
    listed = {r.key: r for r in registry}
    keys = set(figures) | set(listed)
    return sort_rows(
        row_of(k, figures.get(k, NO_FIGURES), listed.get(k), now, offline_after_s) for k in keys
    )


def sort_key(row: CenterRow) -> tuple[Any, ...]:
    """The page's order, most attention first:

    1. the attention tier (urgent, act, watch, calm);
    2. a live center before one the province cannot see;
    3. among live centers: the crowd level, worst first; critical alerts open, then all
       alerts open, most first; the longest expected wait, longest first; people, most
       first; devices down, most first;
    4. among centers the province cannot see (their figures may be old, so they do not
       count): never heard from first, then the one silent longest;
    5. the name, then the key (a stable order for equals).
    """
    if row.link is Link.LIVE:
        figures: tuple[float, ...] = (
            -_LEVEL_RANK.get(row.level or "", 0),
            -row.critical_alerts,
            -row.open_alerts,
            -(row.longest_wait_s if row.longest_wait_s is not None else -1.0),
            -(row.people if row.people is not None else -1),
            -row.devices_down,
        )
    else:
        figures = (-(row.age_s if row.age_s is not None else float("inf")),)
    return (
        -row.attention,
        0 if row.link is Link.LIVE else 1,
        figures,
        row.name.casefold(),
        row.key,
    )


def sort_rows(rows: Iterable[CenterRow]) -> list[CenterRow]:
    return sorted(rows, key=sort_key)


def filter_rows(
    rows: Sequence[CenterRow],
    *,
    areas: Sequence[str] = (),
    province: str | None = None,
    link: Link | None = None,
) -> list[CenterRow]:
    """The rows in one of ``areas`` (case-insensitive; "" is "no area"), ``province``, ``link``."""
    wanted = {a.strip().casefold() for a in areas}
    return [
        r
        for r in rows
        if (not wanted or r.area.strip().casefold() in wanted)
        and (province is None or r.province == province)
        and (link is None or r.link is link)
    ]


def areas_of(rows: Iterable[CenterRow]) -> list[str]:
    """The areas the rows have, for the page's filter (sorted, without the empty one)."""
    return sorted({r.area for r in rows if r.area}, key=lambda a: (a.casefold(), a))
