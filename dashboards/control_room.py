"""The control-room dashboard: people and crowd level per zone, active alerts, device health,
camera events, new alerts per hour. Pure."""

# The queries are Grafana templates built from ids the site file validates ([a-z0-9_-]);
# no user input reaches them (Grafana fills in the variables, escaped, at query time).
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.common import (
    FUSED,
    SEVERITY_COLORS,
    SITE,
    ZONES,
    SiteView,
    base_dashboard,
    by_severity,
    hourly_bars,
    mapping,
    q,
    raised_per_hour,
    site_variable,
    steps,
    table_legend,
    with_names,
    with_zone_names,
    zone_variable,
)
from dashboards.texts import Texts

UID = "floorwatch-control-room"

# Stored values (as the engine writes them) and their colours; their words are in texts.py.
# The crowd levels: gateway.settings.CrowdLevel.
LEVELS = (("calm", "green"), ("busy", "yellow"), ("crowded", "orange"), ("critical", "red"))
ALERT_STATES = (("active", "red"), ("acknowledged", "orange"), ("resolved", "green"))
ONLINE = (("true", "green"), ("false", "red"))
EVENT_ACTIVE = (("true", "orange"), ("false", "green"))
# The alert rules (gateway.alert_rules), device kinds and camera events (gateway.observations).
RULES = (
    "crowd_level",
    "capacity",
    "waiting_time",
    "temperature_high",
    "temperature_low",
    "humidity_high",
    "humidity_low",
    "co2_high",
    "camera_offline",
    "camera_degraded",
    "camera_stalled",
    "camera_tampered",
    "sensor_stale",
    "battery_low",
    "spool_backlog",
)
KINDS = ("camera", "sensor", "gateway")
CAMERA_EVENTS = ("motion", "tamper", "video_loss")


