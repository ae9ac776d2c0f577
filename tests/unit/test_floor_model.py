"""The floor picture end to end, without I/O: observations -> zone states -> conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config_loader import load_settings
from gateway.floor_model import FloorModel
from gateway.observations import (
    Climate,
    DeviceHealth,
    DeviceKind,
    DoorTraffic,
    PeopleCount,
    TicketEvent,
    TicketEventKind,
)
from gateway.settings import CameraConfig, CameraRoi, CrowdLevel, OnvifEndpoint, Settings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 local, open


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def demo(**update: object) -> Settings:
    s = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    return s.model_copy(update=update) if update else s


HALL_CAMERA = CameraConfig(
    id="cam-hall",
    name="Hall",
    onvif=OnvifEndpoint(host="10.0.0.9"),
    rois=[CameraRoi(zone="f1-entrance", polygon=[(0, 0), (1, 0), (1, 1)])],
)


def rules_of(model: FloorModel, now: datetime) -> set[str]:
    return {c.key for c in model.conditions(now, spool_fill=0.0, spool_warn=0.5)}


def test_presence_drives_the_level_and_the_crowd_alert() -> None:
    m = FloorModel(demo(), start=T0)
    # f2-waiting: 312 m², capacity 180, dwell 60 s; crowded from 0.8 x 180 = 144
    for i, n in enumerate([20, 150, 150, 150]):
        m.apply(PeopleCount("f2-waiting", "pc-f2-waiting", n, at(i * 30)))
        states = {s.zone_id: s for s in m.evaluate(at(i * 30))}
    w = states["f2-waiting"]
    assert (w.method, w.occupancy, w.level) == ("presence", 150, CrowdLevel.CROWDED)
    assert w.capacity_ratio == 150 / 180
    assert w.level_of_service == "A"  # 312 / 150 = 2.1 m² a person
    assert "crowd_level:f2-waiting" in rules_of(m, at(90))


def test_stale_presence_holds_the_last_figure_with_no_confidence() -> None:
    m = FloorModel(demo(), start=T0)
    m.apply(PeopleCount("f2-counters", "pc-f2-counters", 40, at(0)))
    m.evaluate(at(0))
    [s] = [z for z in m.evaluate(at(200)) if z.zone_id == "f2-counters"]
    assert (s.method, s.occupancy, s.confidence) == ("none", 40, 0.0)
    # the presence sensor went stale; the hall camera never reported
    assert {r.source_id: r.fresh for r in s.sources} == {
        "pc-f2-counters": False,
        "cam-f2-hall": False,
    }


def test_queue_expected_wait_and_waiting_time_alert() -> None:
    m = FloorModel(demo(), start=T0)
    # land: counters 1-4, 900 s per dossier; two counters seen working
    for i in range(12):
        m.apply(TicketEvent("land", f"A{i:03}", TicketEventKind.ISSUED, at(0), "qms"))
    for counter in (1, 2):
        m.apply(
            TicketEvent("land", f"A{counter:03}", TicketEventKind.CALLED, at(1), "qms", counter)
        )
    [wait] = [w for w in m.service_waits(at(2)) if w.service_id == "land"]
    assert (wait.waiting, wait.open_counters) == (10, 2)
    assert wait.expected_wait_s == 10 * 900 / 2
    [s] = [z for z in m.evaluate(at(2)) if z.zone_id == "f2-waiting"]
    assert s.waiting_tickets == 10 and s.expected_wait_s == 4500
    assert "waiting_time:land" in rules_of(m, at(2))
    # counters idle for longer than counter_idle_s: all four count as open again
    [later] = [w for w in m.service_waits(at(1802)) if w.service_id == "land"]
    assert later.open_counters == 4


def test_closing_resets_door_balances_and_waiting_tickets() -> None:
    m = FloorModel(demo(), start=T0)
    m.apply(DoorTraffic("d-main", "dc-main", entries=30, exits=5, at=at(0)))
    m.apply(TicketEvent("civil", "B001", TicketEventKind.ISSUED, at(0), "qms"))
    m.evaluate(at(0))
    assert m.doors.balances["f1-entrance"].people == 25
    closing = datetime.fromisoformat("2026-12-01T17:00:30+07:00")
    m.evaluate(closing)
    assert m.doors.balances["f1-entrance"].people == 0
    assert m.doors.balances["f1-entrance"].anchored
    assert len(m.state.queues["civil"].waiting) == 0


def test_camera_counts_win_and_re_anchor_the_doors() -> None:
    m = FloorModel(demo(cameras=[HALL_CAMERA]), start=T0)
    m.apply(DoorTraffic("d-main", "dc-main", entries=80, exits=0, at=at(0)))
    m.apply(PeopleCount("f1-entrance", "pc-f1-entrance", 50, at(0)))
    m.apply(PeopleCount("f1-entrance", "cam-hall", 44, at(0), confidence=0.9))
    [s] = [z for z in m.evaluate(at(1)) if z.zone_id == "f1-entrance"]
    assert (s.method, s.occupancy, s.confidence) == ("camera", 44, 0.9)
    assert m.doors.balances["f1-entrance"].people == 44
    # the camera stalls: presence takes over, and the camera raises an alert after its dwell
    m.apply(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, at(2), "stalled"))
    [s] = [z for z in m.evaluate(at(2)) if z.zone_id == "f1-entrance"]
    assert s.method == "presence"
    conditions = {c.key: c for c in m.conditions(at(2), spool_fill=None, spool_warn=0.5)}
    assert conditions["camera_stalled:cam-hall"].zone_id == "f1-entrance"


def test_climate_and_device_conditions() -> None:
    m = FloorModel(demo(), start=T0)
    m.apply(Climate("f2-waiting", "cl-f2-waiting", at(0), temperature_c=30.5, co2_ppm=1400))
    m.apply(DeviceHealth("pc-f2-waiting", DeviceKind.SENSOR, False, at(0), "stale"))
    m.apply(DeviceHealth("cl-f2-waiting", DeviceKind.SENSOR, True, at(0), battery_pct=9))
    m.evaluate(at(1))
    keys = rules_of(m, at(1))
    assert {
        "temperature_high:f2-waiting",
        "co2_high:f2-waiting",
        "sensor_stale:pc-f2-waiting",
        "battery_low:cl-f2-waiting",
    } <= keys
    assert "spool_backlog:spool" in {
        c.key for c in m.conditions(at(1), spool_fill=0.7, spool_warn=0.5)
    }


def test_a_zone_with_no_source_holds_its_alerts_and_restored_level() -> None:
    m = FloorModel(demo(), start=T0)
    m.restore_levels({"f2-waiting": (CrowdLevel.CROWDED, 150)})
    [s] = [z for z in m.evaluate(at(0)) if z.zone_id == "f2-waiting"]
    assert (s.level, s.occupancy, s.method) == (CrowdLevel.CROWDED, 150, "none")
    assert s.waiting_tickets is None  # no ticket event since the start: unknown, not 0
    assert {"crowd_level:f2-waiting", "capacity:f2-waiting", "waiting_time:land"} <= m.unknown(
        at(1)
    )
    # the sensor reports: the restored level falls only below 144 x 0.9
    m.apply(PeopleCount("f2-waiting", "pc-f2-waiting", 131, at(1)))
    [s] = [z for z in m.evaluate(at(1)) if z.zone_id == "f2-waiting"]
    assert (s.level, s.method) == (CrowdLevel.CROWDED, "presence")
    assert "crowd_level:f2-waiting" not in m.unknown(at(1))


def test_camera_tamper_is_sticky_and_motion_is_not_health() -> None:
    m = FloorModel(demo(cameras=[HALL_CAMERA]), start=T0)
    streaming = DeviceHealth("cam-hall", DeviceKind.CAMERA, True, at(0), "state=streaming")
    m.apply(streaming)
    m.apply(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, at(1), "motion"))
    assert m.state.devices["cam-hall"] is streaming
    m.apply(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, at(2), "tampered"))
    m.apply(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, at(3), "state=streaming"))
    m.evaluate(at(3))
    keys = {c.key for c in m.conditions(at(3), spool_fill=None, spool_warn=0.5)}
    assert "camera_tampered:cam-hall" in keys
    m.apply(DeviceHealth("cam-hall", DeviceKind.CAMERA, True, at(4), "tamper_cleared"))
    keys = {c.key for c in m.conditions(at(4), spool_fill=None, spool_warn=0.5)}
    assert "camera_tampered:cam-hall" not in keys
    # the ONVIF link of a camera is a device of its own; its id is made topic-safe
    m.apply(DeviceHealth("cam-hall/onvif", DeviceKind.CAMERA, False, at(5), "unreachable"))
    keys = {c.key for c in m.conditions(at(5), spool_fill=None, spool_warn=0.5)}
    assert "camera_offline:cam-hall_onvif" in keys


def test_a_device_in_maintenance_keeps_its_alerts_as_they_are() -> None:
    from gateway.settings import MaintenanceWindow

    window = MaintenanceWindow(device="pc-f2-waiting", start=at(0), end=at(3600))
    s = demo()
    m = FloorModel(
        s.model_copy(update={"alerts": s.alerts.model_copy(update={"maintenance": [window]})}),
        start=T0,
    )
    m.apply(DeviceHealth("pc-f2-waiting", DeviceKind.SENSOR, False, at(1), "stale"))
    m.evaluate(at(1))
    assert "sensor_stale:pc-f2-waiting" not in {
        c.key for c in m.conditions(at(1), spool_fill=None, spool_warn=0.5)
    }
    assert "sensor_stale:pc-f2-waiting" in m.unknown(at(1))
    assert "sensor_stale:pc-f2-waiting" not in m.unknown(at(3600))


def test_battery_is_remembered_across_health_reports_without_it() -> None:
    m = FloorModel(demo(), start=T0)
    m.apply(DeviceHealth("cl-f1-canteen", DeviceKind.SENSOR, True, at(0), battery_pct=9))
    m.apply(DeviceHealth("cl-f1-canteen", DeviceKind.SENSOR, True, at(5), "reporting again"))
    m.evaluate(at(5))
    assert "battery_low:cl-f1-canteen" in rules_of(m, at(5))
    m.apply(DeviceHealth("cl-f1-canteen", DeviceKind.SENSOR, True, at(9), battery_pct=100))
    assert "battery_low:cl-f1-canteen" not in rules_of(m, at(9))
