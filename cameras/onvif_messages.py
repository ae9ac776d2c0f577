"""ONVIF notification messages as the library hands them over -> ``Notification`` values.

zeep turns a ``wsnt:NotificationMessage`` into objects whose ``Message`` is
either a parsed ``tt:Message`` (attributes ``UtcTime``, ``PropertyOperation``,
``Source.SimpleItem``, ``Data.SimpleItem``) or, for schemas it does not know,
a raw lxml element. Both are read here by duck typing; this module imports
neither zeep nor lxml, and nothing past it sees a library object.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cameras.onvif_models import Notification, SimpleItem


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
