"""MQTT topic filters: matching and routing of inbound topics to sensors. Pure module."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 section 4.7 matching, including '+' and a trailing '#'."""
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    if topic.startswith("$") and f_parts[0] in ("+", "#"):
        return False
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts):
            return False
        if part != "+" and part != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)


def is_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


class TopicRouter(Generic[T]):
    """Maps an inbound topic to every target whose filter matches it.

    Exact filters are a dictionary hit; wildcard filters are tried in order.
    Results are cached per topic (topics are few and repeat).
    """

    def __init__(self, routes: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[str, list[T]] = {}
        self._wild: list[tuple[str, T]] = []
        for topic_filter, target in routes:
            if is_wildcard(topic_filter):
                self._wild.append((topic_filter, target))
            else:
                self._exact.setdefault(topic_filter, []).append(target)
        self._cache: dict[str, Sequence[T]] = {}

    @property
    def filters(self) -> list[str]:
        """Distinct filters to subscribe to."""
        seen = dict.fromkeys([*self._exact, *(f for f, _ in self._wild)])
        return list(seen)

    def route(self, topic: str) -> Sequence[T]:
        hit = self._cache.get(topic)
        if hit is not None:
            return hit
        targets = list(self._exact.get(topic, ()))
        targets.extend(t for f, t in self._wild if topic_matches(f, topic))
        if len(self._cache) < 10000:
            self._cache[topic] = targets
        return targets
