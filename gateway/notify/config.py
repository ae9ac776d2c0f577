"""The site file's ``notifications:`` section. Pure module (pydantic models).

Channels (Apprise URLs or templated HTTP calls), who holds which role, and the
routes that send alert transitions to roles and channels, with escalation steps.
Secrets are ``token``, ``password`` or ``secret`` keys given as ``{env: NAME}``
or ``{file: PATH}`` (the loader resolves them) and are placed into a channel's
URL, headers or body with ``{token}``, ``{password}``, ``{secret}``.

This module imports nothing of the project, so ``gateway.settings`` can compose it.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, SecretStr, model_validator

_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
NotifyIdent = Annotated[str, Field(pattern=_ID, description="lower-case id: a-z, 0-9, '-', '_'")]
SeverityName = Literal["info", "warning", "critical"]
Language = Literal["vi", "en"]

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# What a template may name: the message, the alert, the delivery, and the channel's secrets.
PLACEHOLDERS = frozenset(
    {
        *("title", "body", "text", "severity", "kind", "alert_ids", "zone", "site"),
        *("idempotency_key", "recipient", "token", "password", "secret"),
    }
)
SECRET_PLACEHOLDERS = frozenset({"token", "password", "secret"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def placeholders_in(value: JsonValue) -> set[str]:
    """Every ``{name}`` in the strings of a JSON-like value (keys included)."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return {p for v in value for p in placeholders_in(v)}
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in placeholders_in(k) | placeholders_in(v)}
    return set()


def _check_placeholders(where: str, value: JsonValue) -> None:
    unknown = placeholders_in(value) - PLACEHOLDERS
    if unknown:
        raise ValueError(
            f"{where}: unknown placeholder(s) {', '.join(sorted(unknown))}"
            f" (known: {', '.join(sorted(PLACEHOLDERS))})"
        )


class _ChannelBase(_Model):
    id: NotifyIdent
    name: str | None = Field(None, description="as `floorwatch notify` and the API show it")
    token: SecretStr | None = Field(None, description="by reference: {env: NAME} or {file: PATH}")
    password: SecretStr | None = Field(None, description="by reference, used as {password}")
    secret: SecretStr | None = Field(None, description="by reference, used as {secret}")
    timeout_s: float = Field(15, gt=0, le=300, description="give up one delivery attempt after")
    language: Language | None = Field(None, description="vi or en; default: notifications.language")

    def secrets(self) -> dict[str, str]:
        found = {"token": self.token, "password": self.password, "secret": self.secret}
        return {k: v.get_secret_value() for k, v in found.items() if v is not None}


class AppriseChannel(_ChannelBase):
    """Anything Apprise speaks: mailto(s)://, tgram://, ntfy(s)://, gotify(s)://, slack://, ..."""

    type: Literal["apprise"]
    url: str = Field(
        min_length=3,
        description="Apprise URL; put secrets in as {token}/{password}/{secret}",
    )

    @model_validator(mode="after")
    def _url(self) -> AppriseChannel:
        if "://" not in self.url:
            raise ValueError(f"url {self.url!r} is not an Apprise URL (scheme://...)")
        _check_placeholders("url", self.url)
        return self


class ResponseCheck(_Model):
    """When a 2xx answer can still be a refusal (Zalo answers 200 with ``error: -216``)."""

    field: str = Field(min_length=1, description="dotted path into the JSON answer, e.g. error")
    ok: list[str | int | float | bool] = Field(
        min_length=1, description="values meaning success, e.g. [0] or ['100']"
    )


class HttpChannel(_ChannelBase):
    """One HTTP call per message (per recipient): Zalo OA, an SMS gateway, a webhook."""

    type: Literal["http"]
    method: Literal["POST", "PUT", "GET"] = "POST"
    url: str = Field(pattern=r"^https?://", description="may name placeholders, e.g. {recipient}")
    headers: dict[str, str] = Field(default_factory=dict, description="templates")
    json_body: JsonValue = Field(None, description="a JSON body whose strings are templates")
    form_body: dict[str, str] | None = Field(None, description="a form body (templates)")
    recipients: list[str] = Field(
        default_factory=list,
        description="one call per recipient, as {recipient} (phone numbers, Zalo user ids)",
    )
    idempotency_header: str | None = Field(
        "Idempotency-Key", description="header carrying the message's key (null: none)"
    )
    success: ResponseCheck | None = None
    max_chars: int | None = Field(
        None, ge=20, description="cut {text} and {body} to this length (SMS)"
    )

    @model_validator(mode="after")
    def _templates(self) -> HttpChannel:
        if self.json_body is not None and self.form_body is not None:
            raise ValueError("give json_body or form_body, not both")
        if self.method == "GET" and (self.json_body is not None or self.form_body is not None):
            raise ValueError("a GET call has no body: put the placeholders in the url")
        _check_placeholders("url", self.url)
        _check_placeholders("headers", dict(self.headers))
        _check_placeholders("json_body", self.json_body)
        _check_placeholders("form_body", dict(self.form_body or {}))
        used = placeholders_in(
            [self.url, dict(self.headers), self.json_body, dict(self.form_body or {})]
        )
        if "recipient" in used and not self.recipients:
            raise ValueError("the templates use {recipient}: list the recipients")
        if self.recipients and "recipient" not in used:
            raise ValueError("recipients are listed but no template uses {recipient}")
        return self


Channel = Annotated[AppriseChannel | HttpChannel, Field(discriminator="type")]


