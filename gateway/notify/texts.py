"""What a notification says, in Vietnamese (default) or English. Pure module.

A message has a title (e-mail subject, chat title) and a body; ``text`` is
both on one line set for channels without a title (SMS, Zalo). Each alert
names its zone and floor, or its service group, as the site file names them,
with times on the site's clock and Vietnamese figures (``gateway.vi_text``).
The English alert sentence is made from the rule, value and threshold, as the
English dashboards do; the Vietnamese one is the alert's own message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.live import Alert
from gateway.vi_text import number

# Kinds of notification: the first message, a worse severity, the engine's reminder,
# a later escalation step, the resolution, and `floorwatch notify test`.
KINDS = ("raised", "worsened", "reminder", "escalated", "resolved", "test")


@dataclass(frozen=True, slots=True)
class SiteNames:
    """Names as the site file gives them, for the messages."""

    site: str
    timezone: str = "Asia/Ho_Chi_Minh"
    zones: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # id -> (zone, floor)
    services: Mapping[str, str] = field(default_factory=dict)  # id -> service group name


@dataclass(frozen=True, slots=True)
class Item:
    """One alert transition in a message."""

    alert: Alert
    kind: str
    at: datetime
    step_after_min: float = 0.0


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str

    @property
    def text(self) -> str:
        """Title and body on one line set, for SMS and chat messages without a title."""
        return f"{self.title}\n{self.body}"


_SEVERITY = {
    "vi": {"critical": "KHẨN CẤP", "warning": "CẢNH BÁO", "info": "THÔNG TIN"},
    "en": {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"},
}
_WORDS = {
    "vi": {
        "resolved": "ĐÃ HẾT",
        "worsened": "mức độ tăng",
        "reminder": "nhắc lại, chưa ai xác nhận",
        "escalated": "chưa ai xác nhận sau {m} phút",
        "floor": "tầng",
        "service": "Nhóm dịch vụ",
        "zone": "Khu vực",
        "since": "từ {t}",
        "ended": "đã hết lúc {t}, kéo dài {d} phút",
        "by": "người xử lý: {who}",
        "note": "ghi chú: {note}",
        "id": "Mã",
        "digest": "{n} cảnh báo",
        "test_title": "[THỬ] floorwatch – {site}",
        "test_body": "Tin nhắn thử của kênh {channel}, gửi lúc {t}. Kênh này nhận được cảnh báo.",
    },
    "en": {
        "resolved": "RESOLVED",
        "worsened": "severity rose",
        "reminder": "reminder, not acknowledged",
        "escalated": "not acknowledged after {m} min",
        "floor": "floor",
        "service": "Service group",
        "zone": "Zone",
        "since": "since {t}",
        "ended": "ended {t}, lasted {d} min",
        "by": "by {who}",
        "note": "note: {note}",
        "id": "Id",
        "digest": "{n} alerts",
        "test_title": "[TEST] floorwatch – {site}",
        "test_body": "Test message of channel {channel}, sent at {t}. This channel receives alerts.",
    },
}
_RULES_EN = {
    "crowd_level": "crowd level {severity}: {value} people (alert from {threshold})",
    "capacity": "over capacity: {value} people (capacity {threshold})",
    "waiting_time": "expected wait {value_min} min (target {threshold_min} min)",
    "temperature_high": "temperature high: {value} °C (band up to {threshold})",
    "temperature_low": "temperature low: {value} °C (band from {threshold})",
    "humidity_high": "humidity high: {value} % (band up to {threshold})",
    "humidity_low": "humidity low: {value} % (band from {threshold})",
    "co2_high": "CO2 high: {value} ppm (limit {threshold})",
    "camera_offline": "camera {subject} offline",
    "camera_degraded": "camera {subject} degraded (snapshots only)",
    "camera_stalled": "camera {subject} stalled",
    "camera_tampered": "camera {subject} tampered (covered, turned or dazzled)",
    "sensor_stale": "sensor {subject} sends no data",
    "battery_low": "sensor {subject} battery low ({value} %)",
    "spool_backlog": "InfluxDB unreachable: spool {value} % full",
}


def _figure(value: float, lang: str) -> str:
    """Whole figures: ``1.505`` in Vietnamese, ``1,505`` in English."""
    return number(value) if lang == "vi" else f"{value:,.0f}"


def _local(at: datetime, names: SiteNames) -> datetime:
    return at.astimezone(ZoneInfo(names.timezone))


def _hhmm(at: datetime, names: SiteNames) -> str:
    return f"{_local(at, names):%H:%M}"


def where(alert: Alert, names: SiteNames, lang: str) -> str:
    """``Khu chờ (tầng 2)`` for a zone, ``Nhóm dịch vụ Đất đai`` for a service group, or ''."""
    w = _WORDS[lang]
    if alert.zone_id is not None and alert.zone_id in names.zones:
        zone, floor = names.zones[alert.zone_id]
        return f"{zone} ({floor})" if floor else zone
    subject = alert.subject or ""
    if alert.rule == "waiting_time" and subject in names.services:
        return f"{w['service']} {names.services[subject]}"
    return ""


def sentence(alert: Alert, lang: str) -> str:
    """The alert itself: its Vietnamese message, or an English sentence from its figures."""
    if lang == "vi":
        return alert.message
    template = _RULES_EN.get(alert.rule)
    if template is None:
        return f"{alert.rule} {alert.subject or ''}".strip()

    def fig(v: float | None, scale: float = 1.0) -> str:
        return "?" if v is None else f"{v / scale:,.1f}".removesuffix(".0")

    return template.format(
        severity=alert.severity.value,
        value=fig(alert.value),
        threshold=fig(alert.threshold),
        value_min=fig(alert.value, 60),
        threshold_min=fig(alert.threshold, 60),
        subject=alert.subject or alert.device_id or "",
    )


def _status(item: Item, names: SiteNames, lang: str) -> str:
    w = _WORDS[lang]
    a = item.alert
    if item.kind == "resolved":
        end = a.resolved_at or item.at
        minutes = max(0.0, (end - a.raised_at).total_seconds() / 60)
        parts = [w["ended"].format(t=_hhmm(end, names), d=_figure(minutes, lang))]
        if a.resolved_by:
            parts.append(w["by"].format(who=a.resolved_by))
        elif a.acknowledged_by:
            parts.append(w["by"].format(who=a.acknowledged_by))
        if a.note:
            parts.append(w["note"].format(note=a.note))
        return "; ".join(parts)
    parts = [w["since"].format(t=_hhmm(a.raised_at, names))]
    if item.kind == "worsened":
        parts.append(w["worsened"])
    elif item.kind == "reminder":
        parts.append(w["reminder"])
    elif item.kind == "escalated":
        parts.append(w["escalated"].format(m=_figure(item.step_after_min, lang)))
    return ", ".join(parts)


def _tag(item: Item, lang: str) -> str:
    if item.kind == "resolved":
        return _WORDS[lang]["resolved"]
    return _SEVERITY[lang][item.alert.severity.value]


def _line(item: Item, names: SiteNames, lang: str) -> str:
    place = where(item.alert, names, lang)
    head = f"[{_tag(item, lang)}] " + (f"{place}: " if place else "")
    return f"{head}{sentence(item.alert, lang)} ({_status(item, names, lang)})"


def render(items: Sequence[Item], names: SiteNames, lang: str) -> Rendered:
    """One message for one or more alert transitions (a zone's group or a digest)."""
    if not items:
        raise ValueError("nothing to render")
    lang = lang if lang in _WORDS else "vi"
    w = _WORDS[lang]
    ordered = sorted(items, key=_order)
    if len(ordered) == 1:
        item = ordered[0]
        place = where(item.alert, names, lang)
        title = f"[{_tag(item, lang)}] {place or sentence(item.alert, lang)} – {names.site}"
        lines = [
            f"{sentence(item.alert, lang)} ({_status(item, names, lang)})",
            *([f"{w['zone']}: {place}"] if place else []),
            f"{w['id']}: {item.alert.id}",
        ]
        return Rendered(title, "\n".join(lines))
    worst = _tag(ordered[0], lang)
    places = {where(i.alert, names, lang) for i in ordered}
    place = places.pop() if len(places) == 1 else ""
    count = w["digest"].format(n=len(ordered))
    title = f"[{worst}] {place + ': ' if place else ''}{count} – {names.site}"
    return Rendered(title, "\n".join(_line(i, names, lang) for i in ordered))


def render_test(channel: str, names: SiteNames, lang: str, at: datetime) -> Rendered:
    w = _WORDS[lang if lang in _WORDS else "vi"]
    local = _local(at, names)
    return Rendered(
        w["test_title"].format(site=names.site),
        w["test_body"].format(channel=channel, t=f"{local:%H:%M:%S %d/%m/%Y}"),
    )


_RANK = {"critical": 0, "warning": 1, "info": 2}


def _order(item: Item) -> tuple[int, int, datetime]:
    """Open alerts before resolutions, worst first, then oldest first."""
    return (item.kind == "resolved", _RANK[item.alert.severity.value], item.at)
