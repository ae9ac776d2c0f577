"""The control-room dashboard: people and crowd level per zone, active alerts, device health. Pure."""

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
    SITE,
    ZONES,
    SiteView,
    base_dashboard,
    mapping,
    q,
    site_variable,
    steps,
    with_zone_names,
    zone_variable,
)

UID = "floorwatch-control-room"

# The crowd levels as the engine stores them (gateway.settings.CrowdLevel), and their colours.
LEVELS = (
    ("calm", "calm", "green"),
    ("busy", "busy", "yellow"),
    ("crowded", "crowded", "orange"),
    ("critical", "critical", "red"),
)
ALERT_STATES = (
    ("active", "ACTIVE", "red"),
    ("acknowledged", "acknowledged", "orange"),
    ("resolved", "resolved", "green"),
)
SEVERITIES = (
    ("info", "info", "blue"),
    ("warning", "warning", "orange"),
    ("critical", "CRITICAL", "red"),
)
ONLINE = (("true", "online", "green"), ("false", "OFFLINE", "red"))
EVENT_ACTIVE = (("true", "ACTIVE", "orange"), ("false", "cleared", "green"))


def _people_now() -> stat.Panel:
    return (
        stat.Panel()
        .title("People now")
        .description("Latest fused count per zone (docs/dashboards.md).")
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


def _fill_now() -> stat.Panel:
    return (
        stat.Panel()
        .title("Occupancy of capacity")
        .description("People / capacity (seats for seated areas, the safety maximum otherwise).")
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


def _levels() -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title("Crowd level per zone")
        .description(
            "calm / busy / crowded / critical: the worse of density (Fruin level of service)"
            " and occupancy / capacity, after the dwell time (docs/dashboards.md)."
        )
        .with_target(
            q(
                "A",
                f'SELECT last("level") FROM "zone_occupancy" WHERE {SITE} AND {FUSED} AND {ZONES}'
                ' AND $timeFilter GROUP BY time($__interval), "zone" fill(none)',
                "$tag_zone",
            )
        )
        .mappings(mapping(LEVELS))
        .show_value(cm.VisibilityMode.NEVER)
        .merge_values(True)
        .fill_opacity(70)
        .line_width(0)
        .height(8)
        .span(24)
    )


def _people_over_time() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("People per zone")
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
        .legend(
            cb.VizLegendOptions()
            .show_legend(True)
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.RIGHT)
            .calcs(["lastNotNull", "max"])
        )
        .height(9)
        .span(24)
    )


def _alerts() -> table.Panel:
    return (
        table.Panel()
        .title("Alerts (latest state per zone and rule)")
        .show_header(True)
        .description(
            "Resolved alerts are hidden; acknowledge and resolve in the control-room page."
        )
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
        .override_by_name(
            "state",
            [
                dm.DynamicConfigValue(id_val="mappings", value=mapping(ALERT_STATES)),
                dm.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                ),
            ],
        )
        .override_by_name(
            "severity", [dm.DynamicConfigValue(id_val="mappings", value=mapping(SEVERITIES))]
        )
        .height(9)
        .span(12)
    )


def _devices() -> table.Panel:
    return (
        table.Panel()
        .title("Device health")
        .show_header(True)
        .description("Last report of every camera, sensor and gateway in the time range.")
        .with_target(
            q(
                "A",
                'SELECT last("online") AS "online", last("detail") AS "detail",'
                ' last("battery") AS "battery", last("latency_ms") AS "latency_ms"'
                f' FROM "device_health" WHERE {SITE} AND $timeFilter GROUP BY "device", "kind"',
            ).table()
        )
        .override_by_name("online", coloured_states(ONLINE))
        .override_by_name("battery", [dm.DynamicConfigValue(id_val="unit", value="percent")])
        .override_by_name("latency_ms", [dm.DynamicConfigValue(id_val="unit", value="ms")])
        .height(9)
        .span(12)
    )


def coloured_states(states: Sequence[tuple[str, str, str]]) -> list[dm.DynamicConfigValue]:
    """A table column shown as its state's text on the state's colour."""
    return [
        dm.DynamicConfigValue(id_val="mappings", value=mapping(states)),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
    ]


def _camera_events() -> table.Panel:
    return (
        table.Panel()
        .title("Camera events")
        .show_header(True)
        .description(
            "The cameras' own ONVIF states in the time range: motion, tamper (covered,"
            " moved, blinded), video loss. Tamper and video loss hold until the camera"
            " clears them."
        )
        .with_target(
            q(
                "A",
                'SELECT last("active") AS "active" FROM "camera_events"'
                f' WHERE {SITE} AND $timeFilter GROUP BY "camera", "event"',
            ).table()
        )
        .override_by_name("active", coloured_states(EVENT_ACTIVE))
        .height(7)
        .span(24)
    )


def control_room(view: SiteView) -> dash.Dashboard:
    return (
        base_dashboard(
            UID,
            "floorwatch: control room",
            view,
            f"{view.name}: people and crowd level per zone, alerts, device health, camera events.",
        )
        .time("now-6h", "now")
        .refresh("30s")
        .with_variable(site_variable(view))
        .with_variable(zone_variable())
        .with_row(dash.Row("Now"))
        .with_panel(with_zone_names(_people_now(), view))
        .with_panel(with_zone_names(_fill_now(), view))
        .with_panel(with_zone_names(_levels(), view))
        .with_panel(with_zone_names(_people_over_time(), view))
        .with_row(dash.Row("Alerts and devices"))
        .with_panel(_alerts())
        .with_panel(_devices())
        .with_panel(_camera_events())
    )
