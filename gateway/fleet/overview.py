"""The province page's picture of its centers, from the ``fleet_sites`` documents. Pure module.

``center_rows`` turns each site's latest state (as ``fleet run`` keeps it in
the key-value bucket) and the registry of centers into one ``CenterRow``:
crowd level (the worst zone's), people (the zones' sum), the longest expected
wait, open alerts, devices down, and the link: ``live`` (its latest record,
a heartbeat included, is at most ``offline_after_s`` old), ``offline``
(older: the gateway is silent) or ``never`` (listed in the registry, nothing
received). Beside it two ages: the data's (its latest zone, alert, device or
hourly record: unchanged zones make it old while the link is live) and the
link's (its latest heartbeat; None for a gateway that sends none), and the
days left on the center's own certificate that ends first, only within
``cert_warn_days`` (the central file's ``nats.cert_warn_days``;
gateway.fleet.site_certs). ``sort_rows`` puts first what needs attention
(the order is documented in docs/fleet.md and in ``attention``);
``WaitLimits`` are the province's own thresholds on a center's longest wait
(a registered center may carry its own), so a long wait raises a center even
when the site raised no alert of its own;
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

from gateway.fleet.site_certs import days_shown, first_end, reported
from gateway.settings import CrowdLevel

_LEVEL_RANK = {level.value: i + 1 for i, level in enumerate(CrowdLevel)}  # calm 1 … critical 4
_LEVELS = tuple(_LEVEL_RANK)
#: A center's certificate ending within this many days is shown on its row, unless the
#: caller passes the central file's ``nats.cert_warn_days`` (the same default).
CERT_WARN_DAYS = 30.0


class Link(StrEnum):
    LIVE = "live"
    OFFLINE = "offline"  # its latest record is older than offline_after_s
    NEVER = "never"  # listed in the registry, nothing received yet


class Attention(IntEnum):
    """How much a center needs the province's eyes now; the first key of the page's order."""

    CALM = 1  # live, nothing below
    WATCH = 2  # live and busy, a warning alert open, a device down, or a wait over watch_s
    ACT = 3  # live and crowded or a wait over act_s; or offline / never heard from
    URGENT = 4  # live and critical, or a critical alert open


@dataclass(frozen=True, slots=True)
class WaitLimits:
    """Thresholds on a center's longest expected wait, seconds (None: not judged).

    Over ``watch_s`` the center is watched, over ``act_s`` acted on, whatever
    alerts the site raised itself.
    """

    watch_s: float | None = None
    act_s: float | None = None

    @classmethod
    def minutes(cls, watch_min: float | None, act_min: float | None) -> WaitLimits:
        return cls(
            None if watch_min is None else watch_min * 60.0,
            None if act_min is None else act_min * 60.0,
        )

    def over(self, wait_s: float | None) -> Attention | None:
        """The tier a wait of ``wait_s`` calls for (None: within both, or no wait)."""
        if wait_s is None:
            return None
        if self.act_s is not None and wait_s > self.act_s:
            return Attention.ACT
        if self.watch_s is not None and wait_s > self.watch_s:
            return Attention.WATCH
        return None


NO_LIMITS = WaitLimits()


@dataclass(frozen=True, slots=True)
class Registered:
    """A center from the central file's ``sites:`` registry."""

    province: str
    site: str
    name: str
    area: str = ""
    control_room: str | None = None
    waits: WaitLimits | None = None  # its own wait thresholds (None: the province's)

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
    reasons: tuple[str, ...]  # why, worst first (see attention_of)
    wait_watch_s: float | None = None  # the wait thresholds that apply to this center
    wait_act_s: float | None = None
    cert_not_after: datetime | None = None  # its own certificate that ends first, if reported
    cert_days_left: int | None = None  # days left on it, rounded up, within cert_warn_days only


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
    cert_end: datetime | None = None  # the center's own certificate that ends first


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
    certs = reported(state)
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
        cert_end=first_end(certs[1]) if certs is not None else None,
    )


