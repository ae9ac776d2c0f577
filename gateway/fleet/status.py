"""What ``floorwatch fleet status`` reports, from what JetStream said. Pure module.

The shell (gateway/fleet/cli.py) reads a stream's info, the last message of
each of its subjects and its consumers; this module turns those facts into
per-site rows (last seen, age, silent or not, messages per kind, the
latest heartbeat, the center's own certificates as it last reported them),
the consumers' lag, text lines and a JSON document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from gateway.fleet.messages import FleetKind, FleetSubjects
from gateway.fleet.site_certs import SiteCertCheck, SiteCertificate, checks


@dataclass(frozen=True, slots=True)
class SubjectSeen:
    """One subject of the stream: how many messages it holds and when the last was stored."""

    subject: str
    messages: int
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConsumerLag:
    name: str
    pending: int  # stored, not yet delivered
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int


@dataclass(frozen=True, slots=True)
class StreamFacts:
    stream: str
    subjects: Sequence[str]  # the stream's configured subjects
    messages: int
    bytes: int
    first_seq: int
    last_seq: int
    duplicate_window_s: float | None
    seen: Sequence[SubjectSeen]
    consumers: Sequence[ConsumerLag]
    # From the central workers' key-value bucket (fleet run), when there is one:
    # per "<province>.<site>", the time of the latest record the central store holds.
    stored: Mapping[str, datetime] = field(default_factory=dict)
    # From the same bucket: per site, when it last reported its own certificates, and them.
    certificates: Mapping[str, tuple[datetime, tuple[SiteCertificate, ...]]] = field(
        default_factory=dict
    )
    # With central partitions (nats.partitions > 1): each partition stream's own facts;
    # the fields above are then their sums (messages, bytes), union (seen, consumers)
    # and the first partition's (name, subjects, sequences, window).
    partitions: Sequence[StreamFacts] = ()


def merge_partitions(parts: Sequence[StreamFacts]) -> StreamFacts:
    """One view of a central stream in partitions (``parts`` in partition order)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return replace(
        first,
        messages=sum(p.messages for p in parts),
        bytes=sum(p.bytes for p in parts),
        seen=[s for p in parts for s in p.seen],
        consumers=[replace(c, name=f"{p.stream}/{c.name}") for p in parts for c in p.consumers],
        partitions=tuple(parts),
    )


@dataclass(frozen=True, slots=True)
class SiteRow:
    province: str
    site: str
    last_seen: datetime | None
    age_s: float | None
    silent: bool
    messages: dict[str, int]  # per kind
    stored_until: datetime | None = None  # the central store's latest record of the site
    heartbeat_at: datetime | None = None  # when JetStream stored its latest heartbeat
    certificates: tuple[SiteCertCheck, ...] = ()  # the center's own, judged at `now`
    certificates_at: datetime | None = None  # the heartbeat that reported them


def site_rows(
    facts: StreamFacts,
    prefix: str,
    now: datetime,
    silent_after_s: float,
    cert_warn_days: float = 30.0,
) -> list[SiteRow]:
    """One row per (province, site) with fleet subjects in the stream, silent ones first;
    a center's certificates judged against ``cert_warn_days``."""
    parser = FleetSubjects(prefix, "p", "s")
    sites: dict[tuple[str, str], tuple[datetime | None, dict[str, int]]] = {}
    beats: dict[tuple[str, str], datetime | None] = {}
    for seen in facts.seen:
        parsed = parser.parse(seen.subject)
        if parsed is None:
            continue
        province, site, kind = parsed
        if kind is FleetKind.HEARTBEAT:
            beats[(province, site)] = seen.last_at
        last, counts = sites.get((province, site), (None, {}))
        counts = {**counts, kind.value: counts.get(kind.value, 0) + seen.messages}
        if seen.last_at is not None and (last is None or seen.last_at > last):
            last = seen.last_at
        sites[(province, site)] = (last, counts)
    rows = []
    for (province, site), (last, counts) in sites.items():
        age = (now - last).total_seconds() if last is not None else None
        silent = age is None or age > silent_after_s
        ordered: dict[str, int] = {
            str(k.value): counts[k.value] for k in FleetKind if k.value in counts
        }
        stored = facts.stored.get(f"{province}.{site}")
        beat = beats.get((province, site))
        certs_at, certs = facts.certificates.get(f"{province}.{site}", (None, ()))
        judged = checks(certs, now, cert_warn_days)
        rows.append(
            SiteRow(province, site, last, age, silent, ordered, stored, beat, judged, certs_at)
        )
    rows.sort(key=lambda r: (not r.silent, -(r.age_s or 0.0), r.province, r.site))
    return rows


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    s = max(0, round(seconds))
    if s < 120:
        return f"{s} s ago"
    if s < 7200:
        return f"{s // 60} min ago"
    if s < 2 * 86400:
        return f"{s // 3600} h ago"
    return f"{s // 86400} d ago"


