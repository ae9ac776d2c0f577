"""Shared values for the notification unit tests: a small site and alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.live import Alert, AlertState, Severity
from gateway.notify.config import NotificationSettings
from gateway.notify.routing import SiteFacts
from gateway.notify.texts import SiteNames
from gateway.settings import SiteConfig

# Tuesday 2026-12-01 09:00 in Ho Chi Minh City (UTC+7): the center is open.
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

SITE = SiteConfig.model_validate(
    {
        "id": "hcc",
        "name": "TTHCC tỉnh",
        "timezone": "Asia/Ho_Chi_Minh",
        "opening_hours": [
            {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "sessions": [
                    {"start": "07:30", "end": "11:30"},
                    {"start": "13:30", "end": "17:00"},
                ],
            },
            {"days": ["sat"], "sessions": [{"start": "07:30", "end": "11:30"}]},
        ],
    }
)
FACTS = SiteFacts(SITE, {"f2-waiting": "f2", "f1-hall": "f1", "f2-counters": "f2"})
NAMES = SiteNames(
    site="TTHCC tỉnh",
    timezone="Asia/Ho_Chi_Minh",
    zones={"f2-waiting": ("Khu chờ (118 ghế)", "Tầng 2"), "f1-hall": ("Sảnh", "Tầng 1")},
    services={"land": "Đất đai"},
)


def local(day: int, hh: int, mm: int = 0) -> datetime:
    """A December 2026 site-local time as UTC (day 1 is a Tuesday)."""
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC) - timedelta(hours=7)


def alert(
    rule: str = "crowd_level",
    subject: str = "f2-waiting",
    severity: Severity = Severity.WARNING,
    *,
    at: datetime = T0,
    zone: str | None = "f2-waiting",
    n: int = 1,
    state: AlertState = AlertState.ACTIVE,
    message: str = "Khu chờ (118 ghế): mật độ đông (150 người)",
    value: float | None = 150,
    threshold: float | None = 144,
    notifications: int = 1,
) -> Alert:
    return Alert(
        id=f"{rule}:{subject}:{n}",
        rule=rule,
        severity=severity,
        state=state,
        zone_id=zone,
        device_id=None,
        message=message,
        value=value,
        threshold=threshold,
        raised_at=at,
        updated_at=at,
        subject=subject,
        notifications=notifications,
    )


def notifications(**extra: object) -> NotificationSettings:
    base: dict[str, object] = {
        "channels": [
            {"id": "mail-sup", "type": "apprise", "url": "mailto://127.0.0.1:25?to=a@b.vn"},
            {
                "id": "zalo-lead",
                "type": "http",
                "url": "https://openapi.zalo.me/v3.0/oa/message/cs",
                "json_body": {"message": {"text": "{text}"}},
            },
            {
                "id": "sms-manager",
                "type": "http",
                "url": "http://sms.example.vn/send",
                "recipients": ["0901234567"],
                "form_body": {"phone": "{recipient}", "content": "{text}"},
            },
            {"id": "mail-facility", "type": "apprise", "url": "mailto://127.0.0.1:25?to=f@b.vn"},
        ],
        "roles": {
            "supervisor": ["mail-sup"],
            "shift_lead": ["zalo-lead"],
            "manager": ["sms-manager"],
            "facility": ["mail-facility"],
        },
        "routes": [
            {
                "name": "crowd",
                "match": {"rules": ["crowd_level", "capacity", "waiting_time"]},
                "escalation": [
                    {"after_min": 0, "notify": ["supervisor"]},
                    {"after_min": 10, "notify": ["shift_lead"]},
                    {"after_min": 30, "notify": ["manager"]},
                ],
            },
            {"name": "climate", "match": {"rules": ["co2_high"]}, "notify": ["facility"]},
        ],
    }
    base.update(extra)
    return NotificationSettings.model_validate(base)
