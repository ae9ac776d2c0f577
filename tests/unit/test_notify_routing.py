"""Routing: which transition goes where and when; escalation, quiet hours (injected times)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from gateway.live import AlertState, Severity
from gateway.notify.routing import (
    ALWAYS,
    NOTIFIED,
    UNACKNOWLEDGED,
    UNRESOLVED,
    keep,
    matches,
    next_opening,
    plan,
)
from tests.unit.notify_support import FACTS, SITE, T0, alert, local, notifications


def _route(match: dict[str, object]):  # type: ignore[no-untyped-def]
    return notifications(routes=[{"match": match, "notify": ["supervisor"]}]).routes[0]


@pytest.mark.parametrize(
    ("match", "kwargs", "expected"),
    [
        ({}, {}, True),
        ({"rules": ["crowd_level"]}, {}, True),
        ({"rules": ["co2_high"]}, {}, False),
        ({"min_severity": "critical"}, {}, False),
        ({"min_severity": "critical"}, {"severity": Severity.CRITICAL}, True),
        ({"min_severity": "info"}, {}, True),
        ({"zones": ["f2-waiting"]}, {}, True),
        ({"zones": ["f1-hall"]}, {}, False),
        ({"floors": ["f2"]}, {}, True),
        ({"floors": ["f1"]}, {}, False),
        ({"floors": ["f1"]}, {"zone": None, "rule": "camera_offline", "subject": "cam"}, False),
        ({"services": ["land"]}, {"rule": "waiting_time", "subject": "land", "zone": None}, True),
        ({"services": ["land"]}, {"rule": "waiting_time", "subject": "civil", "zone": None}, False),
        ({"services": ["land"]}, {}, False),
        ({"rules": ["crowd_level"], "floors": ["f2"], "min_severity": "warning"}, {}, True),
    ],
)
def test_match(match: dict[str, object], kwargs: dict[str, object], expected: bool) -> None:
    assert matches(_route(match), alert(**kwargs), FACTS) is expected  # type: ignore[arg-type]


def test_a_raise_plans_the_whole_escalation_chain() -> None:
    a = alert()
    out = plan("raised", a, T0, None, notifications(), FACTS)
    got = [(p.channel, p.kind, p.due_at - T0, p.keep_if) for p in out]
    assert got == [
        ("mail-sup", "raised", timedelta(0), ALWAYS),
        ("zalo-lead", "escalated", timedelta(minutes=10), UNACKNOWLEDGED),
        ("sms-manager", "escalated", timedelta(minutes=30), UNACKNOWLEDGED),
    ]
    assert len({p.key for p in out}) == 3
    assert {p.group for p in out} == {"f2-waiting"}


def test_other_rules_go_to_their_route_only() -> None:
    a = alert("co2_high", message="CO₂ cao", value=1250, threshold=1000)
    out = plan("raised", a, T0, None, notifications(), FACTS)
    assert [(p.channel, p.kind) for p in out] == [("mail-facility", "raised")]
    assert plan("raised", alert("battery_low", zone=None), T0, None, notifications(), FACTS) == []


def test_roles_and_channels_are_deduplicated_across_routes() -> None:
    cfg = notifications(
        routes=[
            {"match": {}, "notify": ["supervisor", "mail-sup"]},
            {"match": {"zones": ["f2-waiting"]}, "notify": ["mail-sup", "manager"]},
        ]
    )
    out = plan("raised", alert(), T0, None, cfg, FACTS)
    assert sorted(p.channel for p in out) == ["mail-sup", "sms-manager"]


def test_acknowledging_sends_nothing_and_stops_escalation_at_delivery() -> None:
    cfg = notifications()
    a = alert()
    assert plan("acknowledged", a, T0, a, cfg, FACTS) == []
    acked = dataclasses.replace(a, state=AlertState.ACKNOWLEDGED, acknowledged_by="lan")
    assert keep(UNACKNOWLEDGED, a, None) == (True, "")
    wanted, why = keep(UNACKNOWLEDGED, acked, None)
    assert wanted is False and "acknowledged by lan" in why
    resolved = dataclasses.replace(a, state=AlertState.RESOLVED)
    assert keep(UNACKNOWLEDGED, resolved, None)[0] is False
    assert keep(ALWAYS, None, None) == (True, "")  # a first message always goes
    assert keep(UNRESOLVED, acked, None) == (True, "")
    assert keep(UNRESOLVED, resolved, None)[0] is False
    assert keep(NOTIFIED, resolved, None) == (None, "")  # its raise is still queued: wait
    assert keep(NOTIFIED, resolved, True) == (True, "")
    assert keep(NOTIFIED, resolved, False)[0] is False


@pytest.mark.parametrize(
    ("at", "opening"),
    [
        (local(1, 9), local(1, 9)),  # Tuesday morning: open
        (local(1, 7, 29), local(1, 7, 30)),  # just before opening
        (local(1, 12), local(1, 13, 30)),  # lunch break
        (local(1, 17), local(2, 7, 30)),  # closing time is closed
        (local(1, 23, 59), local(2, 7, 30)),
        (local(5, 11, 45), local(7, 7, 30)),  # Saturday after closing -> Monday
        (local(6, 10), local(7, 7, 30)),  # Sunday
    ],
)
def test_next_opening(at, opening) -> None:  # type: ignore[no-untyped-def]
    assert next_opening(SITE, at) == opening


def test_no_opening_hours_means_never_quiet() -> None:
    always = SITE.model_copy(update={"opening_hours": []})
    assert next_opening(always, local(6, 3)) is None


def test_quiet_hours_hold_warnings_until_opening_but_not_critical() -> None:
    cfg = notifications()
    night = local(1, 20)
    out = plan("raised", alert(at=night), night, None, cfg, FACTS)
    first = out[0]
    assert (first.channel, first.due_at, first.keep_if) == ("mail-sup", local(2, 7, 30), UNRESOLVED)
    # escalation steps fall in the night too: they wait for the opening and still need no ack
    assert [(p.due_at, p.keep_if) for p in out[1:]] == [(local(2, 7, 30), UNACKNOWLEDGED)] * 2
    crit = alert(severity=Severity.CRITICAL, at=night)
    out = plan("raised", crit, night, None, cfg, FACTS)
    assert [(p.due_at - night, p.keep_if) for p in out] == [
        (timedelta(0), ALWAYS),
        (timedelta(minutes=10), UNACKNOWLEDGED),
        (timedelta(minutes=30), UNACKNOWLEDGED),
    ]
    loud = notifications(routes=[{"match": {}, "notify": ["supervisor"], "quiet_hours": False}])
    assert plan("raised", alert(at=night), night, None, loud, FACTS)[0].due_at == night


def test_an_escalation_step_that_falls_in_the_lunch_break_waits() -> None:
    raised = local(1, 11, 25)
    out = plan("raised", alert(at=raised), raised, None, notifications(), FACTS)
    assert [p.due_at for p in out] == [raised, local(1, 13, 30), local(1, 13, 30)]


def test_worse_severity_is_a_worsened_message_and_starts_routes_that_match_only_now() -> None:
    cfg = notifications(
        routes=[
            {"match": {"rules": ["crowd_level"]}, "notify": ["supervisor"]},
            {
                "match": {"min_severity": "critical"},
                "escalation": [
                    {"after_min": 0, "notify": ["shift_lead"]},
                    {"after_min": 15, "notify": ["manager"]},
                ],
            },
        ]
    )
    before = alert()
    later = T0 + timedelta(minutes=20)
    after = dataclasses.replace(
        before, severity=Severity.CRITICAL, updated_at=later, notifications=2
    )
    out = plan("renotified", after, later, before, cfg, FACTS)
    assert [(p.channel, p.kind, p.due_at - later) for p in out] == [
        ("mail-sup", "worsened", timedelta(0)),
        ("zalo-lead", "worsened", timedelta(0)),
        ("sms-manager", "escalated", timedelta(minutes=15)),
    ]


def test_reminders_only_where_asked() -> None:
    a = alert(notifications=2)
    later = T0 + timedelta(minutes=10)
    assert plan("renotified", a, later, alert(), notifications(), FACTS) == []
    cfg = notifications(routes=[{"match": {}, "notify": ["supervisor"], "reminders": True}])
    [p] = plan("renotified", a, later, alert(), cfg, FACTS)
    assert (p.kind, p.keep_if, p.due_at) == ("reminder", UNACKNOWLEDGED, later)


def test_resolution_goes_to_the_steps_that_were_due() -> None:
    cfg = notifications()
    end = T0 + timedelta(minutes=15)
    done = dataclasses.replace(alert(), state=AlertState.RESOLVED, resolved_at=end)
    out = plan("resolved", done, end, alert(), cfg, FACTS)
    assert [(p.channel, p.kind, p.keep_if) for p in out] == [
        ("mail-sup", "resolved", NOTIFIED),
        ("zalo-lead", "resolved", NOTIFIED),
    ]
    quiet = notifications(routes=[{"match": {}, "notify": ["supervisor"], "resolved": False}])
    assert plan("resolved", done, end, alert(), quiet, FACTS) == []


def test_disabled_plans_nothing() -> None:
    assert plan("raised", alert(), T0, None, notifications(enabled=False), FACTS) == []


def test_keys_differ_per_transition_and_repeat_for_the_same_one() -> None:
    cfg = notifications()
    a = alert()
    first = {p.key for p in plan("raised", a, T0, None, cfg, FACTS)}
    assert first == {p.key for p in plan("raised", a, T0, None, cfg, FACTS)}
    worse = dataclasses.replace(a, severity=Severity.CRITICAL, notifications=2)
    second = {p.key for p in plan("renotified", worse, T0, a, cfg, FACTS)}
    assert first.isdisjoint(second)
