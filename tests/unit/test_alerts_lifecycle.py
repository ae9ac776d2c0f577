"""The alert lifecycle: dwell, dedup, clear, acknowledge, resolve, renotify, escalate, restore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.alerts import AlertBook, Condition, Transition
from gateway.live import AlertNotFound, AlertState, AlertTransitionError, Severity

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def cond(
    rule: str = "co2_high",
    subject: str = "hall",
    severity: Severity = Severity.WARNING,
    dwell_s: float = 0,
    value: float = 1200,
) -> Condition:
    return Condition(
        rule, subject, severity, f"{rule} {subject}", value, 1000, zone_id=subject, dwell_s=dwell_s
    )


def book(**kw: float | None) -> AlertBook:
    args: dict[str, float | None] = {"renotify_s": 600, "escalate_s": None, "clear_s": 0}
    args.update(kw)
    return AlertBook(
        renotify_s=float(args["renotify_s"] or 600),
        escalate_s=args["escalate_s"],
        clear_s=float(args["clear_s"] or 0),
    )


def kinds(ts: list[Transition]) -> list[tuple[str, str]]:
    return [(t.kind, t.alert.id) for t in ts]


def test_raise_after_dwell_then_deduplicate_then_resolve() -> None:
    b = book()
    c = cond(dwell_s=60)
    assert b.evaluate(at(0), [c]) == []
    assert b.evaluate(at(59), [c]) == []
    assert kinds(b.evaluate(at(60), [c])) == [("raised", "co2_high:hall:1")]
    assert b.evaluate(at(61), [c]) == []  # deduplicated while active
    out = b.evaluate(at(62), [])
    assert kinds(out) == [("resolved", "co2_high:hall:1")]
    assert out[0].alert.resolved_by is None and out[0].alert.state is AlertState.RESOLVED


def test_a_condition_that_does_not_hold_through_the_dwell_raises_nothing() -> None:
    b = book()
    c = cond(dwell_s=60)
    b.evaluate(at(0), [c])
    b.evaluate(at(30), [])
    assert b.evaluate(at(70), [c]) == []
    assert kinds(b.evaluate(at(130), [c])) == [("raised", "co2_high:hall:1")]


def test_re_raise_after_resolve_gets_a_new_id() -> None:
    b = book()
    b.evaluate(at(0), [cond()])
    b.evaluate(at(1), [])
    assert kinds(b.evaluate(at(2), [cond()])) == [("raised", "co2_high:hall:2")]


def test_clear_s_keeps_the_alert_through_a_short_gap() -> None:
    b = book(clear_s=60)
    b.evaluate(at(0), [cond()])
    assert b.evaluate(at(10), []) == []
    assert b.evaluate(at(50), [cond()]) == []  # back: same alert, no transition
    assert b.evaluate(at(60), []) == []
    assert kinds(b.evaluate(at(120), [])) == [("resolved", "co2_high:hall:1")]


def test_acknowledge_then_resolve_by_hand_with_who_and_note() -> None:
    b = book()
    [raised] = b.evaluate(at(0), [cond()])
    t = b.acknowledge(raised.alert.id, by="lan", note="opening windows", now=at(5))
    assert t.kind == "acknowledged"
    assert (t.alert.state, t.alert.acknowledged_by, t.alert.acknowledged_at) == (
        AlertState.ACKNOWLEDGED,
        "lan",
        at(5),
    )
    assert t.alert.note == "opening windows"
    with pytest.raises(AlertTransitionError):
        b.acknowledge(raised.alert.id, by="lan", note=None, now=at(6))
    r = b.resolve(raised.alert.id, by="minh", note="fixed", now=at(7))
    assert (r.alert.state, r.alert.resolved_by, r.alert.note) == (
        AlertState.RESOLVED,
        "minh",
        "fixed",
    )
    assert r.alert.acknowledged_by == "lan"
    with pytest.raises(AlertTransitionError):
        b.resolve(raised.alert.id, by="minh", note=None, now=at(8))
    with pytest.raises(AlertNotFound):
        b.acknowledge("nope:x:1", by="lan", note=None, now=at(9))


def test_resolved_by_hand_while_it_holds_is_not_raised_again_until_it_clears() -> None:
    b = book()
    [raised] = b.evaluate(at(0), [cond()])
    b.resolve(raised.alert.id, by="lan", note=None, now=at(1))
    assert b.evaluate(at(2), [cond()]) == []
    assert b.evaluate(at(3), []) == []
    assert kinds(b.evaluate(at(4), [cond()])) == [("raised", "co2_high:hall:2")]


def test_higher_severity_renotifies_the_same_alert() -> None:
    b = book()
    b.evaluate(at(0), [cond("crowd_level", severity=Severity.WARNING)])
    out = b.evaluate(at(5), [cond("crowd_level", severity=Severity.CRITICAL, value=190)])
    assert kinds(out) == [("renotified", "crowd_level:hall:1")]
    assert out[0].alert.severity is Severity.CRITICAL and out[0].alert.value == 190
    assert out[0].alert.notifications == 2
    # falling back to warning keeps the alert as it is
    assert b.evaluate(at(6), [cond("crowd_level", severity=Severity.WARNING)]) == []


def test_renotify_and_escalate_unacknowledged_alerts() -> None:
    b = book(renotify_s=600, escalate_s=1500)
    b.evaluate(at(0), [cond()])
    assert b.evaluate(at(599), [cond()]) == []
    [r1] = b.evaluate(at(600), [cond()])
    assert (r1.kind, r1.alert.notifications, r1.alert.severity) == (
        "renotified",
        2,
        Severity.WARNING,
    )
    [r2] = b.evaluate(at(1200), [cond()])
    assert r2.alert.notifications == 3
    [esc] = b.evaluate(at(1500), [cond()])
    assert (esc.alert.severity, esc.alert.escalated, esc.alert.notifications) == (
        Severity.CRITICAL,
        True,
        4,
    )
    assert b.evaluate(at(1600), [cond()]) == []


def test_acknowledged_alerts_are_not_renotified() -> None:
    b = book(renotify_s=60, escalate_s=120)
    [raised] = b.evaluate(at(0), [cond()])
    b.acknowledge(raised.alert.id, by="lan", note=None, now=at(10))
    assert b.evaluate(at(500), [cond()]) == []


def test_restore_keeps_ids_and_never_duplicates() -> None:
    b = book()
    b.evaluate(at(0), [cond(), cond("capacity")])
    b.evaluate(at(1), [cond()])  # capacity resolves
    restored = AlertBook(
        renotify_s=600,
        escalate_s=None,
        clear_s=0,
        alerts=list(b.resolved.values()) + list(b.active.values()),
        raises=b.raises,
    )
    assert restored.evaluate(at(2), [cond()]) == []  # still active: no second alert
    assert kinds(restored.evaluate(at(3), [cond(), cond("capacity")])) == [
        ("raised", "capacity:hall:2")
    ]
    assert restored.get("capacity:hall:1").state is AlertState.RESOLVED


def test_restore_without_the_raise_counters_reads_them_from_the_ids() -> None:
    b = book()
    b.evaluate(at(0), [cond()])
    restored = AlertBook(renotify_s=600, escalate_s=None, clear_s=0, alerts=b.active.values())
    restored.evaluate(at(1), [])
    assert kinds(restored.evaluate(at(2), [cond()])) == [("raised", "co2_high:hall:2")]


# --------------------------------------------------------------------------- property

KEYS = [("co2_high", "hall"), ("capacity", "hall"), ("sensor_stale", "pc-1")]
step = st.one_of(
    st.tuples(st.just("eval"), st.sets(st.sampled_from(range(len(KEYS)))), st.floats(0, 400)),
    st.tuples(st.just("ack"), st.sampled_from(range(len(KEYS))), st.floats(0, 5)),
    st.tuples(st.just("resolve"), st.sampled_from(range(len(KEYS))), st.floats(0, 5)),
    st.tuples(st.just("restart"), st.just(0), st.just(0.0)),
)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(step, min_size=1, max_size=60),
    dwell=st.floats(0, 120),
    clear=st.floats(0, 120),
)
def test_an_alert_is_never_raised_twice_while_active(
    steps: list[tuple[str, object, float]], dwell: float, clear: float
) -> None:
    b = AlertBook(renotify_s=300, escalate_s=900, clear_s=clear)
    now = T0
    active: dict[str, str] = {}  # key -> id, from the transitions seen
    ids: set[str] = set()
    for kind, arg, gap in steps:
        now += timedelta(seconds=gap)
        out: list[Transition] = []
        if kind == "eval":
            assert isinstance(arg, set)
            out = b.evaluate(now, [cond(*KEYS[i], dwell_s=dwell) for i in sorted(arg)])
        elif kind == "restart":
            b = AlertBook(
                renotify_s=300,
                escalate_s=900,
                clear_s=clear,
                alerts=[*b.resolved.values(), *b.active.values()],
                raises=b.raises,
            )
        else:
            assert isinstance(arg, int)
            key = ":".join(KEYS[arg])
            if key in active:
                try:
                    act = b.acknowledge if kind == "ack" else b.resolve
                    out = [act(active[key], by="op", note=None, now=now)]
                except AlertTransitionError:
                    pass
        for t in out:
            key = t.alert.id.rpartition(":")[0]
            if t.kind == "raised":
                assert key not in active, f"{key} raised twice while active"
                assert t.alert.id not in ids, "an alert id was reused"
                ids.add(t.alert.id)
                active[key] = t.alert.id
            elif t.kind == "resolved":
                assert active.pop(key) == t.alert.id
            else:
                assert active[key] == t.alert.id
        assert {k: a.id for k, a in b.active.items()} == active


def test_unknown_keys_neither_clear_nor_count_towards_clearing() -> None:
    b = book(clear_s=10)
    b.evaluate(at(0), [cond()])
    assert b.evaluate(at(5), [], unknown={"co2_high:hall"}) == []
    assert b.evaluate(at(100), [], unknown={"co2_high:hall"}) == []
    assert b.evaluate(at(105), []) == []  # clearing starts only now
    assert kinds(b.evaluate(at(115), [])) == [("resolved", "co2_high:hall:1")]
