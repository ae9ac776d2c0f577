"""A center's own certificates, as its gateway reports them to the province. Pure module.

A center holds certificates the province cannot see from its side: the client
certificate its leaf presents on the link where the nodes verify one (``fleet
config site --client-cert``; the site file names it in ``fleet.link_cert_file``)
and the gateway's own (``fleet.tls_cert_file``, where the server it reaches
verifies clients). When the leaf's expires, the center drops off the link
without a word. So the gateway reads them (the shell:
``gateway.fleet.nats_tls.site_certificates``) and its heartbeat carries, at
start, when they change and at least once per ``REPORT_EVERY``, one entry per
file (its first certificate: the rest of a file is the chain)::

    {"source": "link", "path": "/etc/nats/tls/center.pem",
     "subject": "CN=hue-thuan-hoa", "not_after": "2027-01-15T12:00:00+00:00"}

or, for a file it cannot read, ``{"source", "path", "error"}``. The central side
keeps the latest list in the site's document (gateway.fleet.central);
``fleet status`` and the province page judge it against the clock passed in
(``checks``, ``first_end``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from gateway.fleet.cert_expiry import CertificateError, days_left, level, not_after, subject

#: ``link``: the leaf's client certificate (fleet.link_cert_file); ``uplink``: the
#: gateway's own (fleet.tls_cert_file).
LINK = "link"
UPLINK = "uplink"
#: A heartbeat carries the list at least this often (and at start, and when it changed).
REPORT_EVERY = timedelta(hours=1)
_TEXT_MAX = 512  # a subject, path or reason, as sent and as accepted

SiteLevel = Literal["ok", "warn", "expired", "unreadable"]


@dataclass(frozen=True, slots=True)
class SiteCertificate:
    """One certificate file of a center: its end and subject, or why it could not be read."""

    source: str
    path: str
    subject: str | None = None
    not_after: datetime | None = None
    error: str | None = None

    def entry(self) -> dict[str, str]:
        """The heartbeat's (and the site document's) JSON object."""
        out = {"source": self.source, "path": self.path}
        if self.not_after is not None:
            out["subject"] = self.subject or ""
            out["not_after"] = self.not_after.astimezone(UTC).isoformat()
        else:
            out["error"] = self.error or "unreadable"
        return out


def _cut(text: str) -> str:
    return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 3] + "..."


def from_der(source: str, path: str, der: bytes) -> SiteCertificate:
    """A certificate file's first certificate, read; an error entry if it is not one."""
    try:
        return SiteCertificate(source, _cut(path), _cut(subject(der)), not_after(der))
    except CertificateError as exc:
        return unreadable(source, path, str(exc))


def unreadable(source: str, path: str, reason: str) -> SiteCertificate:
    return SiteCertificate(source, _cut(path), error=_cut(reason or "unreadable"))


def _string(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or len(value) > _TEXT_MAX:
        raise ValueError(f"a certificate entry's {key!r} is not a string")
    return value


def parse(raw: object) -> tuple[SiteCertificate, ...]:
    """The entries of a heartbeat's ``certificates``; ValueError for anything else (keys
    other than these are ignored: a newer gateway may send more)."""
    if not isinstance(raw, list):
        raise ValueError("certificates is not a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("a certificate entry is not an object")
        source, path = _string(item, "source"), _string(item, "path")
        if "not_after" not in item:
            out.append(SiteCertificate(source, path, error=_string(item, "error")))
            continue
        try:
            end = datetime.fromisoformat(_string(item, "not_after"))
        except ValueError:
            raise ValueError("a certificate entry's 'not_after' is not a time") from None
        if end.tzinfo is None:
            raise ValueError("a certificate entry's 'not_after' has no time zone")
        out.append(SiteCertificate(source, path, _string(item, "subject"), end.astimezone(UTC)))
    return tuple(out)


def parse_or_none(raw: object) -> tuple[SiteCertificate, ...] | None:
    """``parse`` for a reader of stored documents: None where there is nothing readable."""
    try:
        return parse(raw)
    except ValueError:
        return None


def report_due(
    current: Sequence[SiteCertificate],
    last: Sequence[SiteCertificate] | None,
    last_at: datetime | None,
    now: datetime,
    every: timedelta = REPORT_EVERY,
) -> bool:
    """Whether this heartbeat carries the list: none sent yet, it changed, or ``every`` passed."""
    if last is None or last_at is None:
        return True
    return tuple(current) != tuple(last) or now - last_at >= every


@dataclass(frozen=True, slots=True)
class SiteCertCheck:
    """One of a center's certificates judged at a time: days left and level."""

    source: str
    path: str
    subject: str | None
    not_after: datetime | None
    days_left: float | None
    level: SiteLevel
    error: str | None = None

    def line(self) -> str:
        name = f"{self.source} {self.subject} ({self.path})" if self.subject else self.path
        if self.not_after is None or self.days_left is None:
            return f"certificate {self.source} ({self.path}): cannot read it ({self.error})"
        until = self.not_after.strftime("%Y-%m-%d %H:%M UTC")
        if self.level == "expired":
            return f"certificate {name}: EXPIRED on {until}"
        mark = "  WARNING: renew it" if self.level == "warn" else ""
        return f"certificate {name}: {self.days_left:.0f} days left (until {until}){mark}"

    def document(self) -> dict[str, object]:
        return {
            "source": self.source,
            "path": self.path,
            "subject": self.subject,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "days_left": round(self.days_left, 2) if self.days_left is not None else None,
            "level": self.level,
            "error": self.error,
        }


def checks(
    certs: Sequence[SiteCertificate], now: datetime, warn_days: float
) -> tuple[SiteCertCheck, ...]:
    """Each certificate's days left at ``now`` and its level against ``warn_days``."""
    out = []
    for c in certs:
        if c.not_after is None:
            out.append(SiteCertCheck(c.source, c.path, None, None, None, "unreadable", c.error))
            continue
        days = days_left(c.not_after, now)
        out.append(
            SiteCertCheck(c.source, c.path, c.subject, c.not_after, days, level(days, warn_days))
        )
    return tuple(out)


def first_end(certs: Sequence[SiteCertificate]) -> datetime | None:
    """The earliest end among the certificates read (None: none read)."""
    ends = [c.not_after for c in certs if c.not_after is not None]
    return min(ends) if ends else None


def days_shown(end: datetime | None, now: datetime, warn_days: float) -> int | None:
    """The page's badge: the days left, rounded up (0 or less: expired), when under
    ``warn_days``; else None (nothing shown)."""
    if end is None:
        return None
    days = days_left(end, now)
    return math.ceil(days) if level(days, warn_days) != "ok" else None


def reported(state: object) -> tuple[datetime, tuple[SiteCertificate, ...]] | None:
    """From a ``fleet_sites`` document: when the center last reported its certificates
    and what it reported; None where it never did (an older gateway) or unreadable."""
    if not isinstance(state, Mapping):
        return None
    doc = state.get("certificates")
    if not isinstance(doc, Mapping) or not isinstance(doc.get("at"), str):
        return None
    try:
        at = datetime.fromisoformat(doc["at"])
    except ValueError:
        return None
    certs = parse_or_none(doc.get("list"))
    return (at, certs) if certs is not None and at.tzinfo is not None else None
