"""The alert lifecycle. Pure module: conditions in, transitions out.

Rules (``gateway.alert_rules``) look at the floor picture and name what is wrong now:
a ``Condition`` per rule and subject (zone, device, service, spool). The
``AlertBook`` turns the stream of condition sets into alert transitions:

- a condition must hold for its ``dwell_s`` before its alert is raised;
- while an alert is active (or acknowledged) the same rule and subject never
  raise another one (deduplicated); a rise in severity re-notifies it;
- an alert resolves itself once its condition has been gone for ``clear_s``;
- an operator can acknowledge (active -> acknowledged) or resolve it; an alert
  resolved by hand while its condition still holds is not raised again until
  the condition has cleared once (no instant re-raise);
- an unacknowledged alert is re-notified every ``renotify_s`` and escalated
  (severity up one step, once) after ``escalate_s``.

Alert ids are ``<rule>:<subject>:<n>`` where n counts the raises of that rule
and subject: stable while the alert lives, new after a resolve.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gateway.live import (
    Alert,
    AlertNotFound,
    AlertState,
    AlertTransitionError,
    Severity,
)

RESOLVED_KEPT = 1000
_SEVERITY_UP = {
    Severity.INFO: Severity.WARNING,
    Severity.WARNING: Severity.CRITICAL,
    Severity.CRITICAL: Severity.CRITICAL,
}
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class Condition:
    """Something wrong right now, as one rule sees it."""

    rule: str
    subject: str
    severity: Severity
    message: str
    value: float | None = None
    threshold: float | None = None
    zone_id: str | None = None
    device_id: str | None = None
    dwell_s: float = 0.0

    @property
    def key(self) -> str:
        return alert_key(self.rule, self.subject)


_UNSAFE = str.maketrans({"/": "_", "+": "_", "#": "_", ":": "_", " ": "_"})


def alert_key(rule: str, subject: str) -> str:
    """``rule:subject``, the subject made safe for one MQTT topic level (``cam-1/onvif``)."""
    return f"{rule}:{subject.translate(_UNSAFE)}"


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of an alert's lifecycle, with the alert as it is after it."""

    alert: Alert
    kind: str  # "raised", "renotified", "acknowledged", "resolved"
    at: datetime
    by: str | None = None
    note: str | None = None


# --------------------------------------------------------------------------- lifecycle


