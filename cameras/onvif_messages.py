"""ONVIF answers as the library hands them over -> our values (profiles, notifications).

zeep turns a ``wsnt:NotificationMessage`` into objects whose ``Message`` is
either a parsed ``tt:Message`` (attributes ``UtcTime``, ``PropertyOperation``,
``Source.SimpleItem``, ``Data.SimpleItem``) or, for schemas it does not know,
a raw lxml element. Both are read here by duck typing; this module imports
neither zeep nor lxml, and nothing past it sees a library object.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from cameras.onvif_models import Encoding, MediaProfile, Notification, SimpleItem


def notification_from_zeep(message: Any) -> Notification | None:
    """A wsnt:NotificationMessage as zeep parsed it -> Notification (None if unusable)."""
    try:
        topic = message.Topic._value_1
        body = message.Message._value_1
    except AttributeError:
        return None
    if not isinstance(topic, str) or body is None:
        return None
    if hasattr(body, "iter") and hasattr(body, "attrib"):  # an lxml element zeep left raw
        return _notification_from_element(topic, body)
    utc = getattr(body, "UtcTime", None)
    return Notification(
        topic=topic.strip(),
        utc_time=utc if isinstance(utc, datetime) else _parse_time(utc),
        operation=_text(getattr(body, "PropertyOperation", None)),
        source=_items(getattr(body, "Source", None)),
        data=_items(getattr(body, "Data", None)),
    )


def _items(group: Any) -> tuple[SimpleItem, ...]:
    simple = getattr(group, "SimpleItem", None) or []
    return tuple(SimpleItem(str(i.Name), str(i.Value)) for i in simple if i is not None)


def _notification_from_element(topic: str, element: Any) -> Notification:
    def group(name: str) -> tuple[SimpleItem, ...]:
        for child in element:
            if str(child.tag).endswith("}" + name):
                return tuple(
                    SimpleItem(i.get("Name", ""), i.get("Value", ""))
                    for i in child
                    if str(i.tag).endswith("}SimpleItem")
                )
        return ()

    return Notification(
        topic=topic.strip(),
        utc_time=_parse_time(element.get("UtcTime")),
        operation=element.get("PropertyOperation"),
        source=group("Source"),
        data=group("Data"),
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


WSA_NS = "http://www.w3.org/2005/08/addressing"


def reference_parameters(reference: Any) -> list[Any]:
    """A SubscriptionReference's ReferenceParameters as SOAP header blocks to echo.

    Each element (zeep leaves them as lxml elements: vendor namespaces it does
    not know, e.g. Axis' ``dom0:SubscriptionId``) is copied and marked
    ``wsa:IsReferenceParameter="true"`` as the WS-Addressing SOAP binding asks.
    Anything else (absent, or a value zeep parsed into a type) gives nothing.
    """
    params = getattr(reference, "ReferenceParameters", None)
    blocks = []
    for element in getattr(params, "_value_1", None) or []:
        if not (hasattr(element, "tag") and hasattr(element, "set")):
            continue
        block = copy.deepcopy(element)
        block.set(f"{{{WSA_NS}}}IsReferenceParameter", "true")
        blocks.append(block)
    return blocks


def profiles_from_media1(answer: Any) -> tuple[MediaProfile, ...]:
    """Media (ver10) GetProfiles: profiles with a VideoEncoderConfiguration."""
    found = []
    for p in answer or []:
        profile = _profile(p, getattr(p, "VideoEncoderConfiguration", None))
        if profile is not None:
            found.append(profile)
    return tuple(found)


def profiles_from_media2(answer: Any) -> tuple[MediaProfile, ...]:
    """Media2 (ver20) GetProfiles: profiles whose Configurations hold a VideoEncoder."""
    found = []
    for p in answer or []:
        encoder = getattr(getattr(p, "Configurations", None), "VideoEncoder", None)
        profile = _profile(p, encoder)
        if profile is not None:
            found.append(profile)
    return tuple(found)


def _profile(p: Any, encoder: Any) -> MediaProfile | None:
    resolution = getattr(encoder, "Resolution", None)
    if encoder is None or resolution is None:
        return None
    rate = getattr(encoder, "RateControl", None)
    try:
        return MediaProfile(
            token=str(p.token),
            name=str(getattr(p, "Name", "") or ""),
            encoding=Encoding.parse(_text(getattr(encoder, "Encoding", None))),
            width=int(resolution.Width),
            height=int(resolution.Height),
            fps=_number(getattr(rate, "FrameRateLimit", None)),
            bitrate_kbps=_int(getattr(rate, "BitrateLimit", None)),
        )
    except (AttributeError, TypeError, ValueError):
        return None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
