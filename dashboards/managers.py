"""The managers' dashboard: visitors per day, crowding by hour and weekday, waiting, staffing. Pure."""

# The queries are Grafana templates built from ids the site file validates ([a-z0-9_-]);
# no user input reaches them (Grafana fills in the variables, escaped, at query time).
# ruff: noqa: S608

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import heatmap, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import heatmap as hm

from dashboards.common import (
    FUSED,
    SITE,
    ZONES,
    SiteView,
    base_dashboard,
    datasource_ref,
    q,
    regex_alternatives,
    site_variable,
    tz_clause,
    with_names,
    zone_variable,
)
from dashboards.texts import Texts

UID = "floorwatch-managers"
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SERVICE = '"service" =~ /^$service$/'


def _bars(panel: timeseries.Panel) -> timeseries.Panel:
    return (
        panel.draw_style(cm.GraphDrawStyle.BARS)
        .fill_opacity(70)
        .line_width(1)
        .min(0)
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
        .legend(cb.VizLegendOptions().show_legend(True).calcs(["sum"]))
    )


def _visitors(view: SiteView, t: Texts) -> timeseries.Panel:
    doors = regex_alternatives(view.exterior_doors)
    names = dict(view.door_names)
    listed = ", ".join(names.get(d, d) for d in view.exterior_doors)
    panel = _bars(
        timeseries.Panel()
        .title(t("visitors"))
        .description(t("visitors.desc", doors=listed))
        .with_target(
            q(
                "A",
                f'SELECT sum("entries") FROM "door_traffic" WHERE {SITE} AND "door" =~ {doors}'
                f' AND $timeFilter GROUP BY time(1d), "door" fill(0) {tz_clause(view)}',
                "$tag_door",
            )
        )
        .unit("none")
        .height(8)
        .span(12)
    )
    return with_names(panel, view.door_names)


def _tickets(view: SiteView, t: Texts) -> timeseries.Panel:
    panel = _bars(
        timeseries.Panel()
        .title(t("tickets"))
        .with_target(
            q(
                "A",
                f'SELECT sum("count") FROM "queue" WHERE {SITE} AND {SERVICE}'
                " AND \"event\" = 'issued' AND $timeFilter"
                f' GROUP BY time(1d), "service" fill(0) {tz_clause(view)}',
                "$tag_service",
            )
        )
        .unit("none")
        .height(8)
        .span(12)
    )
    return with_names(panel, view.service_names)


def hour_query(view: SiteView, hour: int) -> str:
    """Crowding at local ``hour`` of each day: the hourly peak of occupancy / capacity.

    InfluxQL cannot group by hour of day; the inner query takes the hourly
    peak over the zones chosen, the outer one picks, in every local day shifted
    by ``hour`` hours, its first hour: the value at ``hour`` o'clock. The panel's
    range starts at a local midnight (``now-7d/d``).
    """
    inner = (
        f'SELECT max("capacity_ratio") AS "c" FROM "zone_occupancy" WHERE {SITE} AND {FUSED}'
        ' AND "zone" =~ /^$zone$/ AND $timeFilter GROUP BY time(1h) fill(0)'
    )
    # Points before hour N of the first day would make a partial first window whose first
    # point is not at N o'clock: the outer filter starts at N h past the (midnight) start.
    return (
        f'SELECT first("c") FROM ({inner}) WHERE time >= ${{__from}}ms + {hour}h'
        f" AND time <= ${{__to}}ms GROUP BY time(1d, {hour}h) fill(none) {tz_clause(view)}"
    )


def _heatmap(view: SiteView, t: Texts) -> heatmap.Panel:
    hours = range(view.first_hour, view.last_hour + 1)
    panel = (
        heatmap.Panel()
        .title(t("heatmap"))
        .description(t("heatmap.desc"))
        .time_from("now-7d/d")
        .calculate(False)
        .rows_frame(heatmap.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.UNKNOWN))
        .color(
            heatmap.HeatmapColorOptions()
            .mode(hm.HeatmapColorMode.SCHEME)
            .scheme("Oranges")
            .scale(hm.HeatmapColorScale.LINEAR)
            .min(0)
            .steps(64)
        )
        .cell_values(heatmap.CellValues().unit("percentunit").decimals(0))
        .y_axis(heatmap.YAxisConfig().axis_label(t("heatmap.axis")))
        .show_value(cm.VisibilityMode.AUTO)
        .scale_distribution(cb.ScaleDistributionConfig().type(cm.ScaleDistribution.LINEAR))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="joinByField", options={"byField": "Time", "mode": "outer"}
            )
        )
        .height(10)
        .span(24)
    )
    for ref_id, hour in zip(REF_IDS, hours, strict=False):
        panel = panel.with_target(q(ref_id, hour_query(view, hour), f"{hour:02d}:00"))
    return panel


