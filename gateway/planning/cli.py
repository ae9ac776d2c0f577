"""``floorwatch plan``: staffing plan, backtest and HVAC advice on the command line. Shell."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_support import settings_or_exit
from gateway.influx_query import HistoryError
from gateway.influx_writer import StorageError
from gateway.planning.backtest import render_backtest
from gateway.planning.history import InfluxHistory
from gateway.planning.hvac_rules import advice_topic
from gateway.planning.plan_points import plan_lines
from gateway.planning.publisher import influx_write
from gateway.planning.report import plan_csv, render_plan
from gateway.planning.service import PlanningService
from gateway.settings import Settings

plan_app = typer.Typer(
    help="Staffing plan (Erlang C), forecast backtest and HVAC advice from stored history.",
    no_args_is_help=True,
)

Config = Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)", dir_okay=False)]


def _service(settings: Settings) -> PlanningService:
    return PlanningService.from_settings(settings)


@plan_app.command("staffing")
def staffing(
    config: Config,
    day: Annotated[
        datetime | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="day to plan (default: tomorrow)"),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="also write the plan as CSV")
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="also write the plan to InfluxDB (measurement staffing_plan, managers' dashboard)",
        ),
    ] = False,
) -> None:
    """Counters to open per hour and service group for one day."""
    settings = settings_or_exit(config)
    service = _service(settings)
    target: date = (
        day.date() if day else (datetime.now(UTC).astimezone(service.tz).date() + timedelta(days=1))
    )
    try:
        plan = service.staffing_plan(target)
    except HistoryError as exc:
        typer.echo(f"cannot read the history: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(render_plan(plan))
    if csv_file is not None:
        csv_file.write_text(plan_csv(plan), encoding="utf-8")
        typer.echo(f"\nwritten {csv_file}")
    if store:
        lines = plan_lines(settings.site.id, plan, service.tz)
        try:
            if lines:
                influx_write(settings.influxdb)("\n".join(lines))
        except StorageError as exc:
            typer.echo(f"cannot store the plan: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(
            f"\nstored {len(lines)} points of {target} in staffing_plan ({settings.influxdb.url})"
        )


@plan_app.command("backtest")
def backtest_cmd(
    config: Config,
    weeks: Annotated[int, typer.Option("--weeks", min=1, help="weeks of days to test")] = 4,
    groups: Annotated[bool, typer.Option(help="also per service group")] = False,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="test the days before this one (default: today)"),
    ] = None,
) -> None:
    """Forecast error (MAPE and bias by hour) on the stored history."""
    settings = settings_or_exit(config)
    service = _service(settings)
    today = until.date() if until else datetime.now(UTC).astimezone(service.tz).date()
    try:
        results = service.backtest(weeks, today)
    except HistoryError as exc:
        typer.echo(f"cannot read the history: {exc}", err=True)
        raise typer.Exit(1) from exc
    for result in results if groups else results[:1]:
        typer.echo(render_backtest(result))
        typer.echo("")


@plan_app.command("hvac")
def hvac_cmd(
    config: Config,
    window_min: Annotated[int, typer.Option(help="minutes of readings behind 'now'")] = 15,
    at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
            help="advise as of this local time, e.g. a replayed demo day (default: now)",
        ),
    ] = None,
) -> None:
    """HVAC advice per zone from the latest stored readings."""
    settings = settings_or_exit(config)
    service = _service(settings)
    tz = service.tz
    history = InfluxHistory(settings.influxdb, settings.site.id, tz)
    now = datetime.now(UTC) if at is None else (at if at.tzinfo else at.replace(tzinfo=tz))
    try:
        conditions = history.latest_conditions(now, window_min)
        advice = service.hvac_advice(conditions, now)
    except HistoryError as exc:
        typer.echo(f"cannot read the history: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not advice:
        typer.echo(f"no zone has readings in the last {2 * window_min} minutes")
    for a in advice:
        c = a.conditions
        climate = " ".join(
            f"{label} {value:.1f}"
            for label, value in (
                ("°C", c.temperature_c),
                ("%RH", c.humidity_pct),
                ("CO2", c.co2_ppm),
            )
            if value is not None
        )
        typer.echo(
            f"{a.zone_id}: {a.occupancy} people, {climate or 'no climate readings'};"
            f" outdoor air needed {a.outdoor_air_m3h:.0f} m3/h ({a.outdoor_air_standard})"
        )
        for action in a.actions:
            typer.echo(f"  [{action.severity}] {action.code}: {action.message}")
        typer.echo(f"  -> {advice_topic(settings.mqtt.base_topic, settings.site.id, a.zone_id)}")


@plan_app.command("simulate-history")
def simulate_history(
    config: Config,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=26, help="weeks to simulate")] = 6,
    end: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="last simulated day (default: yesterday)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 7,
    yes: Annotated[bool, typer.Option("--yes", help="confirm: this writes simulated data")] = False,
) -> None:
    """Write weeks of simulated history (demo and test databases only!)."""
    from gateway.planning.seed import seed_history  # the simulator: only for this command

    settings = settings_or_exit(config)
    if not yes:
        typer.echo(
            f"this writes {weeks} weeks of SIMULATED data to {settings.influxdb.url};"
            " never run it against a production database. Add --yes to go ahead.",
            err=True,
        )
        raise typer.Exit(2)
    tz = PlanningService.from_settings(settings).tz
    last = end.date() if end else datetime.now(UTC).astimezone(tz).date() - timedelta(days=1)
    first = last - timedelta(weeks=weeks) + timedelta(days=1)
    report = seed_history(settings, settings.influxdb, first, (last - first).days + 1, seed)
    closed = ", ".join(f"{d:%d/%m}" for d in report.days_closed) or "none"
    typer.echo(
        f"wrote {report.lines} points: {report.first} .. {report.last},"
        f" {report.days_written} days with data; holidays closed: {closed}"
    )
