"""Alert transitions a full uplink queue dropped: which to send again. Pure module.

The uplink's bounded queue drops its oldest message when it is full. A zone's
state, a device's health, the closed hours and the day's plan come back by
themselves (the current states and the unacknowledged hourly messages are
queued again after an overflow), but an alert transition is an event: once
dropped, the province may show an alert open that the center resolved, or
never see one that opened.

So the uplink tells us each message it drops; per alert we keep the newest
dropped transition (``note_dropped``). Once the queue has drained, each such
alert's **latest** transition as the alert store holds it now is sent again
(``resend_messages``), built by ``alert_message`` like the live one: the same
transition gets the same ``Nats-Msg-Id`` (JetStream drops it as a duplicate
within its window if it was stored after all), a newer transition has an id
of its own (it is never taken for a duplicate). Intermediate transitions of
an alert are not sent again: the province needs where the alert stands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gateway.fleet.messages import FleetKind, FleetMessage, FleetSubjects, alert_message
from gateway.live import Alert


@dataclass(frozen=True, slots=True)
class DroppedAlert:
    """A dropped alert transition: which alert, which transition, when, and the message."""

    alert_id: str
    transition: str
    updated_at: datetime
    message: FleetMessage


def dropped_alert(message: FleetMessage) -> DroppedAlert | None:
    """The alert transition a dropped message carried; None for any other message."""
    try:
        data = json.loads(message.payload)
        if data.get("kind") != FleetKind.ALERT.value:
            return None
        alert = data["alert"]
        return DroppedAlert(
            str(alert["id"]),
            str(data["transition"]),
            datetime.fromisoformat(alert["updated_at"]),
            message,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def note_dropped(
    pending: Mapping[str, DroppedAlert], dropped: DroppedAlert
) -> dict[str, DroppedAlert]:
    """``pending`` with ``dropped`` in it: per alert, the newer of the two is kept."""
    out = dict(pending)
    held = out.get(dropped.alert_id)
    if held is None or dropped.updated_at >= held.updated_at:
        out[dropped.alert_id] = dropped
    return out


def resend_messages(
    subjects: FleetSubjects,
    pending: Mapping[str, DroppedAlert],
    latest: Mapping[str, tuple[str, Alert]],
) -> list[FleetMessage]:
    """What to send again for the dropped alerts, oldest first (then by alert id).

    ``latest``: each alert's latest transition as the store holds it now
    (transition, alert as after it). Where the store has none, or only one older
    than what was dropped (it cannot answer), the dropped message itself is sent.
    """
    chosen: list[tuple[datetime, str, FleetMessage]] = []
    for alert_id, dropped in pending.items():
        now = latest.get(alert_id)
        if now is not None and now[1].updated_at >= dropped.updated_at:
            transition, alert = now
            chosen.append((alert.updated_at, alert_id, alert_message(subjects, alert, transition)))
        else:
            chosen.append((dropped.updated_at, alert_id, dropped.message))
    chosen.sort(key=lambda c: (c[0], c[1]))
    return [message for _, _, message in chosen]
