"""Which alert transitions go out again after a full uplink queue dropped some (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.fleet.alert_drops import DroppedAlert, dropped_alert, note_dropped, resend_messages
from gateway.fleet.messages import FleetKind, FleetMessage, FleetSubjects, alert_message
from gateway.live import Alert, AlertState, Severity

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
SUBJECTS = FleetSubjects("floorwatch", "ha-noi", "ba-dinh")


def alert(alert_id: str, state: AlertState, minute: int) -> Alert:
    return Alert(
        id=alert_id,
        rule="crowd_level",
        severity=Severity.WARNING,
        state=state,
        zone_id="waiting",
        device_id=None,
        message="Waiting is crowded",
        value=0.85,
        threshold=0.8,
        raised_at=T0,
        updated_at=T0 + timedelta(minutes=minute),
        subject="waiting",
    )


def sent(alert_id: str, transition: str, state: AlertState, minute: int) -> FleetMessage:
    return alert_message(SUBJECTS, alert(alert_id, state, minute), transition)


def drop(message: FleetMessage) -> DroppedAlert:
    dropped = dropped_alert(message)
    assert dropped is not None
    return dropped


RAISED_A = sent("a:1", "raised", AlertState.ACTIVE, 1)
ACKED_A = sent("a:1", "acknowledged", AlertState.ACKNOWLEDGED, 3)
RESOLVED_A = sent("a:1", "resolved", AlertState.RESOLVED, 6)
RAISED_B = sent("b:1", "raised", AlertState.ACTIVE, 2)


def test_a_dropped_alert_message_is_read_back() -> None:
    got = drop(ACKED_A)
    assert (got.alert_id, got.transition) == ("a:1", "acknowledged")
    assert got.updated_at == T0 + timedelta(minutes=3)
    assert got.message is ACKED_A


def test_other_kinds_and_garbage_are_not_alert_drops() -> None:
    zone = FleetMessage(SUBJECTS.subject(FleetKind.ZONE), "z", b'{"kind": "zone", "zone": {}}')
    assert dropped_alert(zone) is None
    assert dropped_alert(FleetMessage(RAISED_A.subject, "x", b"not json")) is None
    assert dropped_alert(FleetMessage(RAISED_A.subject, "x", b'{"kind": "alert"}')) is None


def test_per_alert_the_newest_dropped_transition_is_kept_in_any_order() -> None:
    for order in ([RAISED_A, RESOLVED_A, ACKED_A], [RESOLVED_A, RAISED_A, ACKED_A]):
        pending: dict[str, DroppedAlert] = {}
        for message in [*order, RAISED_B]:
            pending = note_dropped(pending, drop(message))
        assert {k: v.message for k, v in pending.items()} == {
            "a:1": RESOLVED_A,
            "b:1": RAISED_B,
        }


def test_note_dropped_leaves_its_input_alone() -> None:
    pending = {"a:1": drop(RAISED_A)}
    note_dropped(pending, drop(RESOLVED_A))
    assert pending["a:1"].message is RAISED_A


def test_the_store_s_latest_transition_is_sent_not_the_dropped_one() -> None:
    # raised was dropped; since then the center resolved it: the province needs that
    pending = {"a:1": drop(RAISED_A)}
    latest = {"a:1": ("resolved", alert("a:1", AlertState.RESOLVED, 6))}
    assert resend_messages(SUBJECTS, pending, latest) == [RESOLVED_A]


def test_the_same_transition_again_has_the_id_it_was_first_sent_with() -> None:
    pending = {"a:1": drop(ACKED_A)}
    latest = {"a:1": ("acknowledged", alert("a:1", AlertState.ACKNOWLEDGED, 3))}
    [again] = resend_messages(SUBJECTS, pending, latest)
    assert again.msg_id == ACKED_A.msg_id  # a JetStream duplicate if it was stored after all


def test_a_newer_transition_has_an_id_of_its_own() -> None:
    pending = {"a:1": drop(ACKED_A)}
    latest = {"a:1": ("resolved", alert("a:1", AlertState.RESOLVED, 6))}
    [again] = resend_messages(SUBJECTS, pending, latest)
    assert again.msg_id not in {RAISED_A.msg_id, ACKED_A.msg_id}
    assert again.msg_id.endswith(":resolved:" + (T0 + timedelta(minutes=6)).isoformat())


def test_without_the_store_s_word_the_dropped_message_itself_goes() -> None:
    pending = {"a:1": drop(RESOLVED_A), "b:1": drop(RAISED_B)}
    older = {"a:1": ("raised", alert("a:1", AlertState.ACTIVE, 1))}  # a store that lags
    assert resend_messages(SUBJECTS, pending, older) == [RAISED_B, RESOLVED_A]
    assert resend_messages(SUBJECTS, pending, {}) == [RAISED_B, RESOLVED_A]


def test_re_sends_go_oldest_first_then_by_alert_id() -> None:
    c = sent("c:1", "raised", AlertState.ACTIVE, 2)
    pending = {"c:1": drop(c), "a:1": drop(RAISED_A), "b:1": drop(RAISED_B)}
    latest = {
        "a:1": ("resolved", alert("a:1", AlertState.RESOLVED, 6)),
        "b:1": ("raised", alert("b:1", AlertState.ACTIVE, 2)),
    }
    assert resend_messages(SUBJECTS, pending, latest) == [RAISED_B, c, RESOLVED_A]


def test_nothing_dropped_nothing_sent() -> None:
    latest = {"a:1": ("resolved", alert("a:1", AlertState.RESOLVED, 6))}
    assert resend_messages(SUBJECTS, {}, latest) == []
