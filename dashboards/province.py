"""The province dashboard: every center of a province side by side, from the central store. Pure.

Built from the central file (``floorwatch fleet serve``'s ``sites:`` registry
and ``overview.timezone``), not from a site file: the points ``fleet run``
writes carry ``province`` and ``site`` tags (docs/fleet.md), the hourly
aggregates the uplink sends (``zone_hourly``, ``service_hourly``,
``device_hourly``) too. Centers not in the registry are shown under their ids.

Two kinds of central store (the central file's ``overview.store``): InfluxDB
(``influxql``, the queries here, on the InfluxDB datasource) or
VictoriaMetrics (``victoriametrics``, the PromQL of ``dashboards.province_promql``
on a Prometheus datasource). Same uid, variables, panels and layout.

New alerts: InfluxQL counts the ``transition = 'raised'`` points (the string
field, which every point since the first has); PromQL counts ``alerts_raised``,
the integer field the writer adds for VictoriaMetrics (``raised=1i``), so a
VictoriaMetrics store shows only alerts written since that field exists.
"""

# The queries are Grafana templates built from fixed names and the registry's ids
# ([a-z0-9_-]); no user input reaches them (Grafana fills in the variables, escaped).
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import province_promql as pq
from dashboards.common import (
    DASHBOARD_TAG,
    FUSED,
    by_severity,
    datasource_ref,
    hourly_bars,
    q,
    raised_per_hour,
    steps,
    table_legend,
    with_names,
)
from dashboards.texts import Texts

Store = Literal["influxql", "victoriametrics"]
STORES: tuple[Store, ...] = ("influxql", "victoriametrics")

UID = "floorwatch-province"
PROVINCE = '"province" =~ /^$province$/'
SITES = '"site" =~ /^$site$/'
WHERE = f"{PROVINCE} AND {SITES}"


@dataclass(frozen=True, slots=True)
class ProvinceView:
    """What the province dashboard needs of the central file."""

    timezone: str
    provinces: tuple[str, ...]  # the registry's provinces (the variable's default: the first)
    site_names: tuple[tuple[str, str], ...]  # (site id, name) from the registry
    store: Store = "influxql"  # the central store's query language (overview.store)

    @property
    def vm(self) -> bool:
        return self.store == "victoriametrics"


def _ref(view: ProvinceView) -> dm.DataSourceRef:
    return pq.datasource_ref() if view.vm else datasource_ref()


def _site_variable(view: ProvinceView, t: Texts) -> dash.QueryVariable:
    influxql = f'SHOW TAG VALUES FROM "zone_occupancy" WITH KEY = "site" WHERE {PROVINCE}'
    return (
        dash.QueryVariable("site")
        .label(t("var.site"))
        .datasource(_ref(view))
        .query(pq.SITE_VARIABLE if view.vm else influxql)
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(dm.VariableOption(text="All", value="$__all", selected=True))
    )


