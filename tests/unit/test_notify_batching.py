"""Grouping: one message per zone and channel per window, critical at once, digests; backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.notify.batching import Due, backoff_s, batches
from tests.unit.notify_support import T0


def due(i: int, group: str, channel: str = "mail", critical: bool = False) -> Due:
    return Due(i, channel, group, critical, T0)


def test_entries_of_one_zone_due_together_are_one_message() -> None:
    out, wake = batches(
        [due(1, "f2-waiting"), due(2, "f2-waiting"), due(3, "f1-hall")],
        {},
        T0,
        window_s=300,
        digest_from=4,
    )
    assert [(b.group, [e.entry_id for e in b.entries]) for b in out] == [
        ("f2-waiting", [1, 2]),
        ("f1-hall", [3]),
    ]
    assert wake is None


def test_a_zone_messaged_within_the_window_waits_for_its_end() -> None:
    last = {("mail", "f2-waiting"): T0 - timedelta(seconds=100)}
    out, wake = batches([due(1, "f2-waiting")], last, T0, window_s=300, digest_from=4)
    assert out == [] and wake == T0 + timedelta(seconds=200)
    # the window's end: it goes
    later = T0 + timedelta(seconds=200)
    out, wake = batches([due(1, "f2-waiting")], last, later, window_s=300, digest_from=4)
    assert [b.group for b in out] == ["f2-waiting"] and wake is None
    # other channels and zones are not held by it
    out, _ = batches(
        [due(2, "f2-waiting", "sms"), due(3, "f1-hall")], last, T0, window_s=300, digest_from=4
    )
    assert sorted((b.channel, b.group) for b in out) == [("mail", "f1-hall"), ("sms", "f2-waiting")]


def test_critical_is_never_held() -> None:
    last = {("mail", "f2-waiting"): T0 - timedelta(seconds=10)}
    out, wake = batches(
        [due(1, "f2-waiting"), due(2, "f2-waiting", critical=True)],
        last,
        T0,
        window_s=300,
        digest_from=4,
    )
    assert [[e.entry_id for e in b.entries] for b in out] == [[1, 2]] and wake is None


@pytest.mark.parametrize(("zones", "digests"), [(3, 0), (4, 1), (9, 1)])
def test_many_zones_at_once_are_one_digest(zones: int, digests: int) -> None:
    entries = [due(i, f"z{i}") for i in range(zones)]
    entries.append(due(100, "z0", "sms"))
    out, _ = batches(entries, {}, T0, window_s=300, digest_from=4)
    mail = [b for b in out if b.channel == "mail"]
    assert len([b for b in mail if b.group == "*"]) == digests
    assert len(mail) == (1 if digests else zones)
    assert sorted(e.entry_id for b in mail for e in b.entries) == list(range(zones))
    assert [b.group for b in out if b.channel == "sms"] == ["z0"]


def test_backoff_doubles_and_is_capped() -> None:
    got = [backoff_s(n, min_s=5, max_s=300) for n in range(10)]
    assert got == [0, 5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff_s(10_000, min_s=5, max_s=300) == 300
