"""What the three dashboards share: the site view, the datasource, variables, query helpers. Pure.

The dashboards are built from the site file (``Settings``): zone names and
comfort bands, the site's time zone and opening hours, which doors lead
outside. ``SiteView`` is the part of the settings they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.influxql import INFLUXDB_TYPE, InfluxQL
from dashboards.texts import Texts
from gateway.settings import SensorKind, Settings

DATASOURCE_UID = "floorwatch-influxdb"
DATASOURCE_NAME = "floorwatch InfluxDB"
FOLDER_UID = "floorwatch"
FOLDER_TITLE = "floorwatch"
DASHBOARD_TAG = "floorwatch"

# Conditions every query carries: one site (or several: a province's Grafana).
SITE = '"site" =~ /^$site$/'
ZONES = '"zone" =~ /^$zone$/'
# The engine's fused zone state (gateway.points.zone_state_lines), not one source's report.
FUSED = "\"source\" = 'fused'"
# The alert severities (gateway.live.Severity) and their colours; their words are in texts.py.
SEVERITY_COLORS = (("info", "blue"), ("warning", "orange"), ("critical", "red"))


@dataclass(frozen=True, slots=True)
class ZoneView:
    id: str
    name: str
    capacity: int
    temperature_c: tuple[float, float]
    humidity_pct: tuple[float, float]
    co2_ppm_max: float
    has_climate: bool


@dataclass(frozen=True, slots=True)
class SiteView:
    id: str
    name: str
    timezone: str
    zones: tuple[ZoneView, ...]
    exterior_doors: tuple[str, ...]  # doors that lead outside: their entries are visitors
    door_names: tuple[tuple[str, str], ...]  # (id, name) of every door
    service_names: tuple[tuple[str, str], ...]  # (id, name) of every service group
    first_hour: int  # first and last opening hour (local), for the hour x weekday heatmap
    last_hour: int


def site_view(settings: Settings) -> SiteView:
    climate_zones = {s.zone for s in settings.sensors if s.kind is SensorKind.CLIMATE and s.zone}
    zones = tuple(
        ZoneView(
            id=z.id,
            name=z.name,
            capacity=z.capacity,
            temperature_c=z.comfort.temperature_c,
            humidity_pct=z.comfort.humidity_pct,
            co2_ppm_max=z.comfort.co2_ppm_max,
            has_climate=z.id in climate_zones,
        )
        for z in settings.zones
    )
    outside = tuple(d.id for d in settings.doors if d.from_zone is None)
    sessions = [s for rule in settings.site.opening_hours for s in rule.sessions]
    first = min((s.start.hour for s in sessions), default=7)
    last = max(((s.end.hour - (s.end.minute == 0)) for s in sessions), default=17)
    return SiteView(
        id=settings.site.id,
        name=settings.site.name,
        timezone=settings.site.timezone,
        zones=zones,
        exterior_doors=outside or tuple(d.id for d in settings.doors),
        door_names=tuple((d.id, d.name) for d in settings.doors),
        service_names=tuple((s.id, s.name) for s in settings.services),
        first_hour=first,
        last_hour=max(first, last),
    )


def datasource_ref() -> dm.DataSourceRef:
    return dm.DataSourceRef(type_val=INFLUXDB_TYPE, uid=DATASOURCE_UID)


def q(ref_id: str, query: str, alias: str | None = None) -> InfluxQL:
    """A raw InfluxQL target on the floorwatch datasource."""
    target = InfluxQL(ref_id, query).datasource(datasource_ref())
    return target.alias(alias) if alias is not None else target


def regex_alternatives(values: Sequence[str]) -> str:
    """``/^(a|b)$/`` for ids (``[a-z0-9_-]``, nothing to escape)."""
    return "/^(" + "|".join(values) + ")$/"


def tz_clause(view: SiteView) -> str:
    return f"tz('{view.timezone}')"


def site_variable(view: SiteView, t: Texts) -> dash.QueryVariable:
    return (
        dash.QueryVariable("site")
        .label(t("var.site"))
        .datasource(datasource_ref())
        .query('SHOW TAG VALUES FROM "zone_occupancy" WITH KEY = "site"')
        .current(dm.VariableOption(text=view.id, value=view.id, selected=True))
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )


def zone_variable(
    t: Texts, *, multi: bool = True, measurement: str = "zone_occupancy"
) -> dash.QueryVariable:
    variable = (
        dash.QueryVariable("zone")
        .label(t("var.zone"))
        .datasource(datasource_ref())
        .query(f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "zone" WHERE {SITE}')
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = (
            variable.multi(True)
            .include_all(True)
            .current(dm.VariableOption(text="All", value="$__all", selected=True))
        )
    return variable


def base_dashboard(uid: str, title: str, view: SiteView, description: str) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([DASHBOARD_TAG])
        .timezone(view.timezone)
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .link(
            dash.DashboardLink("floorwatch")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([DASHBOARD_TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def table_legend(calcs: Sequence[str]) -> cb.VizLegendOptions:
    """A legend as a table on the panel's right, with these figures per series."""
    return (
        cb.VizLegendOptions()
        .show_legend(True)
        .display_mode(cm.LegendDisplayMode.TABLE)
        .placement(cm.LegendPlacement.RIGHT)
        .calcs(list(calcs))
    )


