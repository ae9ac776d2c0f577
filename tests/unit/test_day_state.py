"""Waiting tickets and door balances saved and restored across a restart (gateway.day_state)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.config_loader import load_settings
from gateway.floor_model import FloorModel
from gateway.observations import DoorTraffic, TicketEvent, TicketEventKind
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 local, open


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def demo() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


def busy_morning() -> FloorModel:
    m = FloorModel(demo(), start=T0)
    for i in range(12):
        m.apply(TicketEvent("land", f"A{i:03}", TicketEventKind.ISSUED, at(i), "qms"))
    m.apply(TicketEvent("land", "A000", TicketEventKind.CALLED, at(20), "qms", 3))
    m.apply(TicketEvent("civil", "B001", TicketEventKind.ISSUED, at(21), "qms"))
    m.apply(DoorTraffic("d-main", "dc-main", entries=40, exits=7, at=at(30)))
    m.evaluate(at(31))
    return m


def saved(m: FloorModel) -> dict[str, object]:
    return json.loads(json.dumps(m.day_state()))  # through JSON, as the store keeps it


def test_a_restart_gets_back_the_waiting_tickets_and_door_balances() -> None:
    before = busy_morning()
    after = FloorModel(demo(), start=at(60))
    result = after.restore_day_state(saved(before), saved_at=at(31), now=at(60))
    assert (result.skipped, result.queues, result.waiting) == (None, 2, 12)
    assert after.state.queues["land"].waiting == {f"A{i:03}" for i in range(1, 12)}
    assert after.state.queues["land"].counters == {3: at(20)}
    assert after.doors.balances["f1-entrance"].people == 33
    [land] = [w for w in after.service_waits(at(61)) if w.service_id == "land"]
    assert (land.waiting, land.open_counters) == (11, 1)  # the estimate goes on where it was
    assert after.day_state() == before.day_state()


def test_nothing_comes_back_across_a_closing() -> None:
    before = busy_morning()
    after = FloorModel(demo(), start=at(86400))
    result = after.restore_day_state(saved(before), saved_at=at(31), now=at(86400))
    assert result.skipped == "the site has closed since it was saved"
    assert after.state.queues == {}
    assert after.doors.balances["f1-entrance"].people == 0


def test_service_groups_and_zones_the_config_no_longer_has_are_skipped() -> None:
    data = saved(busy_morning())
    data["queues"]["gone"] = data["queues"]["civil"]  # type: ignore[index]
    data["balances"]["gone-zone"] = {"people": 5, "anchored": True, "at": None}  # type: ignore[index]
    after = FloorModel(demo(), start=at(60))
    result = after.restore_day_state(data, saved_at=at(31), now=at(60))
    assert result.queues == 2 and "gone" not in after.state.queues
    assert "gone-zone" not in after.doors.balances


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda d: d.update(version=99), "saved by another version (99)"),
        (lambda d: d.pop("queues"), "unreadable: KeyError"),
        (lambda d: d["queues"]["land"].update(waiting="A001"), "unreadable: TypeError"),
        (lambda d: d["balances"]["f1-entrance"].update(at="yesterday"), "unreadable: ValueError"),
        (lambda d: d["queues"]["land"].update(counters={"x": "2026-12-01T09:00:00"}), "unreadable"),
    ],
)
def test_an_unreadable_save_is_skipped_and_changes_nothing(mangle: object, reason: str) -> None:
    data = saved(busy_morning())
    mangle(data)  # type: ignore[operator]
    after = FloorModel(demo(), start=at(60))
    result = after.restore_day_state(data, saved_at=at(31), now=at(60))
    assert result.skipped is not None and result.skipped.startswith(reason)
    assert after.state.queues == {}
    assert after.doors.balances["f1-entrance"].people == 0