def _province_variable(view: ProvinceView, t: Texts) -> dash.QueryVariable:
    variable = (
        dash.QueryVariable("province")
        .label(t("var.province"))
        .datasource(_ref(view))
        .query(
            pq.PROVINCE_VARIABLE
            if view.vm
            else 'SHOW TAG VALUES FROM "zone_occupancy" WITH KEY = "province"'
        )
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if view.provinces:
        first = view.provinces[0]
        variable = variable.current(dm.VariableOption(text=first, value=first, selected=True))
    return variable


def _target(
    view: ProvinceView,
    influxql: str,
    promql: pq.PromQL,
    ref_id: str = "A",
    by: str = "site",
    name: str | None = None,
) -> cogbuilder.Builder[cogvariants.Dataquery]:
    """A target on the central store: a series per value of the tag ``by`` named by it, or
    one series named ``name``."""
    if not view.vm:
        return q(ref_id, influxql, name if name is not None else f"$tag_{by}")
    return pq.target(promql, ref_id, name if name is not None else "{{" + by + "}}")


def _now_stat(
    view: ProvinceView, title: str, description: str, query: str, promql: pq.PromQL
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .with_target(_target(view, query, promql))
        .decimals(0)
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(6)
        .span(24)
    )
    return with_names(panel, view.site_names)


def _per_zone_last(field: str, measurement: str = "zone_occupancy") -> str:
    """Each zone's latest ``field`` in the range, per site (the inner query of a 'now' panel)."""
    fused = f" AND {FUSED}" if measurement == "zone_occupancy" else ""
    return (
        f'SELECT last("{field}") AS "v" FROM "{measurement}" WHERE {WHERE}{fused}'
        ' AND $timeFilter GROUP BY "site", "zone"'
    )


def _people_now(view: ProvinceView, t: Texts) -> stat.Panel:
    query = f'SELECT sum("v") FROM ({_per_zone_last("count")}) GROUP BY "site"'
    return (
        _now_stat(view, t("p.people_now"), t("p.people_now.desc"), query, pq.PEOPLE_NOW)
        .unit("none")
        .thresholds(steps("blue"))
    )


def _fill_now(view: ProvinceView, t: Texts) -> stat.Panel:
    query = f'SELECT max("v") FROM ({_per_zone_last("capacity_ratio")}) GROUP BY "site"'
    return (
        _now_stat(view, t("p.fill_now"), t("p.fill_now.desc"), query, pq.FILL_NOW)
        .unit("percentunit")
        .thresholds(steps("green", (0.5, "yellow"), (0.8, "orange"), (1.0, "red")))
    )


def _wait_now(view: ProvinceView, t: Texts) -> stat.Panel:
    query = f'SELECT max("v") / 60 FROM ({_per_zone_last("expected_wait_s")}) GROUP BY "site"'
    return (
        _now_stat(view, t("p.wait_now"), t("p.wait_now.desc"), query, pq.WAIT_NOW)
        .unit("m")
        .thresholds(steps("green", (15, "yellow"), (30, "orange"), (60, "red")))
    )


def _devices_down(view: ProvinceView, t: Texts) -> stat.Panel:
    inner = (
        f'SELECT last("down") AS "v" FROM "device_hourly" WHERE {WHERE}'
        ' AND $timeFilter GROUP BY "site", "kind"'
    )
    query = f'SELECT sum("v") FROM ({inner}) GROUP BY "site"'
    return (
        _now_stat(view, t("p.devices_down"), t("p.devices_down.desc"), query, pq.DEVICES_DOWN)
        .unit("none")
        .thresholds(steps("green", (1, "red")))
    )


def _series(
    view: ProvinceView, title: str, description: str, query: str, promql: pq.PromQL
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .with_target(_target(view, query, promql))
        .min(0)
        .line_width(2)
        .fill_opacity(0)
        .legend(table_legend(["max", "mean"]))
        .height(9)
        .span(24)
    )
    return with_names(panel, view.site_names)


def _people_over_time(view: ProvinceView, t: Texts) -> timeseries.Panel:
    inner = (
        f'SELECT mean("count") AS "v" FROM "zone_occupancy" WHERE {WHERE} AND {FUSED}'
        ' AND $timeFilter GROUP BY time($__interval), "site", "zone" fill(none)'
    )
    query = f'SELECT sum("v") FROM ({inner}) GROUP BY time($__interval), "site" fill(none)'
    return _series(view, t("p.people"), t("p.people.desc"), query, pq.PEOPLE).unit("none")


def _wait_over_time(view: ProvinceView, t: Texts) -> timeseries.Panel:
    query = (
        f'SELECT max("expected_wait_s") / 60 FROM "zone_occupancy" WHERE {WHERE} AND {FUSED}'
        ' AND $timeFilter GROUP BY time($__interval), "site" fill(none)'
    )
    return _series(view, t("p.wait"), t("p.wait.desc"), query, pq.WAIT).unit("m")


def _measured_waits(view: ProvinceView, t: Texts) -> timeseries.Panel:
    query = (
        f'SELECT max("wait_p90_s") / 60 FROM "service_hourly" WHERE {WHERE}'
        ' AND $timeFilter GROUP BY time(1h), "site" fill(none)'
    )
    return (
        _series(view, t("p.measured_wait"), t("p.measured_wait.desc"), query, pq.MEASURED_WAIT)
        .unit("m")
        .draw_style(cm.GraphDrawStyle.POINTS)
        .point_size(6)
    )


def _raised(group_by: str) -> str:
    """The raised transitions per hour (and per tag ``group_by`` unless empty)."""
    return raised_per_hour(WHERE, group_by)


def _alerts_raised(view: ProvinceView, t: Texts) -> timeseries.Panel:
    """Per center, stacked, and the province's total as a line over the stack (query B)."""
    total = _target(view, _raised(""), pq.NEW_ALERTS_TOTAL, "B", name=t("p.alerts.total"))
    line = [
        dm.DynamicConfigValue(id_val="custom.drawStyle", value="line"),
        dm.DynamicConfigValue(id_val="custom.stacking", value={"mode": "none", "group": "B"}),
        dm.DynamicConfigValue(id_val="custom.fillOpacity", value=0),
        dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "text"}),
    ]
    panel = _series(view, t("p.alerts"), t("p.alerts.desc"), _raised("site"), pq.NEW_ALERTS)
    return hourly_bars(panel.with_target(total).override_by_query("B", line))


def _alerts_by_severity(view: ProvinceView, t: Texts) -> timeseries.Panel:
    """The province's new alerts per hour, stacked by severity, named and coloured."""
    query = _raised("severity")
    panel = (
        timeseries.Panel()
        .title(t("p.alerts_severity"))
        .description(t("p.alerts_severity.desc"))
        .with_target(_target(view, query, pq.NEW_ALERTS_BY_SEVERITY, by="severity"))
        .min(0)
        .height(9)
        .span(24)
    )
    return hourly_bars(by_severity(panel, t))


def _league(view: ProvinceView, t: Texts) -> stat.Panel:
    query = (
        f'SELECT mean("wait_p90_s") / 60 FROM "service_hourly" WHERE {WHERE}'
        ' AND $timeFilter GROUP BY "site"'
    )
    return (
        _now_stat(view, t("p.league"), t("p.league.desc"), query, pq.LEAGUE)
        .unit("m")
        .thresholds(steps("green", (15, "yellow"), (30, "orange"), (60, "red")))
        .time_from("30d")
    )


def province(view: ProvinceView, t: Texts) -> dash.Dashboard:
    board = (
        dash.Dashboard(t("board.province"))
        .uid(UID)
        .description(t("board.province.desc"))
        .tags([DASHBOARD_TAG])
        .timezone(view.timezone)
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time("now-24h", "now")
        .refresh("1m")
        .with_variable(_province_variable(view, t))
        .with_variable(_site_variable(view, t))
        .with_row(dash.Row(t("row.now")))
        .with_panel(_people_now(view, t))
        .with_panel(_fill_now(view, t))
        .with_panel(_wait_now(view, t))
        .with_panel(_devices_down(view, t))
        .with_row(dash.Row(t("p.row.time")))
        .with_panel(_people_over_time(view, t))
        .with_panel(_wait_over_time(view, t))
        .with_panel(_measured_waits(view, t))
        .with_panel(_alerts_raised(view, t))
        .with_panel(_alerts_by_severity(view, t))
    )
    return board.with_row(dash.Row(t("p.row.month"))).with_panel(_league(view, t))