def status_lines(rows: Sequence[SiteRow], facts: StreamFacts, silent_after_s: float) -> list[str]:
    window = (
        f", duplicate window {facts.duplicate_window_s:g} s"
        if facts.duplicate_window_s is not None
        else ""
    )
    lines = [
        f"stream {f.stream} ({', '.join(f.subjects)}): {f.messages} messages,"
        f" {f.bytes} bytes, seq {f.first_seq}..{f.last_seq}{window}"
        for f in (facts.partitions or [facts])
    ]
    silent = sum(r.silent for r in rows)
    lines.append(
        f"sites: {len(rows)}, silent for more than {silent_after_s:g} s: {silent}"
        if rows
        else "sites: none has published to this stream yet"
    )
    for r in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in r.messages.items())
        mark = "SILENT" if r.silent else "ok"
        last = r.last_seen.isoformat(timespec="seconds") if r.last_seen else "-"
        until = (
            f"  stored until {r.stored_until.isoformat(timespec='seconds')}"
            if r.stored_until
            else ""
        )
        beat = (
            f"  heartbeat {r.heartbeat_at.isoformat(timespec='seconds')}" if r.heartbeat_at else ""
        )
        lines.append(
            f"  {mark:<6} {r.province}.{r.site:<32} {_age(r.age_s):>12}  {last}  {kinds}{until}"
            f"{beat}"
        )
        reported = (
            f"  (reported {r.certificates_at.isoformat(timespec='seconds')})"
            if r.certificates_at
            else ""
        )
        lines.extend(f"         {c.line()}{reported}" for c in r.certificates)
    if facts.consumers:
        lines.append("consumers:")
        lines.extend(
            f"  {c.name:<32} pending {c.pending}, unacknowledged {c.ack_pending},"
            f" redelivered {c.redelivered}"
            for c in facts.consumers
        )
    else:
        lines.append("consumers: none")
    return lines


def status_document(
    rows: Sequence[SiteRow], facts: StreamFacts, silent_after_s: float
) -> dict[str, Any]:
    return {
        "stream": {
            "name": facts.stream,
            "subjects": list(facts.subjects),
            "messages": facts.messages,
            "bytes": facts.bytes,
            "first_seq": facts.first_seq,
            "last_seq": facts.last_seq,
            "duplicate_window_s": facts.duplicate_window_s,
        },
        "partitions": [
            {"name": p.stream, "messages": p.messages, "bytes": p.bytes, "last_seq": p.last_seq}
            for p in facts.partitions
        ],
        "silent_after_s": silent_after_s,
        "sites": [
            {
                "province": r.province,
                "site": r.site,
                "last_seen": r.last_seen.isoformat() if r.last_seen else None,
                "age_s": r.age_s,
                "silent": r.silent,
                "messages": r.messages,
                "stored_until": r.stored_until.isoformat() if r.stored_until else None,
                "heartbeat_at": r.heartbeat_at.isoformat() if r.heartbeat_at else None,
                "certificates": [c.document() for c in r.certificates],
                "certificates_at": r.certificates_at.isoformat() if r.certificates_at else None,
            }
            for r in rows
        ],
        "consumers": [
            {
                "name": c.name,
                "pending": c.pending,
                "ack_pending": c.ack_pending,
                "redelivered": c.redelivered,
            }
            for c in facts.consumers
        ],
    }