def center_row(
    key: str,
    state: Mapping[str, Any] | None,
    registered: Registered | None,
    now: datetime,
    offline_after_s: float,
    waits: WaitLimits = NO_LIMITS,
    cert_warn_days: float = CERT_WARN_DAYS,
) -> CenterRow:
    """One center's row from its state document (None: never received) and registry entry;
    ``waits``: the province's wait thresholds (a registered center's own replace them)."""
    return row_of(key, figures_of(state), registered, now, offline_after_s, waits, cert_warn_days)


def row_of(
    key: str,
    f: Figures,
    registered: Registered | None,
    now: datetime,
    offline_after_s: float,
    waits: WaitLimits = NO_LIMITS,
    cert_warn_days: float = CERT_WARN_DAYS,
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
    limits = registered.waits if registered is not None and registered.waits else waits
    attention, reasons = attention_of(
        link,
        f.level,
        f.open_alerts,
        f.critical_alerts,
        f.devices_down,
        limits.over(f.longest_wait_s),
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
        wait_watch_s=limits.watch_s,
        wait_act_s=limits.act_s,
        cert_not_after=f.cert_end,
        cert_days_left=days_shown(f.cert_end, now, cert_warn_days),
    )


def _age(now: datetime, at: datetime | None) -> float | None:
    """Seconds from ``at`` to ``now``; 0 when the site's clock is ahead; None without ``at``."""
    return max(0.0, (now - at).total_seconds()) if at is not None else None


def attention_of(
    link: Link,
    level: str | None,
    open_alerts: int,
    critical_alerts: int,
    devices_down: int,
    wait: Attention | None = None,
) -> tuple[Attention, tuple[str, ...]]:
    """The attention tier and its reasons, worst first.

    ``wait``: the tier the longest wait calls for by the province's thresholds
    (``WaitLimits.over``); its reason is ``wait_act`` or ``wait_watch``.
    A center the province cannot see (offline, never heard from) is ``ACT``: its
    last known figures are shown but do not raise it further, as they may be old.
    """
    reasons: list[str] = []
    if link is not Link.LIVE:
        reasons.append(link.value)
    if level in ("critical", "crowded", "busy"):
        reasons.append(level)
    if wait is Attention.ACT:
        reasons.append("wait_act")
    if critical_alerts:
        reasons.append("critical_alerts")
    if open_alerts > critical_alerts:
        reasons.append("alerts")
    if wait is Attention.WATCH:
        reasons.append("wait_watch")
    if devices_down:
        reasons.append("devices_down")
    if link is not Link.LIVE:
        return Attention.ACT, tuple(reasons)
    if level == "critical" or critical_alerts:
        return Attention.URGENT, tuple(reasons)
    if level == "crowded" or wait is Attention.ACT:
        return Attention.ACT, tuple(reasons)
    if level == "busy" or open_alerts or devices_down or wait is Attention.WATCH:
        return Attention.WATCH, tuple(reasons)
    return Attention.CALM, tuple(reasons)


def center_rows(
    states: Mapping[str, Mapping[str, Any] | None],
    registry: Iterable[Registered],
    now: datetime,
    offline_after_s: float,
    waits: WaitLimits = NO_LIMITS,
    cert_warn_days: float = CERT_WARN_DAYS,
) -> list[CenterRow]:
    """A row per center in the bucket or the registry, in the page's order (``sort_rows``)."""
    figures = {k: figures_of(v) for k, v in states.items()}
    return rows_of(figures, registry, now, offline_after_s, waits, cert_warn_days)


def rows_of(
    figures: Mapping[str, Figures],
    registry: Iterable[Registered],
    now: datetime,
    offline_after_s: float,
    waits: WaitLimits = NO_LIMITS,
    cert_warn_days: float = CERT_WARN_DAYS,
) -> list[CenterRow]:
    """``center_rows`` from figures already computed (a caller keeps them per document)."""
    listed = {r.key: r for r in registry}
    keys = set(figures) | set(listed)
    return sort_rows(
        row_of(
            k,
            figures.get(k, NO_FIGURES),
            listed.get(k),
            now,
            offline_after_s,
            waits,
            cert_warn_days,
        )
        for k in keys
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