class AlertBook:
    """Active alerts and their lifecycle. Restore with ``alerts`` and ``raises``."""

    def __init__(
        self,
        *,
        renotify_s: float,
        escalate_s: float | None,
        clear_s: float,
        alerts: Iterable[Alert] = (),
        raises: Mapping[str, int] | None = None,
    ) -> None:
        self._renotify_s = renotify_s
        self._escalate_s = escalate_s
        self._clear_s = clear_s
        self.active: dict[str, Alert] = {}
        self._key_of: dict[str, str] = {}
        self._raises: dict[str, int] = dict(raises or {})
        self._pending: dict[str, datetime] = {}
        self._clear_since: dict[str, datetime] = {}
        self._latched: set[str] = set()
        self._violating: set[str] = set()
        self.resolved: OrderedDict[str, Alert] = OrderedDict()
        for a in alerts:
            key = _key(a)
            if a.state is AlertState.RESOLVED:
                self._remember_resolved(a)
                continue
            self.active[key] = a
            self._key_of[a.id] = key
            n = _raise_number(a.id)
            self._raises[key] = max(self._raises.get(key, 0), n)

    @property
    def raises(self) -> dict[str, int]:
        return dict(self._raises)

    def get(self, alert_id: str) -> Alert:
        key = self._key_of.get(alert_id)
        if key is not None:
            return self.active[key]
        if alert_id in self.resolved:
            return self.resolved[alert_id]
        raise AlertNotFound(alert_id)

    def evaluate(
        self,
        now: datetime,
        conditions: Iterable[Condition],
        unknown: Collection[str] = (),
    ) -> list[Transition]:
        """Transitions at ``now`` for the conditions that hold now.

        ``unknown``: keys (``rule:subject``) the rules cannot judge right now
        (no fresh data, e.g. just after a restart): their alerts neither clear
        nor raise; they keep what they were.
        """
        current: dict[str, Condition] = {}
        for c in conditions:
            current.setdefault(c.key, c)
        self._violating = set(current)
        self._latched &= self._violating
        for key in [k for k in self._pending if k not in current]:
            del self._pending[key]
        out: list[Transition] = []
        for key, c in current.items():
            if key in self.active:
                self._clear_since.pop(key, None)
                out.extend(self._worsen(key, c, now))
            elif key not in self._latched:
                since = self._pending.setdefault(key, now)
                if (now - since).total_seconds() >= c.dwell_s:
                    out.append(self._raise(key, c, now))
        for key in [k for k in self.active if k not in current]:
            if key in unknown:
                self._clear_since.pop(key, None)
                continue
            since = self._clear_since.setdefault(key, now)
            if (now - since).total_seconds() >= self._clear_s:
                out.append(self._close(key, now, None, None))
        out.extend(self._reminders(now))
        return out

    def acknowledge(self, alert_id: str, *, by: str, note: str | None, now: datetime) -> Transition:
        alert = self.get(alert_id)
        if alert.state is not AlertState.ACTIVE:
            raise AlertTransitionError(f"alert {alert_id} is {alert.state.value}")
        key = self._key_of[alert_id]
        new = dataclasses.replace(
            alert,
            state=AlertState.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=by,
            note=note if note is not None else alert.note,
            updated_at=now,
        )
        self.active[key] = new
        return Transition(new, "acknowledged", now, by, note)

    def resolve(self, alert_id: str, *, by: str, note: str | None, now: datetime) -> Transition:
        alert = self.get(alert_id)
        if alert.state is AlertState.RESOLVED:
            raise AlertTransitionError(f"alert {alert_id} is already resolved")
        key = self._key_of[alert_id]
        if key in self._violating:
            self._latched.add(key)
        return self._close(key, now, by, note)

    # ------------------------------------------------------------------ internals

    def _raise(self, key: str, c: Condition, now: datetime) -> Transition:
        self._pending.pop(key, None)
        n = self._raises.get(key, 0) + 1
        self._raises[key] = n
        alert = Alert(
            id=f"{key}:{n}",
            rule=c.rule,
            severity=c.severity,
            state=AlertState.ACTIVE,
            zone_id=c.zone_id,
            device_id=c.device_id,
            message=c.message,
            value=c.value,
            threshold=c.threshold,
            raised_at=now,
            updated_at=now,
            subject=c.subject,
        )
        self.active[key] = alert
        self._key_of[alert.id] = key
        return Transition(alert, "raised", now)

    def _worsen(self, key: str, c: Condition, now: datetime) -> list[Transition]:
        alert = self.active[key]
        if _SEVERITY_RANK[c.severity] <= _SEVERITY_RANK[alert.severity]:
            return []
        new = dataclasses.replace(
            alert,
            severity=c.severity,
            message=c.message,
            value=c.value,
            threshold=c.threshold,
            updated_at=now,
            notifications=alert.notifications + 1,
        )
        self.active[key] = new
        return [Transition(new, "renotified", now)]

    def _close(self, key: str, now: datetime, by: str | None, note: str | None) -> Transition:
        alert = self.active.pop(key)
        del self._key_of[alert.id]
        self._clear_since.pop(key, None)
        new = dataclasses.replace(
            alert,
            state=AlertState.RESOLVED,
            resolved_at=now,
            resolved_by=by,
            note=note if note is not None else alert.note,
            updated_at=now,
        )
        self._remember_resolved(new)
        return Transition(new, "resolved", now, by, note)

    def _remember_resolved(self, alert: Alert) -> None:
        self.resolved[alert.id] = alert
        while len(self.resolved) > RESOLVED_KEPT:
            self.resolved.popitem(last=False)

    def _reminders(self, now: datetime) -> list[Transition]:
        out = []
        for key, alert in list(self.active.items()):
            if alert.state is not AlertState.ACTIVE:
                continue
            age = (now - alert.raised_at).total_seconds()
            escalate = (
                self._escalate_s is not None and not alert.escalated and age >= self._escalate_s
            )
            quiet = (now - alert.updated_at).total_seconds()
            if not escalate and quiet < self._renotify_s:
                continue
            new = dataclasses.replace(
                alert,
                severity=_SEVERITY_UP[alert.severity] if escalate else alert.severity,
                escalated=alert.escalated or escalate,
                updated_at=now,
                notifications=alert.notifications + 1,
            )
            self.active[key] = new
            out.append(Transition(new, "renotified", now))
        return out


def _key(alert: Alert) -> str:
    rule, _, rest = alert.id.partition(":")
    subject = rest.rpartition(":")[0]
    return f"{rule}:{subject}"


def _raise_number(alert_id: str) -> int:
    tail = alert_id.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0