class RouteMatch(_Model):
    """Which alerts a route takes; a missing key matches everything."""

    rules: list[str] | None = Field(None, description="alert rules, e.g. [crowd_level, capacity]")
    min_severity: SeverityName | None = Field(None, description="info, warning or critical")
    zones: list[NotifyIdent] | None = None
    floors: list[NotifyIdent] | None = None
    services: list[NotifyIdent] | None = Field(None, description="service groups (waiting_time)")


class EscalationStep(_Model):
    after_min: float = Field(0, ge=0, description="minutes after the raise, if unacknowledged")
    notify: list[NotifyIdent] = Field(min_length=1, description="roles or channel ids")


class Route(_Model):
    name: str | None = None
    match: RouteMatch = RouteMatch()
    notify: list[NotifyIdent] | None = Field(None, description="roles or channels (one step)")
    escalation: list[EscalationStep] | None = Field(
        None, description="steps; the later ones only while the alert is unacknowledged"
    )
    resolved: bool = Field(True, description="say when the alert is resolved")
    reminders: bool = Field(False, description="also send the engine's periodic re-notifications")
    quiet_hours: bool = Field(
        True, description="hold non-critical messages outside opening hours until opening"
    )

    @model_validator(mode="after")
    def _one_of(self) -> Route:
        if (self.notify is None) == (self.escalation is None):
            raise ValueError("give exactly one of 'notify' or 'escalation'")
        if self.escalation is not None:
            times = [s.after_min for s in self.escalation]
            if not times or times[0] != 0 or times != sorted(times):
                raise ValueError("escalation steps start at after_min 0 and go up")
        return self

    def steps(self) -> list[EscalationStep]:
        if self.escalation is not None:
            return list(self.escalation)
        return [EscalationStep(after_min=0, notify=list(self.notify or []))]


class ReportDelivery(_Model):
    """The manager's reports sent by the gateway itself (docs/report.md "Sent by the gateway")."""

    notify: list[NotifyIdent] = Field(
        min_length=1, description="roles or channel ids, e.g. [manager]"
    )
    daily: bool = Field(True, description="each open day's report, after closing")
    weekly: bool = Field(True, description="the last week's summary, on Monday morning")
    after_close_min: float = Field(
        15, ge=0, le=600, description="minutes after the day's last session ends"
    )
    weekly_at: time = Field(time(7, 0), description='Monday, site time, quoted "HH:MM"')
    language: Language | None = Field(None, description="vi or en; default: notifications.language")


class NotificationSettings(_Model):
    """docs/alerts.md "Notifications"."""

    enabled: bool = Field(True, description="false: queue nothing, send nothing")
    language: Language = Field("vi", description="vi (default) or en")
    channels: list[Channel] = Field(default_factory=list)
    roles: dict[NotifyIdent, list[NotifyIdent]] = Field(
        default_factory=dict, description="role -> channel ids, e.g. supervisor: [zalo-ca-truc]"
    )
    routes: list[Route] = Field(default_factory=list)
    reports: ReportDelivery | None = Field(
        None, description="send the daily report and weekly summary (PDF attached) to these"
    )
    group_window_s: float = Field(
        300, ge=0, description="one message per zone and channel per window (critical: at once)"
    )
    digest_from: int = Field(
        4, ge=2, description="this many zones due at once on a channel go out as one digest"
    )
    retry_min_s: float = Field(5, gt=0, description="first retry delay")
    retry_max_s: float = Field(300, gt=0, description="cap of the exponential retry backoff")
    expire_s: float = Field(
        21600, gt=0, description="a message not delivered this long is given up (logged)"
    )

    @model_validator(mode="after")
    def _references(self) -> NotificationSettings:
        ids = [c.id for c in self.channels]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate channel id(s): {', '.join(dupes)}")
        known = set(ids)
        for role, channels in self.roles.items():
            if role in known:
                raise ValueError(f"role {role!r} has the id of a channel: rename one")
            for c in channels:
                if c not in known:
                    raise ValueError(f"roles.{role}: unknown channel {c!r}")
        for i, route in enumerate(self.routes):
            for step in route.steps():
                for target in step.notify:
                    if target not in known and target not in self.roles:
                        raise ValueError(
                            f"routes[{i}]: {target!r} is neither a channel nor a role"
                            f" (channels: {', '.join(sorted(known)) or 'none'};"
                            f" roles: {', '.join(sorted(self.roles)) or 'none'})"
                        )
        for target in self.reports.notify if self.reports is not None else []:
            if target not in known and target not in self.roles:
                raise ValueError(f"reports.notify: {target!r} is neither a channel nor a role")
        if self.retry_max_s < self.retry_min_s:
            raise ValueError("retry_max_s must be at least retry_min_s")
        return self

    def channel(self, channel_id: str) -> AppriseChannel | HttpChannel:
        for c in self.channels:
            if c.id == channel_id:
                return c
        raise KeyError(channel_id)

    def targets(self, names: list[str]) -> list[str]:
        """Roles and channel ids -> channel ids, in order, each once."""
        out: list[str] = []
        for name in names:
            for c in self.roles.get(name, [name]):
                if c not in out:
                    out.append(c)
        return out


def route_reference_errors(
    settings: NotificationSettings, zones: set[str], floors: set[str], services: set[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Routes naming zones, floors or service groups the site does not have."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for i, route in enumerate(settings.routes):
        for key, known, what in (
            ("zones", zones, "zone"),
            ("floors", floors, "floor"),
            ("services", services, "service"),
        ):
            for k, value in enumerate(getattr(route.match, key) or []):
                if value not in known:
                    choices = ", ".join(sorted(known)) or "none defined"
                    errors.append(
                        (
                            ("notifications", "routes", i, "match", key, k),
                            f"unknown {what} {value!r} (known: {choices})",
                        )
                    )
    return errors
