"""The province page's pure logic from literal site documents: rows, order, offline, filters,
a center's month against the others, and the central file's page sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.config_loader import ConfigError
from gateway.fleet.central_config import parse_central
from gateway.fleet.month import (
    MonthError,
    busiest_hours,
    month_range,
    percentile,
    top_hours,
    wait_league,
)
from gateway.fleet.overview import (
    Attention,
    Link,
    Registered,
    WaitLimits,
    areas_of,
    center_row,
    center_rows,
    filter_rows,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hue


def doc(
    age_s: float = 5,
    zones: dict[str, tuple[int | None, str | None, float | None]] | None = None,
    alerts: list[str] = (),  # type: ignore[assignment]
    down: int = 0,
    up: int = 2,
) -> dict[str, Any]:
    """A fleet_sites document as fleet run writes it."""
    at = (NOW - timedelta(seconds=age_s)).isoformat()
    return {
        "v": 1,
        "last_seen": at,
        "zones": {
            z: {"at": at, "occupancy": n, "level": lvl, "expected_wait_s": w, "capacity_ratio": 0.5}
            for z, (n, lvl, w) in (zones or {"waiting": (10, "calm", 60.0)}).items()
        },
        "alerts": {
            f"a{i}": {"at": at, "rule": "crowd_level", "severity": sev, "state": "active"}
            for i, sev in enumerate(alerts)
        },
        "devices": {
            **{f"down{i}": {"at": at, "online": False, "detail": "x"} for i in range(down)},
            **{f"up{i}": {"at": at, "online": True, "detail": ""} for i in range(up)},
        },
    }


def order(states: dict[str, Any], registry: list[Registered] = ()) -> list[str]:  # type: ignore[assignment]
    return [r.key for r in center_rows(states, registry, NOW, 600)]


def test_a_row_sums_people_takes_the_worst_level_the_longest_wait_and_counts() -> None:
    state = doc(
        zones={
            "entrance": (12, "busy", 30.0),
            "waiting": (80, "crowded", 900.0),
            "counters": (None, None, None),
        },
        alerts=["warning", "critical"],
        down=1,
        up=3,
    )
    reg = Registered("hue", "thuan-hoa", "TT Thuận Hóa", "Thuận Hóa", "http://10.1.1.1:8080/ui/")
    row = center_row("hue.thuan-hoa", state, reg, NOW, 600)
    assert (row.people, row.level, row.longest_wait_s, row.longest_wait_zone) == (
        92,
        "crowded",
        900.0,
        "waiting",
    )
    assert (row.open_alerts, row.critical_alerts, row.devices, row.devices_down) == (2, 1, 4, 1)
    assert (row.link, row.age_s, row.name, row.area) == (
        Link.LIVE,
        5.0,
        "TT Thuận Hóa",
        "Thuận Hóa",
    )
    assert row.attention is Attention.URGENT  # a critical alert open
    assert row.reasons == ("crowded", "critical_alerts", "alerts", "devices_down")


def test_offline_after_the_threshold_and_never_for_a_registered_silent_site() -> None:
    assert center_row("p.a", doc(age_s=600), None, NOW, 600).link is Link.LIVE
    late = center_row("p.a", doc(age_s=601), None, NOW, 600)
    assert (late.link, late.attention, late.reasons[0]) == (Link.OFFLINE, Attention.ACT, "offline")
    reg = Registered("p", "b", "B")
    never = center_row("p.b", None, reg, NOW, 600)
    assert (never.link, never.last_seen, never.people, never.level) == (
        Link.NEVER,
        None,
        None,
        None,
    )
    # a site clock ahead of ours is not "negative age"
    assert center_row("p.a", doc(age_s=-30), None, NOW, 600).age_s == 0.0
    # an unregistered site is shown under its ids
    row = center_row("p.zz", doc(), None, NOW, 600)
    assert (row.name, row.area, row.registered, row.control_room) == ("zz", "", False, None)


def test_the_order_puts_what_needs_attention_first() -> None:
    states = {
        "p.calm": doc(zones={"w": (5, "calm", 30.0)}),
        "p.busy": doc(zones={"w": (40, "busy", 300.0)}),
        "p.crowded": doc(zones={"w": (90, "crowded", 600.0)}),
        "p.critical": doc(zones={"w": (200, "critical", 1200.0)}),
        "p.offline": doc(age_s=3600, zones={"w": (250, "critical", 2000.0)}),
        "p.alert": doc(zones={"w": (5, "calm", 30.0)}, alerts=["critical"]),
        "p.device": doc(zones={"w": (5, "calm", 30.0)}, down=1),
    }
    reg = [Registered("p", "never", "Never")]
    assert order(states, reg) == [
        "p.critical",  # urgent, critical level
        "p.alert",  # urgent by a critical alert, level calm
        "p.crowded",  # act, live
        "p.never",  # act: cannot be seen (never before silent: longer)
        "p.offline",  # act: its stale "critical" does not count
        "p.busy",  # watch: busy, longer wait
        "p.device",  # watch: a device down
        "p.calm",
    ]


def test_within_a_tier_alerts_then_wait_then_people_then_name() -> None:
    states = {
        "p.b": doc(zones={"w": (50, "busy", 300.0)}),
        "p.a": doc(zones={"w": (50, "busy", 300.0)}),
        "p.wait": doc(zones={"w": (10, "busy", 900.0)}),
        "p.people": doc(zones={"w": (99, "busy", 300.0)}),
        "p.alerts": doc(zones={"w": (1, "busy", 1.0)}, alerts=["warning", "warning"]),
    }
    assert order(states) == ["p.alerts", "p.wait", "p.people", "p.a", "p.b"]


def test_a_center_turning_crowded_rises_above_an_offline_one() -> None:
    states = {"p.x": doc(zones={"w": (30, "busy", 100.0)}), "p.off": doc(age_s=9999)}
    assert order(states) == ["p.off", "p.x"]
    states["p.x"] = doc(zones={"w": (120, "crowded", 100.0)})
    assert order(states) == ["p.x", "p.off"]


PROVINCE_WAITS = WaitLimits.minutes(30, 60)  # the central file's defaults


def test_a_long_wait_raises_a_calm_center_by_the_province_thresholds() -> None:
    # the screenshot of issue 16: 19 people, calm, no alert, a 70-minute longest wait
    commune = doc(zones={"hall": (19, "calm", 70 * 60.0)})
    row = center_row("hue.a-luoi", commune, None, NOW, 600, PROVINCE_WAITS)
    assert (row.attention, row.reasons) == (Attention.ACT, ("wait_act",))
    assert (row.wait_watch_s, row.wait_act_s) == (1800.0, 3600.0)
    # over the watch threshold only: watched, after the level and the alerts in the reasons
    slow = doc(zones={"hall": (19, "busy", 45 * 60.0)}, alerts=["warning"])
    row = center_row("hue.b", slow, None, NOW, 600, PROVINCE_WAITS)
    assert (row.attention, row.reasons) == (Attention.WATCH, ("busy", "alerts", "wait_watch"))
    # at the threshold (not over it), or without thresholds: calm
    at = doc(zones={"hall": (19, "calm", 30 * 60.0)})
    assert center_row("hue.c", at, None, NOW, 600, PROVINCE_WAITS).attention is Attention.CALM
    assert center_row("hue.a-luoi", commune, None, NOW, 600).reasons == ()
    # a crowded center with a long wait stays act; a critical one urgent
    crowded = doc(zones={"hall": (90, "crowded", 80 * 60.0)})
    row = center_row("hue.d", crowded, None, NOW, 600, PROVINCE_WAITS)
    assert (row.attention, row.reasons) == (Attention.ACT, ("crowded", "wait_act"))
    # offline: act whatever its last wait (the reason is still given, its figures shown old)
    old = doc(age_s=3600, zones={"hall": (19, "calm", 70 * 60.0)})
    row = center_row("hue.e", old, None, NOW, 600, PROVINCE_WAITS)
    assert (row.attention, row.reasons) == (Attention.ACT, ("offline", "wait_act"))


def test_a_registered_centers_own_wait_thresholds_replace_the_provinces() -> None:
    states = {
        "hue.land": doc(zones={"hall": (19, "calm", 70 * 60.0)}),
        "hue.ward": doc(zones={"hall": (19, "calm", 40 * 60.0)}),
        "hue.quiet": doc(zones={"hall": (5, "calm", 5 * 60.0)}),
    }
    registry = [Registered("hue", "land", "Land office", waits=WaitLimits.minutes(60, 90))]
    rows = {r.key: r for r in center_rows(states, registry, NOW, 600, PROVINCE_WAITS)}
    assert (rows["hue.land"].attention, rows["hue.land"].reasons) == (
        Attention.WATCH,
        ("wait_watch",),
    )
    assert (rows["hue.land"].wait_watch_s, rows["hue.land"].wait_act_s) == (3600.0, 5400.0)
    assert rows["hue.ward"].reasons == ("wait_watch",)
    # the order: within the watch tier the longest wait first
    order_ = [r.key for r in center_rows(states, registry, NOW, 600, PROVINCE_WAITS)]
    assert order_ == ["hue.land", "hue.ward", "hue.quiet"]
    # thresholds off: nothing judged
    off = WaitLimits(None, None)
    assert all(r.attention is Attention.CALM for r in center_rows(states, [], NOW, 600, off))


def test_filters_by_area_province_and_link() -> None:
    reg = [
        Registered("hue", "a", "A", "Thuận Hóa"),
        Registered("hue", "b", "B", "Phú Xuân"),
        Registered("hue", "c", "C", "thuận hóa"),
        Registered("da-nang", "d", "D", "Hải Châu"),
    ]
    states = {"hue.a": doc(), "hue.b": doc(age_s=9999), "hue.e": doc()}
    rows = center_rows(states, reg, NOW, 600)
    assert [r.key for r in filter_rows(rows, areas=["Thuận Hóa"])] == ["hue.c", "hue.a"]
    assert {r.key for r in filter_rows(rows, areas=["phú xuân", "Hải Châu"])} == {
        "hue.b",
        "da-nang.d",
    }
    assert [r.key for r in filter_rows(rows, areas=[""])] == ["hue.e"]  # "no area"
    assert {r.key for r in filter_rows(rows, province="hue", link=Link.OFFLINE)} == {"hue.b"}
    assert {r.key for r in filter_rows(rows, link=Link.NEVER)} == {"hue.c", "da-nang.d"}
    assert areas_of(rows) == ["Hải Châu", "Phú Xuân", "Thuận Hóa", "thuận hóa"]


def test_unreadable_documents_are_rows_without_figures() -> None:
    row = center_row(
        "p.a", {"last_seen": "not a time", "zones": [1, 2], "alerts": None}, None, NOW, 600
    )
    assert (row.link, row.zones, row.open_alerts, row.people) == (Link.NEVER, 0, 0, None)


# --------------------------------------------------------------------------- month


def test_month_range_is_the_local_month_in_utc() -> None:
    m = month_range("2026-11", NOW, "Asia/Ho_Chi_Minh")
    assert (m.label, m.start, m.end) == (
        "2026-11",
        datetime(2026, 10, 31, 17, tzinfo=UTC),
        datetime(2026, 11, 30, 17, tzinfo=UTC),
    )
    assert (
        month_range(None, datetime(2026, 11, 30, 18, tzinfo=UTC), "Asia/Ho_Chi_Minh").label
        == "2026-12"
    )
    assert month_range("2026-12", NOW, "Asia/Ho_Chi_Minh").end == datetime(
        2026, 12, 31, 17, tzinfo=UTC
    )
    for bad in ("2026-13", "26-11", "2026-1", "november"):
        with pytest.raises(MonthError):
            month_range(bad, NOW, "Asia/Ho_Chi_Minh")


def hour(day: int, h_local: int) -> datetime:
    return datetime(2026, 11, day, h_local - 7, tzinfo=UTC)


def test_busiest_hours_beside_the_others() -> None:
    people = {
        "p.me": {hour(2, 8): 40.0, hour(3, 8): 60.0, hour(2, 9): 120.0, hour(2, 14): 80.0},
        "p.o1": {hour(2, 8): 10.0, hour(2, 9): 30.0},
        "p.o2": {hour(2, 9): 90.0, hour(2, 10): 5.0},
    }
    rows = busiest_hours(people, "p.me", "Asia/Ho_Chi_Minh")
    assert [(r.hour, r.people, r.others_mean, r.others_max, r.others) for r in rows] == [
        (8, 50.0, 10.0, 10.0, 1),
        (9, 120.0, 60.0, 90.0, 2),
        (10, None, 5.0, 5.0, 1),
        (14, 80.0, None, None, 0),
    ]
    assert top_hours(rows) == [9, 14, 8]


def test_the_wait_league_by_mean_then_p90_then_key() -> None:
    league = wait_league(
        {
            "p.slow": [600.0, 1200.0, 1800.0],
            "p.fast": [60.0, 120.0],
            "p.tie-b": [300.0, 300.0],
            "p.tie-a": [100.0, 500.0],
            "p.none": [],
        }
    )
    assert [(r.rank, r.key, r.hours, r.mean_wait_s, r.p90_wait_s) for r in league] == [
        (1, "p.fast", 2, 90.0, 120.0),
        (2, "p.tie-b", 2, 300.0, 300.0),
        (3, "p.tie-a", 2, 300.0, 500.0),
        (4, "p.slow", 3, 1200.0, 1800.0),
    ]
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile([5.0], 90) == 5.0


# --------------------------------------------------------------------------- central file


def test_the_central_file_takes_the_page_sections() -> None:
    cfg = parse_central(
        """
