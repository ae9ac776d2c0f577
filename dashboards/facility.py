"""The facility dashboard: temperature, humidity and CO2 per zone against occupancy and comfort. Pure.

One row per zone that has a climate sensor, each drawn against that zone's own
comfort band from the site file (``zones[].comfort``: TCVN 5687 defaults
26-28 °C, 60-70 % RH, CO2 at most 1,000 ppm): the band is a green area
between two threshold lines, too cold / too humid / too much CO2 are shaded.
"""

# The queries are Grafana templates built from ids the site file validates ([a-z0-9_-]);
# no user input reaches them (Grafana fills in the variables, escaped, at query time).
# ruff: noqa: S608

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.common import (
    FUSED,
    SITE,
    SiteView,
    ZoneView,
    base_dashboard,
    q,
    site_variable,
    steps,
)
from dashboards.texts import Texts

UID = "floorwatch-facility"


def _climate_query(field: str, zone: str) -> str:
    return (
        f'SELECT mean("{field}") FROM "climate" WHERE {SITE} AND "zone" = \'{zone}\''
        " AND $timeFilter GROUP BY time($__interval) fill(none)"
    )


def _banded(title: str, unit: str, band: dash.ThresholdsConfig) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .thresholds(band)
        .thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED_AND_AREA)
        )
        .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.PALETTE_CLASSIC))
        .line_width(2)
        .span_nulls(True)
        .legend(cb.VizLegendOptions().show_legend(True).calcs(["mean", "max"]))
        .height(7)
        .span(8)
    )


def _temperature(zone: ZoneView, t: Texts) -> timeseries.Panel:
    low, high = zone.temperature_c
    band = steps("blue", (low, "green"), (high, "red"))
    title = t("temperature", zone=zone.name, low=t.number(low), high=t.number(high))
    return (
        _banded(title, "celsius", band)
        .with_target(q("A", _climate_query("temperature", zone.id), t("series.temperature")))
        .axis_soft_min(low - 2)
        .axis_soft_max(high + 2)
    )


def _humidity(zone: ZoneView, t: Texts) -> timeseries.Panel:
    low, high = zone.humidity_pct
    band = steps("orange", (low, "green"), (high, "blue"))
    title = t("humidity", zone=zone.name, low=t.number(low), high=t.number(high))
    return (
        _banded(title, "humidity", band)
        .with_target(q("A", _climate_query("humidity", zone.id), t("series.humidity")))
        .axis_soft_min(low - 10)
        .axis_soft_max(high + 10)
    )


def _co2(zone: ZoneView, t: Texts) -> timeseries.Panel:
    people = (
        f'SELECT max("count") FROM "zone_occupancy" WHERE {SITE} AND {FUSED}'
        f" AND \"zone\" = '{zone.id}'"
        " AND $timeFilter GROUP BY time($__interval) fill(none)"
    )
    band = steps("green", (zone.co2_ppm_max, "red"))
    return (
        _banded(t("co2", zone=zone.name, max=t.number(zone.co2_ppm_max)), "ppm", band)
        .with_target(q("A", _climate_query("co2", zone.id), t("series.co2")))
        .with_target(q("B", people, t("series.people")))
        .axis_soft_min(400)
        .axis_soft_max(zone.co2_ppm_max * 1.2)
        .override_by_name(
            t("series.people"),
            [
                dm.DynamicConfigValue(id_val="unit", value="none"),
                dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
                dm.DynamicConfigValue(id_val="custom.axisSoftMin", value=0),
                dm.DynamicConfigValue(id_val="custom.drawStyle", value="bars"),
                dm.DynamicConfigValue(id_val="custom.fillOpacity", value=30),
                dm.DynamicConfigValue(id_val="custom.thresholdsStyle", value={"mode": "off"}),
                dm.DynamicConfigValue(
                    id_val="color", value={"mode": "fixed", "fixedColor": "purple"}
                ),
            ],
        )
    )


def facility(view: SiteView, t: Texts) -> dash.Dashboard:
    board = (
        base_dashboard(UID, t("board.facility"), view, t("board.facility.desc", site=view.name))
        .time("now-24h", "now")
        .refresh("1m")
        .with_variable(site_variable(view, t))
    )
    for zone in view.zones:
        if not zone.has_climate:
            continue
        board = (
            board.with_row(dash.Row(zone.name))
            .with_panel(_temperature(zone, t))
            .with_panel(_humidity(zone, t))
            .with_panel(_co2(zone, t))
        )
    return board
