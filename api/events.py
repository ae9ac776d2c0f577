"""Live events as Server-Sent Events frames. Pure module.

A frame is ``id: <seq>``, ``event: <kind>``, one ``data:`` line of JSON and a
blank line. The ``id`` is what a reconnecting ``EventSource`` sends back as
``Last-Event-ID``; the stream then resumes right after it. A snapshot frame
carries no id, so it never moves a client's resume point.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime

from api.schemas import alert_out, zone_out
from api.schemas_devices import DeviceOut, LiveEventOut, SnapshotOut, health_state
from gateway.live import Alert, LiveEvent, ZoneState
from gateway.observations import DeviceHealth
from gateway.scrub import scrub_text


def device_out(d: DeviceHealth) -> DeviceOut:
    return DeviceOut(
        device_id=d.device_id, kind=d.kind.value, health=health_state(d, scrub_text(d.detail))
    )


def event_frame(event: LiveEvent) -> str:
    body = LiveEventOut(
        seq=event.seq,
        kind=event.kind.value,
        at=event.at,
        transition=event.transition,
        zone=zone_out(event.zone) if event.zone is not None else None,
        alert=alert_out(event.alert) if event.alert is not None else None,
        device=device_out(event.device) if event.device is not None else None,
    )
    return f"id: {event.seq}\nevent: {event.kind.value}\ndata: {body.model_dump_json()}\n\n"


def snapshot_frame(
    at: datetime,
    zones: Sequence[ZoneState],
    alerts: Sequence[Alert],
    devices: Sequence[DeviceHealth],
) -> str:
    body = SnapshotOut(
        at=at,
        zones=[zone_out(z) for z in zones],
        alerts=[alert_out(a) for a in alerts],
        devices=[device_out(d) for d in devices],
    )
    return f"event: snapshot\ndata: {body.model_dump_json()}\n\n"


KEEPALIVE = ": keepalive\n\n"


def retry_frame(ms: int) -> str:
    """Tell EventSource how long to wait before reconnecting."""
    return f"retry: {ms}\n\n"


class FrameCache:
    """Each event is encoded once, however many clients it goes to."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._frames: OrderedDict[int, str] = OrderedDict()

    def frame(self, event: LiveEvent) -> str:
        text = self._frames.get(event.seq)
        if text is None:
            text = event_frame(event)
            self._frames[event.seq] = text
            if len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return text


def parse_last_event_id(value: str | None) -> int | None:
    """``Last-Event-ID`` as a seq; None when absent or not a non-negative integer."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)


class RenderCache:
    """Encoded answers kept while the records they were made from are the very same objects.

    The engine's records are frozen and replaced on every change, so "the same
    objects, in the same order" means "the same answer": a GET between two
    changes costs one identity check per record instead of a serialization.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[tuple[object, ...], bytes]] = OrderedDict()

    def get(self, key: Hashable, sources: Sequence[object], render: Callable[[], bytes]) -> bytes:
        entry = self._entries.get(key)
        if (
            entry is not None
            and len(entry[0]) == len(sources)
            and all(a is b for a, b in zip(entry[0], sources, strict=True))
        ):
            self._entries.move_to_end(key)
            return entry[1]
        body = render()
        self._entries[key] = (tuple(sources), body)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return body
