"""The daily report's figures from literal inputs (gateway.report.model)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.levels import LevelThresholds
from gateway.report.model import (
    AlertPoint,
    ClimatePoint,
    CounterHour,
    DayFigures,
    TicketPoint,
    ZoneRef,
    alert_stats,
    build_report,
    percentile,
    ticket_counts,
    wait_stats,
)
from gateway.report.texts import TEXTS
from gateway.settings import CrowdLevel

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 10, 14)


def local(h: int, m: int = 0) -> datetime:
    return datetime(2026, 10, 14, h, m, tzinfo=TZ)


def zone(zid: str, name: str) -> ZoneRef:
    return ZoneRef(zid, name, LevelThresholds(40, 70, 90), (26.0, 28.0), (60.0, 70.0), 1000.0)


def tp(service: str, ticket: str, event: str, at: datetime) -> TicketPoint:
    return TicketPoint(service, ticket, event, at)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_tickets_count_distinct_tickets_per_event_and_keep_the_site_order() -> None:
    points = [
        tp("tax", "T1", "issued", local(8)),
        tp("tax", "T1", "issued", local(8)),  # a replayed point is one ticket
        tp("tax", "T2", "issued", local(8, 5)),
        tp("tax", "T1", "called", local(8, 20)),
        tp("tax", "T1", "served", local(8, 30)),
        tp("tax", "T2", "no_show", local(9)),
        tp("land", "L1", "issued", local(9)),
        tp("ghost", "G1", "issued", local(9)),  # a group no longer configured is still counted
    ]
    rows = ticket_counts(points, {"land": "Đất đai", "tax": "Thuế", "idle": "Trống"})
    assert [(r.service, r.issued, r.served, r.no_show) for r in rows] == [
        ("land", 1, 0, 0),
        ("tax", 2, 1, 1),
        ("idle", 0, 0, 0),
        ("ghost", 1, 0, 0),
    ]
    assert rows[0].name == "Đất đai" and rows[3].name == "ghost"


def test_waits_pair_issue_with_first_call() -> None:
    points = [tp("tax", f"T{i}", "issued", local(8)) for i in range(5)]
    points += [
        tp("tax", f"T{i}", "called", local(8) + timedelta(minutes=10 * (i + 1))) for i in range(4)
    ]
    points.append(tp("tax", "T0", "called", local(11)))  # a second call: the first one counts
    [w] = wait_stats(points, {"tax": "Thuế"})
    assert w.samples == 4  # T4 was never called
    assert (w.p50_min, w.max_min) == (25.0, 40.0)
    assert w.p90_min == pytest.approx(37.0)
    assert w.p95_min == pytest.approx(38.5)


def test_alert_stats_time_to_acknowledge() -> None:
    def ap(aid: str, sev: str, transition: str, at: datetime) -> AlertPoint:
        return AlertPoint(aid, "crowd_level", sev, "waiting", transition, at)

    points = [
        ap("a1", "critical", "raised", local(9)),
        ap("a1", "critical", "renotified", local(9, 5)),
        ap("a1", "critical", "acknowledged", local(9, 4)),
        ap("a1", "critical", "acknowledged", local(9, 30)),  # only the first ack counts
        ap("a2", "warning", "raised", local(10)),
        ap("a2", "warning", "acknowledged", local(10, 12)),
        ap("a3", "warning", "raised", local(11)),
        ap("a3", "warning", "resolved", local(11, 40)),
        ap("old", "warning", "acknowledged", local(8)),  # raised yesterday: not today's raise
    ]
    s = alert_stats(points)
    assert (s.raised, s.acknowledged, s.never_acknowledged) == (3, 2, 1)
    assert s.by_severity == (("warning", 2), ("critical", 1))
    assert s.ack_median_min == 8.0 and s.ack_max_min == 12.0
    empty = alert_stats([])
    assert empty.raised == 0 and empty.ack_median_min is None


def figures(**changes: object) -> DayFigures:
    base = DayFigures(
        site_id="hcc",
        site_name="Trung tâm Hành chính công",
        day=DAY,
        tz=TZ,
        open_hours=(8, 9, 10),
        zones=(zone("waiting", "Sảnh chờ"), zone("entrance", "Lối vào")),
        services={"tax": "Thuế"},
        occupancy={"waiting": {8: 20.0, 9: 55.5}, "entrance": {8: 3.0, 10: 4.0}},
        occupancy_last_week={"waiting": {8: 18.0, 9: 40.0, 10: 12.0}},
        peaks={
            "entrance": (95.0, local(8, 15).astimezone(UTC)),
            "waiting": (80.0, local(9, 40).astimezone(UTC)),
            "gone": (500.0, local(9).astimezone(UTC)),
        },
        tickets=[],
        alerts=[],
        counters=[
            CounterHour("tax", "Thuế", 8, 2, 2.0),
            CounterHour("tax", "Thuế", 9, 4, 3.0),
            CounterHour("tax", "Thuế", 10, 3, None),
        ],
        climate=[
            ClimatePoint("waiting", local(8), 27.0, 65.0, 800.0),
            ClimatePoint("waiting", local(9), 29.5, 65.0, 1200.0),
            ClimatePoint("waiting", local(10), 30.5, 72.0, 900.0),
            ClimatePoint("waiting", local(20), 35.0, 90.0, 2000.0),  # closed: not counted
            ClimatePoint("entrance", local(9), 25.0, None, None),
        ],
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_build_report_hours_peak_counters_and_excursions() -> None:
    r = build_report(figures())
    assert r.hours == (8, 9, 10) and r.last_week == date(2026, 10, 7)
    waiting = next(z for z in r.zones if z.zone == "waiting")
    assert waiting.today == (20.0, 55.5, None) and waiting.last_week == (18.0, 40.0, 12.0)
    assert r.peak is not None
    assert (r.peak.zone, r.peak.level, r.peak.at.hour, r.peak.at.minute) == (
        "entrance",
        CrowdLevel.CRITICAL,
        8,
        15,
    )
    assert [p.zone for p in r.peaks] == ["entrance", "waiting"]  # unknown zones left out
    [g] = r.counters
    assert g.needed == (2, 4, 3) and g.open_actual == (2.0, 3.0, None) and g.short_hours == (9,)
    ex = {(e.zone, e.quantity): e for e in r.excursions}
    assert set(ex) == {
        ("waiting", "temperature_c"),
        ("waiting", "humidity_pct"),
        ("waiting", "co2_ppm"),
        ("entrance", "temperature_c"),
    }
    t = ex[("waiting", "temperature_c")]
    assert (t.readings_out, t.readings, t.worst, t.first.hour, t.last.hour) == (2, 3, 30.5, 9, 10)
    assert ex[("waiting", "co2_ppm")].band == (None, 1000.0)
    assert ex[("entrance", "temperature_c")].worst == 25.0


def test_stored_levels_win_over_the_level_of_the_highest_count() -> None:
    # the engine held "waiting" crowded from 09:05 (dwell, hysteresis); its highest count
    # alone (80) would read crowded too, but the entrance's 95 would read critical: with
    # no stored level there, the entrance keeps the level of its count
    levels = {
        "waiting": [(local(9, 20), "crowded"), (local(9, 5), "crowded"), (local(8, 50), "busy")],
        "entrance": [],
    }
    r = build_report(figures(levels=levels))
    by = {p.zone: p for p in r.peaks}
    w = by["waiting"]
    assert (w.level, w.level_source, w.level_at.hour, w.level_at.minute) == (
        CrowdLevel.CROWDED,
        "stored",
        9,
        5,
    )
    assert (w.people, w.at.hour, w.at.minute) == (80.0, 9, 40)
    assert by["entrance"].level_source == "count" and r.peak is by["entrance"]
    stored_only = build_report(
        figures(levels={"waiting": [(local(10), "critical")], "entrance": [(local(8), "busy")]})
    )
    assert stored_only.peak is not None and stored_only.peak.zone == "waiting"
    assert stored_only.peak.level is CrowdLevel.CRITICAL


def test_totals_sum_the_groups() -> None:
    tickets = [tp("tax", "T1", "issued", local(8)), tp("land", "L1", "issued", local(8))]
    tickets += [tp("land", "L1", "served", local(9)), tp("tax", "T1", "no_show", local(9))]
    r = build_report(figures(tickets=tickets, services={"tax": "Thuế", "land": "Đất đai"}))
    t = r.totals
    assert (t.issued, t.served, t.no_show) == (2, 1, 1)


def test_both_languages_have_every_text() -> None:
    assert set(TEXTS["vi"]) == set(TEXTS["en"])
    assert TEXTS["vi"]["title"] == "Báo cáo ngày"