def _words(t: Texts, prefix: str, states: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(stored value, its words, colour) for ``mapping``."""
    return [(v, t(f"{prefix}.{v}"), colour) for v, colour in states]


def _named(t: Texts, prefix: str, values: Sequence[str]) -> list[dm.ValueMapping]:
    """Value mappings that show stored ids as words, no colour."""
    return mapping([(v, t(f"{prefix}.{v}"), None) for v in values])


def _people_now(t: Texts) -> stat.Panel:
    return (
        stat.Panel()
        .title(t("people_now"))
        .description(t("people_now.desc"))
        .with_target(
            q(
                "A",
                f'SELECT last("count") FROM "zone_occupancy" WHERE {SITE} AND {FUSED} AND {ZONES}'
                ' AND $timeFilter GROUP BY "zone"',
                "$tag_zone",
            )
        )
        .unit("none")
        .decimals(0)
        .color_mode(cm.BigValueColorMode.NONE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(5)
        .span(12)
    )


def _fill_now(t: Texts) -> stat.Panel:
    return (
        stat.Panel()
        .title(t("fill_now"))
        .description(t("fill_now.desc"))
        .with_target(
            q(
                "A",
                f'SELECT last("capacity_ratio") FROM "zone_occupancy" WHERE {SITE} AND {FUSED} AND {ZONES}'
                ' AND $timeFilter GROUP BY "zone"',
                "$tag_zone",
            )
        )
        .unit("percentunit")
        .decimals(0)
        .thresholds(steps("green", (0.5, "yellow"), (0.8, "orange"), (1.0, "red")))
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(5)
        .span(12)
    )


def _levels(t: Texts) -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title(t("levels"))
        .description(t("levels.desc"))
        .with_target(
            q(
                "A",
                f'SELECT last("level") FROM "zone_occupancy" WHERE {SITE} AND {FUSED} AND {ZONES}'
                ' AND $timeFilter GROUP BY time($__interval), "zone" fill(none)',
                "$tag_zone",
            )
        )
        .mappings(mapping(_words(t, "level", LEVELS)))
        .show_value(cm.VisibilityMode.NEVER)
        .merge_values(True)
        .fill_opacity(70)
        .line_width(0)
        .height(8)
        .span(24)
    )


def _people_over_time(t: Texts) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(t("people_per_zone"))
        .with_target(
            q(
                "A",
                f'SELECT max("count") FROM "zone_occupancy" WHERE {SITE} AND {FUSED} AND {ZONES}'
                ' AND $timeFilter GROUP BY time($__interval), "zone" fill(none)',
                "$tag_zone",
            )
        )
        .unit("none")
        .min(0)
        .line_width(2)
        .fill_opacity(10)
        .span_nulls(True)
        .legend(table_legend(["lastNotNull", "max"]))
        .height(9)
        .span(24)
    )


def _alerts(t: Texts, view: SiteView) -> table.Panel:
    panel = (
        table.Panel()
        .title(t("alerts"))
        .show_header(True)
        .description(t("alerts.desc"))
        .with_target(
            q(
                "A",
                'SELECT last("state") AS "state", last("message") AS "message",'
                ' last("value") AS "value", last("threshold") AS "threshold" FROM "alerts"'
                f' WHERE {SITE} AND $timeFilter GROUP BY "zone", "device", "rule", "severity"',
            ).table()
        )
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="filterByValue",
                options={
                    "type": "exclude",
                    "match": "any",
                    "filters": [
                        {
                            "fieldName": "state",
                            "config": {"id": "equal", "options": {"value": "resolved"}},
                        }
                    ],
                },
            )
        )
        .override_by_name("state", coloured_states(_words(t, "state", ALERT_STATES)))
        .override_by_name(
            "severity",
            [
                dm.DynamicConfigValue(
                    id_val="mappings", value=mapping(_words(t, "severity", SEVERITY_COLORS))
                )
            ],
        )
        .override_by_name(
            "rule", [dm.DynamicConfigValue(id_val="mappings", value=_named(t, "rule", RULES))]
        )
        .override_by_name(
            "zone",
            [
                dm.DynamicConfigValue(
                    id_val="mappings", value=mapping([(z.id, z.name, None) for z in view.zones])
                )
            ],
        )
        .height(9)
        .span(12)
    )
    columns = ["time", "zone", "device", "rule", "severity", "state", "value", "threshold"]
    if t.lang == "vi":
        columns.append("message")
    else:
        # The gateway writes its messages in Vietnamese (gateway.alert_rules): the English
        # board says the same from the rule, the zone, the value and the threshold.
        panel = panel.override_by_name(
            "message", [dm.DynamicConfigValue(id_val="custom.hidden", value=True)]
        )
    return with_names(panel, _columns(t, columns))


def _new_alerts(t: Texts) -> timeseries.Panel:
    """The site's alerts raised per hour, stacked by severity (the province board's view of
    one center): what became of them since does not matter, nor the ``$zone`` chosen (an
    alert of a device has no zone)."""
    panel = (
        timeseries.Panel()
        .title(t("new_alerts"))
        .description(t("new_alerts.desc"))
        .with_target(q("A", raised_per_hour(SITE, "severity"), "$tag_severity"))
        .min(0)
        .height(8)
        .span(24)
    )
    return hourly_bars(by_severity(panel, t))


def _columns(t: Texts, names: Sequence[str]) -> list[tuple[str, str]]:
    """Table columns (InfluxDB's field and tag names; "Time") shown with their words."""
    return [("Time" if n == "time" else n, t(f"col.{n}")) for n in names]


def _devices(t: Texts) -> table.Panel:
    panel = (
        table.Panel()
        .title(t("devices"))
        .show_header(True)
        .description(t("devices.desc"))
        .with_target(
            q(
                "A",
                'SELECT last("online") AS "online", last("detail") AS "detail",'
                ' last("battery") AS "battery", last("latency_ms") AS "latency_ms"'
                f' FROM "device_health" WHERE {SITE} AND $timeFilter GROUP BY "device", "kind"',
            ).table()
        )
        .override_by_name("online", coloured_states(_words(t, "online", ONLINE)))
        .override_by_name(
            "kind", [dm.DynamicConfigValue(id_val="mappings", value=_named(t, "kind", KINDS))]
        )
        .override_by_name("battery", [dm.DynamicConfigValue(id_val="unit", value="percent")])
        .override_by_name("latency_ms", [dm.DynamicConfigValue(id_val="unit", value="ms")])
        .height(9)
        .span(12)
    )
    columns = ["time", "device", "kind", "online", "detail", "battery", "latency_ms"]
    return with_names(panel, _columns(t, columns))


def coloured_states(states: Sequence[tuple[str, str, str]]) -> list[dm.DynamicConfigValue]:
    """A table column shown as its state's text on the state's colour."""
    return [
        dm.DynamicConfigValue(id_val="mappings", value=mapping(states)),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
    ]


def _camera_events(t: Texts) -> table.Panel:
    panel = (
        table.Panel()
        .title(t("camera_events"))
        .show_header(True)
        .description(t("camera_events.desc"))
        .with_target(
            q(
                "A",
                'SELECT last("active") AS "active" FROM "camera_events"'
                f' WHERE {SITE} AND $timeFilter GROUP BY "camera", "event"',
            ).table()
        )
        .override_by_name("active", coloured_states(_words(t, "event", EVENT_ACTIVE)))
        .override_by_name(
            "event",
            [dm.DynamicConfigValue(id_val="mappings", value=_named(t, "event", CAMERA_EVENTS))],
        )
        .height(7)
        .span(24)
    )
    return with_names(panel, _columns(t, ["time", "camera", "event", "active"]))


def control_room(view: SiteView, t: Texts) -> dash.Dashboard:
    return (
        base_dashboard(
            UID,
            t("board.control_room"),
            view,
            t("board.control_room.desc", site=view.name),
        )
        .time("now-6h", "now")
        .refresh("30s")
        .with_variable(site_variable(view, t))
        .with_variable(zone_variable(t))
        .with_row(dash.Row(t("row.now")))
        .with_panel(with_zone_names(_people_now(t), view))
        .with_panel(with_zone_names(_fill_now(t), view))
        .with_panel(with_zone_names(_levels(t), view))
        .with_panel(with_zone_names(_people_over_time(t), view))
        .with_row(dash.Row(t("row.alerts")))
        .with_panel(_alerts(t, view))
        .with_panel(_devices(t))
        .with_panel(_camera_events(t))
        .with_panel(_new_alerts(t))
    )
