"""An alert's notifications: where each message went, and whether it was delivered.

Read-only, from the outbox in the alert database (``gateway.notify.outbox.read_status``),
on a worker thread. docs/alerts.md "Notifications" says what the states and reasons mean.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import AUTH_RESPONSES, NOT_FOUND, ApiError, Reader, State
from gateway.notify.outbox import read_status

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
AlertId = Annotated[str, Path(min_length=1, max_length=200)]


class DeliveryOut(BaseModel):
    channel: str = Field(description="notifications.channels[].id")
    kind: str = Field(description="raised, worsened, reminder, escalated or resolved")
    state: Literal["queued", "sent", "failed", "skipped"]
    reason: str | None = Field(description="the last failure, or why it was skipped or given up")
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    message: str | None = Field(description="the message's idempotency key, once formed")


@router.get(
    "/{alert_id}/notifications",
    summary="Where the alert was notified: per channel and step, queued, sent, failed or skipped",
    responses={**AUTH_RESPONSES, **NOT_FOUND},
)
async def alert_notifications(alert_id: AlertId, state: State, _: Reader) -> list[DeliveryOut]:
    if not any(a.id == alert_id for a in state.floor.alerts(include_resolved=True)):
        raise ApiError(404, "alert_not_found", f"no alert {alert_id!r}")
    path = state.site.gateway.state_dir / "alerts.sqlite3"
    rows = await asyncio.to_thread(read_status, path, alert_id)
    return [
        DeliveryOut(
            channel=r.channel,
            kind=r.kind,
            state=r.state,  # the outbox writes only these four
            reason=r.reason,
            due_at=r.due_at,
            sent_at=r.sent_at,
            attempts=r.attempts,
            message=r.message,
        )
        for r in rows
    ]