def _waiting(view: SiteView, t: Texts) -> timeseries.Panel:
    where = f"WHERE {SITE} AND {FUSED} AND {ZONES} AND $timeFilter"
    panel = (
        timeseries.Panel()
        .title(t("waiting"))
        .description(t("waiting.desc"))
        .with_target(
            q(
                "A",
                f'SELECT max("waiting") FROM "zone_occupancy" {where}'
                ' GROUP BY time($__interval), "zone" fill(none)',
                "waiting:$tag_zone",
            )
        )
        .with_target(
            q(
                "B",
                f'SELECT mean("expected_wait_s") FROM "zone_occupancy" {where}'
                ' GROUP BY time($__interval), "zone" fill(none)',
                "expected_wait:$tag_zone",
            )
        )
        .override_by_regexp(
            "expected_wait:.*",
            [
                dm.DynamicConfigValue(id_val="unit", value="s"),
                dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            ],
        )
        .unit("none")
        .min(0)
        .fill_opacity(10)
        .span_nulls(True)
        .legend(cb.VizLegendOptions().show_legend(True).calcs(["mean", "max"]))
        .height(8)
        .span(12)
    )
    # Series are named by zone id; each is shown as its zone's name and what it counts.
    return with_names(
        panel,
        [
            (f"{series}:{z.id}", t(f"series.{series}", zone=z.name))
            for z in view.zones
            for series in ("waiting", "expected_wait")
        ],
    )


def _staffing(view: SiteView, t: Texts) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(t("staffing"))
        .description(t("staffing.desc"))
        .with_target(
            q(
                "A",
                'SELECT count(distinct("counter")) FROM "queue" WHERE'
                f" {SITE} AND {SERVICE} AND \"event\" = 'called' AND $timeFilter"
                f" GROUP BY time(1h) fill(0) {tz_clause(view)}",
                t("series.actual"),
            )
        )
        .with_target(
            q(
                "B",
                f'SELECT sum("counters") FROM "staffing_plan" WHERE {SITE} AND {SERVICE}'
                f" AND $timeFilter GROUP BY time(1h) fill(none) {tz_clause(view)}",
                t("series.plan"),
            )
        )
        .draw_style(cm.GraphDrawStyle.LINE)
        .line_interpolation(cm.LineInterpolation.STEP_AFTER)
        .legend(cb.VizLegendOptions().show_legend(True).calcs(["mean", "max"]))
        .line_width(2)
        .min(0)
        .unit("none")
        .height(8)
        .span(12)
    )


def _service_variable(t: Texts) -> dash.QueryVariable:
    return (
        dash.QueryVariable("service")
        .label(t("var.service"))
        .datasource(datasource_ref())
        .query(f'SHOW TAG VALUES FROM "queue" WITH KEY = "service" WHERE {SITE}')
        .multi(True)
        .include_all(True)
        .current(dm.VariableOption(text="All", value="$__all", selected=True))
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )


def managers(view: SiteView, t: Texts) -> dash.Dashboard:
    return (
        base_dashboard(UID, t("board.managers"), view, t("board.managers.desc", site=view.name))
        .time("now-30d", "now")
        .refresh("5m")
        .with_variable(site_variable(view, t))
        .with_variable(zone_variable(t))
        .with_variable(_service_variable(t))
        .with_row(dash.Row(t("row.visitors")))
        .with_panel(_visitors(view, t))
        .with_panel(_tickets(view, t))
        .with_panel(_heatmap(view, t))
        .with_row(dash.Row(t("row.waiting")))
        .with_panel(_waiting(view, t))
        .with_panel(_staffing(view, t))
    )
