"""What the gateway publishes on MQTT: topics and JSON payloads. Pure module.

Every outbound topic is built here and nowhere else (inbound topics: sensors/topics.py):

- ``<base>/<site>/status``: ``online`` / ``offline`` (retained, also the Last Will);
- ``<base>/<site>/zones/<zone>/state``: the zone's state, retained JSON;
- ``<base>/<site>/alerts/<id>``: an alert, retained JSON while active or
  acknowledged; on resolve the resolved alert is published once (not
  retained) and the retained message is cleared with an empty payload;
- ``<prefix>/sensor/floorwatch_<site>/<object>/config``: a Home Assistant
  discovery config (``gateway.ha_discovery``), outside the base topic.

Payloads are the ``gateway.live`` records as JSON: times in ISO 8601 UTC,
enums as their values. ``alert_from_json`` reads one back (the alert store
keeps alerts in the same form).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.live import Alert, AlertState, Severity, ZoneState


@dataclass(frozen=True, slots=True)
class OutboundTopics:
    base: str
    site_id: str

    @property
    def root(self) -> str:
        return f"{self.base}/{self.site_id}"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    def zone_state(self, zone_id: str) -> str:
        return f"{self.root}/zones/{zone_id}/state"

    def alert(self, alert_id: str) -> str:
        return f"{self.root}/alerts/{alert_id}"

    @property
    def discovery_node(self) -> str:
        """The site's node id under the discovery prefix, and its device identifier."""
        return f"floorwatch_{self.site_id}"

    def discovery_config(self, prefix: str, object_id: str) -> str:
        """A Home Assistant discovery config topic of one of the site's sensors."""
        return f"{prefix}/sensor/{self.discovery_node}/{object_id}/config"

    def parse_alert(self, topic: str) -> str | None:
        """The alert id of an alert topic, else None."""
        prefix = f"{self.root}/alerts/"
        return topic[len(prefix) :] if topic.startswith(prefix) else None


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def to_json(record: ZoneState | Alert, **extra: Any) -> bytes:
    body = dataclasses.asdict(record)
    body.update(extra)
    return json.dumps(body, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def alert_from_json(data: bytes | str) -> Alert:
    body = json.loads(data)
    body.pop("transition", None)
    raised = _time(body["raised_at"])
    updated = _time(body["updated_at"])
    if raised is None or updated is None:
        raise ValueError("an alert needs raised_at and updated_at")
    return Alert(
        id=body["id"],
        rule=body["rule"],
        severity=Severity(body["severity"]),
        state=AlertState(body["state"]),
        zone_id=body.get("zone_id"),
        device_id=body.get("device_id"),
        message=body["message"],
        value=body.get("value"),
        threshold=body.get("threshold"),
        raised_at=raised,
        updated_at=updated,
        acknowledged_at=_time(body.get("acknowledged_at")),
        acknowledged_by=body.get("acknowledged_by"),
        resolved_at=_time(body.get("resolved_at")),
        resolved_by=body.get("resolved_by"),
        note=body.get("note"),
        notifications=int(body.get("notifications", 1)),
        escalated=bool(body.get("escalated", False)),
        subject=body.get("subject"),
    )
