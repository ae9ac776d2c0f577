"""One PullPoint subscription of a camera: pull, renew, synchronise, unsubscribe.

Created by ``OnvifClient.subscribe``; every call goes through the client's
``_call`` (timeouts, one CameraError). The library's service objects are
held as opaque values: this module imports neither onvif nor zeep.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cameras.onvif_messages import notification_from_zeep
from cameras.onvif_models import CameraError, CameraErrorReason, Notification

if TYPE_CHECKING:
    from cameras.onvif_client import OnvifClient


class PullPointSubscription:
    """One PullPoint subscription: pull, renew, synchronise, unsubscribe."""

    def __init__(self, client: OnvifClient, manager: Any, pullpoint: Any, address: str) -> None:
        self._client = client
        self._manager = manager
        self._pullpoint = pullpoint
        self.address = address
        self.granted: timedelta | None = None

    async def pull(self, timeout_s: float, limit: int) -> list[Notification]:
        request = {"Timeout": timedelta(seconds=timeout_s), "MessageLimit": limit}
        c = self._client
        try:
            answer = await c._call(
                "PullMessages",
                lambda: self._pullpoint.PullMessages(request),
                limit_s=timeout_s + c.endpoint.timeout_s,
            )
        except CameraError as exc:
            if exc.reason is CameraErrorReason.PROTOCOL:
                raise CameraError(CameraErrorReason.SUBSCRIPTION_LOST, exc.detail) from exc
            raise
        notes = []
        for message in getattr(answer, "NotificationMessage", None) or []:
            note = notification_from_zeep(message)
            if note is not None:
                notes.append(note)
        return notes

    async def renew(self, termination_s: float) -> timedelta | None:
        try:
            answer = await self._client._call(
                "Renew", lambda: self._manager.Renew(self._client.termination(termination_s))
            )
        except CameraError as exc:
            if exc.reason is CameraErrorReason.PROTOCOL:
                raise CameraError(CameraErrorReason.SUBSCRIPTION_LOST, exc.detail) from exc
            raise
        self.granted = granted_time(answer)
        return self.granted

    async def synchronize(self) -> None:
        """SetSynchronizationPoint: the camera re-sends the state of every property."""
        await self._client._call("SetSynchronizationPoint", self._pullpoint.SetSynchronizationPoint)

    async def unsubscribe(self) -> None:
        """Best effort: frees the camera's slot (many allow one subscription)."""
        with contextlib.suppress(CameraError):
            await self._client._call("Unsubscribe", self._manager.Unsubscribe, limit_s=3)


def granted_time(answer: Any) -> timedelta | None:
    current = getattr(answer, "CurrentTime", None)
    until = getattr(answer, "TerminationTime", None)
    if isinstance(current, datetime) and isinstance(until, datetime):
        if (current.tzinfo is None) != (until.tzinfo is None):
            return None
        return until - current
    return None