api: {port: 8091, tokens: [{name: Sở, role: viewer, token: {env: T}}]}
overview: {offline_after_s: 300, timezone: Asia/Ho_Chi_Minh}
sites:
  - {province: hue, id: thuan-hoa, name: TT Thuận Hóa, area: Thuận Hóa,
     control_room: "http://10.1.1.1:8080/ui/"}
  - {province: hue, id: phu-xuan, name: TT Phú Xuân}
""",
        {"T": "a-viewer-token-0123456789"},
    )
    assert cfg.api.port == 8091 and cfg.overview.offline_after_s == 300
    assert [s.key for s in cfg.sites] == ["hue.thuan-hoa", "hue.phu-xuan"]
    assert cfg.sites[1].control_room is None and cfg.sites[1].area == ""
    # its own cookie by default: beside a control room on one host, two logins coexist
    assert parse_central("", {}).api.cookie_name == "floorwatch_province_session"
    assert parse_central("", {}).api.port == 8090


def test_the_wait_thresholds_a_center_an_area_and_the_province() -> None:
    cfg = parse_central(
        """
overview:
  wait_watch_min: 20
  area_waits: {"phú vang": {wait_watch_min: 40, wait_act_min: 90}}
sites:
  - {province: hue, id: a, name: A, area: Phú Vang}
  - {province: hue, id: b, name: B, area: Phú Vang, wait_act_min: 120}
  - {province: hue, id: c, name: C, area: Thuận Hóa}
  - {province: hue, id: d, name: D, wait_watch_min: 45}
