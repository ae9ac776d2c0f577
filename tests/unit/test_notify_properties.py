"""Properties of grouping and routing over generated inputs (hypothesis, derandomized)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.live import Severity
from gateway.notify.batching import Due, batches
from gateway.notify.routing import next_opening, plan
from gateway.zones import is_open
from tests.unit.notify_support import FACTS, SITE, T0, alert, notifications

CHANNELS = ["mail", "sms", "zalo"]
GROUPS = ["f1-hall", "f2-waiting", "f2-counters", "cam-1", "spool"]

due_entries = st.lists(
    st.tuples(st.sampled_from(CHANNELS), st.sampled_from(GROUPS), st.booleans()),
    max_size=30,
).map(lambda xs: [Due(i, c, g, crit, T0) for i, (c, g, crit) in enumerate(xs)])
last_sent = st.dictionaries(
    st.tuples(st.sampled_from(CHANNELS), st.sampled_from(GROUPS)),
    st.integers(min_value=0, max_value=900).map(lambda s: T0 - timedelta(seconds=s)),
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(due_entries, last_sent, st.integers(0, 600), st.integers(2, 6))
def test_every_due_entry_is_sent_once_or_held_until_a_known_time(
    due: list[Due], last: dict[tuple[str, str], object], window_s: int, digest_from: int
) -> None:
    out, wake = batches(due, last, T0, window_s=window_s, digest_from=digest_from)  # type: ignore[arg-type]
    sent = [e.entry_id for b in out for e in b.entries]
    assert len(sent) == len(set(sent))  # none twice
    held = [d for d in due if d.entry_id not in set(sent)]
    for d in held:
        # held only inside its zone's window, never critical, and woken at the window's end
        assert not d.critical
        prev = last[(d.channel, d.group)]
        assert T0 - prev < timedelta(seconds=window_s)  # type: ignore[operator]
        assert wake is not None and T0 < wake <= prev + timedelta(seconds=window_s)  # type: ignore[operator]
    assert (wake is None) == (not held)
    for b in out:
        assert {e.channel for e in b.entries} == {b.channel}
        if b.group != "*":
            assert {e.group for e in b.entries} == {b.group}
    per_channel = {c: [b for b in out if b.channel == c] for c in CHANNELS}
    for batches_of_channel in per_channel.values():
        digests = [b for b in batches_of_channel if b.group == "*"]
        assert len(digests) <= 1 and (not digests or len(batches_of_channel) == 1)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.integers(0, 7 * 24 * 60 - 1),
    st.sampled_from(list(Severity)),
    st.sampled_from(["crowd_level", "capacity", "waiting_time", "co2_high"]),
)
def test_planned_messages_wait_for_opening_unless_critical(
    minute: int, severity: Severity, rule: str
) -> None:
    at = T0 + timedelta(minutes=minute)
    a = alert(rule, severity=severity, at=at)
    out = plan("raised", a, at, None, notifications(), FACTS)
    assert len({p.key for p in out}) == len(out)
    for p in out:
        assert p.due_at >= at
        if severity is Severity.CRITICAL:
            assert p.due_at == at + timedelta(minutes=p.after_min)
        else:
            assert is_open(SITE, p.due_at)
            step = at + timedelta(minutes=p.after_min)
            assert p.due_at == next_opening(SITE, step)