def raised_per_hour(where: str, group_by: str = "") -> str:
    """InfluxQL: the alerts raised per hour where ``where`` holds (per tag ``group_by`` unless
    empty), counted from the string field ``transition`` that every ``alerts`` point has, also
    those written before the integer ``raised`` field existed (gateway.points.alert_lines)."""
    tag = f', "{group_by}"' if group_by else ""
    # fixed names and conditions, no user input (Grafana fills in the variables, escaped)
    return (
        f'SELECT count("transition") FROM "alerts" WHERE {where}'  # noqa: S608
        f" AND \"transition\" = 'raised' AND $timeFilter GROUP BY time(1h){tag} fill(none)"
    )


def hourly_bars(panel: timeseries.Panel) -> timeseries.Panel:
    """Counts per hour: stacked bars, the range's sum and busiest hour in the legend."""
    return (
        panel.unit("none")
        .legend(table_legend(["sum", "max"]))
        .decimals(0)
        .draw_style(cm.GraphDrawStyle.BARS)
        .fill_opacity(70)
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
    )


def by_severity(panel: timeseries.Panel, t: Texts) -> timeseries.Panel:
    """Series named by severity (aliased ``$tag_severity``) shown in words, in their colours."""
    for severity, color in SEVERITY_COLORS:
        panel = panel.override_by_name(
            severity,
            [
                dm.DynamicConfigValue(id_val="displayName", value=t(f"severity.{severity}")),
                dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": color}),
            ],
        )
    return panel


def steps(base: str, *levels: tuple[float, str]) -> dash.ThresholdsConfig:
    """Absolute thresholds: ``base`` colour below the first level."""
    return (
        dash.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps(
            [dm.Threshold(value=None, color=base)]
            + [dm.Threshold(value=v, color=c) for v, c in levels]
        )
    )


def mapping(pairs: Sequence[tuple[str, str, str | None]]) -> list[dm.ValueMapping]:
    """Value mappings: (stored value, shown text, colour or None to keep the cell's)."""
    return [
        dm.ValueMap(
            options={
                v: dm.ValueMappingResult(text=t, color=c, index=i)
                for i, (v, t, c) in enumerate(pairs)
            }
        )
    ]


class _Overridable(Protocol):
    def override_by_name(self, name: str, properties: list[dm.DynamicConfigValue]) -> Self: ...


P = TypeVar("P", bound=_Overridable)


def with_zone_names(panel: P, view: SiteView) -> P:
    """Show each zone's name from the site file instead of its id (series aliased $tag_zone)."""
    return with_names(panel, [(z.id, z.name) for z in view.zones])


def with_names(panel: P, names: Sequence[tuple[str, str]]) -> P:
    """Show each series (or table column) ``name`` as ``shown``: (name, shown) pairs."""
    for name, shown in names:
        panel = panel.override_by_name(
            name, [dm.DynamicConfigValue(id_val="displayName", value=shown)]
        )
    return panel


def texts_of(t: Texts, prefix: str, values: Sequence[str]) -> list[tuple[str, str]]:
    """(value, its text) for stored values shown as words: ``texts_of(t, "level", ["calm"])``."""
    return [(v, t(f"{prefix}.{v}")) for v in values]