""",
        {},
    )
    assert [cfg.wait_thresholds(s) for s in cfg.sites] == [
        (40, 90),  # its area's (case-insensitive)
        (40, 120),  # its own act, its area's watch
        (20, 60),  # the province's (watch from the file, act the default)
        (45, 60),
    ]
    assert cfg.wait_thresholds(None) == (20, 60)  # a center not in the registry
    defaults = parse_central("", {})
    assert (defaults.overview.wait_watch_min, defaults.overview.wait_act_min) == (30, 60)
    off = parse_central("overview: {wait_watch_min: null, wait_act_min: null}", {})
    assert off.wait_thresholds(None) == (None, None)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "sites: [{province: hue, id: a, name: A}, {province: hue, id: a, name: B}]",
            "sites listed twice: hue.a",
        ),
        (
            "sites: [{province: hue, id: a, name: A, control_room: 'http://u:p@h/ui/'}]",
            "sites.0.control_room",
        ),
        ("sites: [{province: Huế, id: a, name: A}]", "sites.0.province"),
        ("overview: {timezone: Mars/Olympus}", "overview.timezone"),
        ("overview: {offline_after_s: 0}", "overview.offline_after_s"),
        ("overview: {wait_watch_min: 90}", "wait_watch_min 90 is over wait_act_min 60"),
        ("overview: {wait_act_min: 0}", "overview.wait_act_min"),
        (
            "overview: {area_waits: {Nowhere: {wait_act_min: 90}}}",
            "no site in area Nowhere",
        ),
        (
            "sites: [{province: hue, id: a, name: A, wait_watch_min: 75}]",
            "hue.a: wait_watch_min 75 is over wait_act_min 60",
        ),
        ("api: {tokens: [{name: a, role: viewer, token: {env: NOPE}}]}", "NOPE"),
    ],
)
def test_the_page_sections_refuse_bad_values(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_central(text, {})
    assert where in str(caught.value) or any(where in str(i) for i in caught.value.issues)
