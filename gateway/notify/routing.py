"""Which alert transition goes to which channel, and when. Pure module.

``plan`` turns one transition (with the alert as it was before it) into
``Planned`` deliveries, queued in the outbox in the transaction that records
the transition:

- every route whose ``match`` takes the alert (rule, minimum severity, zone,
  floor, service group) contributes its escalation steps; a step names roles
  and channels; step 0 goes at once, a later step ``after_min`` minutes after
  the raise and only while the alert is still unacknowledged;
- quiet hours: outside the site's opening hours a non-critical message waits
  for the next opening (and is dropped if the alert is gone by then);
- a severity that rises (``renotified`` to a worse severity) is a ``worsened``
  message, and routes that take the alert only at its new severity start
  their whole chain; the engine's periodic reminders go only to routes with
  ``reminders: true``; acknowledging sends nothing (it stops escalation);
- ``resolved`` goes to the channels of the steps that were due by then, and
  only where something about the alert was sent (``keep_if="notified"``).

``keep`` is asked at delivery time whether a planned message is still wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.live import Alert, AlertState, Severity
from gateway.notify.config import NotificationSettings, Route
from gateway.settings import SiteConfig, Weekday

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_WEEKDAYS = list(Weekday)

# keep_if: when a planned message is still wanted at delivery
ALWAYS = "always"
UNACKNOWLEDGED = "unacknowledged"  # escalation steps and reminders
UNRESOLVED = "unresolved"  # held by quiet hours
NOTIFIED = "notified"  # resolutions: only where the alert itself was sent


@dataclass(frozen=True, slots=True)
class Planned:
    key: str  # unique per alert, transition, channel and step: the outbox's dedup key
    alert_id: str
    channel: str
    kind: str  # raised, worsened, reminder, escalated, resolved
    after_min: float
    due_at: datetime
    group: str  # messages are grouped per channel and group (the zone, else the subject)
    critical: bool
    keep_if: str


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What routing needs to know about the site."""

    site: SiteConfig
    zone_floor: Mapping[str, str]  # zone id -> floor id


def matches(route: Route, alert: Alert, facts: SiteFacts) -> bool:
    m = route.match
    if m.rules is not None and alert.rule not in m.rules:
        return False
    if m.min_severity is not None and _RANK[alert.severity] < _RANK[Severity(m.min_severity)]:
        return False
    if m.zones is not None and alert.zone_id not in m.zones:
        return False
    if m.floors is not None and facts.zone_floor.get(alert.zone_id or "") not in m.floors:
        return False
    return m.services is None or (alert.rule == "waiting_time" and alert.subject in m.services)


def group_of(alert: Alert) -> str:
    return alert.zone_id or alert.subject or alert.rule


def plan(
    kind: str,
    alert: Alert,
    at: datetime,
    previous: Alert | None,
    cfg: NotificationSettings,
    facts: SiteFacts,
) -> list[Planned]:
    """The deliveries one transition (``raised``, ``renotified``, ...) asks for."""
    if not cfg.enabled:
        return []
    out: dict[str, Planned] = {}
    for route in cfg.routes:
        if not matches(route, alert, facts):
            continue
        for p in _route_plan(kind, alert, at, previous, route, cfg, facts):
            out.setdefault(p.key, p)
    return sorted(out.values(), key=lambda p: (p.due_at, p.channel))


def _route_plan(
    kind: str,
    alert: Alert,
    at: datetime,
    previous: Alert | None,
    route: Route,
    cfg: NotificationSettings,
    facts: SiteFacts,
) -> list[Planned]:
    steps = route.steps()
    if kind == "raised":
        return _chain(alert, at, "raised", route, cfg, facts, alert.raised_at)
    if kind == "renotified":
        if previous is not None and _RANK[alert.severity] > _RANK[previous.severity]:
            if matches(route, previous, facts):
                return _step(alert, at, "worsened", 0, steps[0].notify, route, cfg, facts)
            return _chain(alert, at, "worsened", route, cfg, facts, at)
        if route.reminders:
            return _step(alert, at, "reminder", 0, steps[0].notify, route, cfg, facts)
        return []
    if kind == "resolved" and route.resolved:
        elapsed_min = (at - alert.raised_at).total_seconds() / 60
        out: list[Planned] = []
        for step in steps:
            if step.after_min <= elapsed_min:
                out.extend(_step(alert, at, "resolved", 0, step.notify, route, cfg, facts))
        return out
    return []


def _chain(
    alert: Alert,
    at: datetime,
    first_kind: str,
    route: Route,
    cfg: NotificationSettings,
    facts: SiteFacts,
    start: datetime,
) -> list[Planned]:
    out: list[Planned] = []
    for step in route.steps():
        due = max(at, start + timedelta(minutes=step.after_min))
        kind = first_kind if step.after_min == 0 else "escalated"
        out.extend(_step(alert, due, kind, step.after_min, step.notify, route, cfg, facts))
    return out


def _step(
    alert: Alert,
    due: datetime,
    kind: str,
    after_min: float,
    targets: list[str],
    route: Route,
    cfg: NotificationSettings,
    facts: SiteFacts,
) -> list[Planned]:
    keep_if = {"escalated": UNACKNOWLEDGED, "reminder": UNACKNOWLEDGED, "resolved": NOTIFIED}.get(
        kind, ALWAYS
    )
    critical = alert.severity is Severity.CRITICAL
    if route.quiet_hours and not critical:
        opening = next_opening(facts.site, due)
        if opening is not None and opening > due:
            due = opening
            if keep_if == ALWAYS:
                keep_if = UNRESOLVED
    return [
        Planned(
            key=f"{alert.id}|{kind}|{alert.notifications}|{channel}|{after_min:g}",
            alert_id=alert.id,
            channel=channel,
            kind=kind,
            after_min=after_min,
            due_at=due,
            group=group_of(alert),
            critical=critical,
            keep_if=keep_if,
        )
        for channel in cfg.targets(targets)
    ]


def next_opening(site: SiteConfig, at: datetime) -> datetime | None:
    """``at`` itself while the site is open, else the start of its next opening session.

    None when the site has no opening hours (never quiet).
    """
    if not site.opening_hours:
        return None
    tz = ZoneInfo(site.timezone)
    local = at.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        weekday = _WEEKDAYS[day.weekday()]
        sessions = sorted(
            (s.start, s.end)
            for days in site.opening_hours
            if weekday in days.days
            for s in days.sessions
        )
        for start, end in sessions:
            begin = datetime.combine(day, start, tzinfo=tz)
            finish = datetime.combine(day, end, tzinfo=tz)
            if begin <= local < finish:
                return at
            if begin > local:
                return begin
    return None


def keep(keep_if: str, alert: Alert | None, notified: bool | None) -> tuple[bool | None, str]:
    """Is a planned message still wanted now? (True, ''), (False, why) or (None, '') to wait.

    ``alert``: the alert as the store has it now; ``notified``: whether a message about
    it was sent on this channel (None: one is still queued there).
    """
    if keep_if == ALWAYS:
        return True, ""
    if alert is None:
        return False, "the alert is no longer in the store"
    if keep_if == UNACKNOWLEDGED and alert.state is not AlertState.ACTIVE:
        by = alert.acknowledged_by or alert.resolved_by or "the engine"
        return False, f"{alert.state.value} by {by} before this step was due"
    if keep_if == UNRESOLVED and alert.state is AlertState.RESOLVED:
        return False, "resolved during quiet hours, before the site opened"
    if keep_if == NOTIFIED:
        if notified is None:
            return None, ""
        if not notified:
            return False, "nothing about this alert was sent on this channel"
    return True, ""
