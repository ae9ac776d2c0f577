"""Topic matching/routing, reconnect backoff and the log throttle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.throttle import LogThrottle
from sensors.backoff import backoff_delay
from sensors.topics import TopicRouter, topic_matches


@pytest.mark.parametrize(
    ("flt", "topic", "expected"),
    [
        ("tele/+/SENSOR", "tele/cl-1/SENSOR", True),
        ("tele/+/SENSOR", "tele/cl-1/STATE", False),
        ("tele/+/SENSOR", "tele/a/b/SENSOR", False),
        ("zigbee2mqtt/#", "zigbee2mqtt/lobby", True),
        ("zigbee2mqtt/#", "zigbee2mqtt", True),
        ("#", "$SYS/broker/uptime", False),
        ("+/x", "$SYS/x", False),
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
        ("a/+", "a/", True),
    ],
)
def test_topic_matches(flt: str, topic: str, expected: bool) -> None:
    assert topic_matches(flt, topic) is expected


def test_router_exact_and_wildcards() -> None:
    router = TopicRouter([("qms/events", "qms"), ("tele/+/SENSOR", "tas"), ("tele/x/SENSOR", "x")])
    assert list(router.route("tele/x/SENSOR")) == ["x", "tas"]
    assert list(router.route("tele/y/SENSOR")) == ["tas"]
    assert list(router.route("nothing/here")) == []
    assert router.filters == ["qms/events", "tele/x/SENSOR", "tele/+/SENSOR"]


@given(st.integers(0, 200), st.floats(0, 1))
def test_backoff_is_capped_and_never_zero(attempt: int, r: float) -> None:
    delay = backoff_delay(attempt, 0.5, 30.0, lambda: r)
    assert 0.25 <= delay <= 30.0


def test_backoff_grows_then_caps() -> None:
    delays = [backoff_delay(a, 0.5, 30.0, lambda: 1.0) for a in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays[-1] == 30.0
    assert backoff_delay(3, 0.5, 30.0, lambda: 0.0) == 2.0  # half fixed: jitter never collapses it


def test_throttle_counts_what_it_holds_back() -> None:
    t = LogThrottle(60.0)
    assert t.allow("a", 0.0) == (True, 0)
    assert t.allow("a", 10.0) == (False, 0)
    assert t.allow("a", 20.0) == (False, 0)
    assert t.allow("b", 20.0) == (True, 0)
    assert t.allow("a", 61.0) == (True, 2)
