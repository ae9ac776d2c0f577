"""The zone figure and the capacity alert agree: waiting tickets (a lower bound) never
clear a crowd a camera or sensor saw, while those are unusable; in a zone counted only
from tickets they are the best figure there is, and judge as usual."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.alerts import AlertBook, alert_key
from gateway.config_loader import load_settings
from gateway.floor_model import FloorModel
from gateway.observations import PeopleCount, TicketEvent, TicketEventKind
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 local, open
CAPACITY = alert_key("capacity", "f2-waiting")


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def demo() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


def tickets_only() -> Settings:
    """The demo with f2-waiting counted from its tickets alone."""
    s = demo()
    cameras = [
        c.model_copy(update={"rois": [r for r in c.rois if r.zone != "f2-waiting"]})
        for c in s.cameras
    ]
    sensors = [x for x in s.sensors if x.id != "pc-f2-waiting"]
    return s.model_copy(update={"cameras": cameras, "sensors": sensors})


def run(settings: Settings) -> tuple[FloorModel, AlertBook, list[str]]:
    """190 people seen by the camera (capacity 180), then the camera loses confidence
    while 14 tickets wait; returns each step's (method, occupancy) and the alerts."""
    m = FloorModel(settings, start=T0)
    book = AlertBook(renotify_s=600, escalate_s=None, clear_s=60)
    for i in range(14):
        m.apply(TicketEvent("land", f"A{i:03}", TicketEventKind.ISSUED, at(0), "qms"))
    seen: list[str] = []
    for t in range(0, 600, 10):
        camera_sure = t < 120
        for source in ("cam-f2-hall", "pc-f2-waiting"):
            if t < 120 or source == "cam-f2-hall":
                m.apply(PeopleCount("f2-waiting", source, 190, at(t), 0.9 if camera_sure else 0.2))
        states = {s.zone_id: s for s in m.evaluate(at(t))}
        w = states["f2-waiting"]
        seen.append(f"{w.method} {w.occupancy}")
        conditions = m.conditions(at(t), spool_fill=None, spool_warn=0.5)
        book.evaluate(at(t), conditions, m.unknown(at(t)))
    return m, book, seen


def test_tickets_do_not_clear_a_crowd_the_camera_saw() -> None:
    _, book, seen = run(demo())
    assert seen[0] == "camera 190"
    assert seen[-1] == "queue 14", "the figure shown is the lower bound"
    assert CAPACITY in book.active, "the capacity alert stays while no counter can say"


def test_in_a_zone_counted_from_tickets_alone_they_judge() -> None:
    m, book, seen = run(tickets_only())
    assert set(seen) == {"queue 14"}
    assert CAPACITY not in m.unknown(at(600))
    assert CAPACITY not in book.active
