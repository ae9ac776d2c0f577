"""The ``floorwatch`` command."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli_support import JsonOption, echo_json, load_or_exit
from gateway.logs import configure_logging
from gateway.settings import Settings
from gateway.site_checks import floor_cover, people_sources

app = typer.Typer(
    name="floorwatch",
    help="Edge gateway for public-administration service centers.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Check site configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(__import__("dashboards.cli").cli.dashboards_app, name="dashboards")
app.add_typer(__import__("gateway.planning.cli").planning.cli.plan_app, name="plan")
app.add_typer(__import__("cameras.cli").cli.cameras_app, name="cameras")
app.add_typer(__import__("cameras.counting_cli").counting_cli.counting_app, name="counting")
app.add_typer(__import__("gateway.alerts_cli").alerts_cli.alerts_app, name="alerts")
app.add_typer(__import__("api.cli").cli.api_app, name="api")
app.add_typer(__import__("sensors.acl_cli").acl_cli.mqtt_app, name="mqtt")
app.add_typer(__import__("sensors.discover_cli").discover_cli.sensors_app, name="sensors")
app.add_typer(__import__("gateway.notify.cli").notify.cli.notify_app, name="notify")
app.add_typer(__import__("gateway.report.cli").report.cli.report_app, name="report")
app.add_typer(__import__("gateway.fleet.cli").fleet.cli.fleet_app, name="fleet")
app.command("init")(__import__("gateway.init_cli").init_cli.init_site)
config_app.command("reference")(__import__("gateway.config_cli").config_cli.reference)
config_app.command("schema")(__import__("gateway.config_cli").config_cli.schema)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="site file (YAML)", exists=False, dir_okay=False)
]
LogJson = Annotated[
    bool | None,
    typer.Option("--log-json/--log-text", help="log format (default: JSON unless a terminal)"),
]


class LogLevelName(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# A Choice: an unknown level is a usage error (exit 2), never a traceback.
LogLevel = Annotated[LogLevelName, typer.Option("--log-level", case_sensitive=False)]


def installed_version() -> str:
    try:
        return version("floorwatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed: pip install -e .)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"floorwatch {installed_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Edge gateway for public-administration service centers."""


@app.command()
def run(
    config: ConfigOption,
    log_json: LogJson = None,
    log_level: LogLevel = LogLevelName.INFO,
) -> None:
    """Run the gateway against the brokers and databases of a site file."""
    loaded = load_or_exit(config)
    configure_logging(json=log_json, level=log_level.value)
    from gateway.app import build_gateway, run_until_signalled

    async def main() -> None:
        gateway = build_gateway(loaded.settings)
        await gateway.run()

    asyncio.run(run_until_signalled(main))


@config_app.command("check")
def config_check(
    path: Annotated[Path, typer.Argument(help="site file (YAML)")], as_json: JsonOption = False
) -> None:
    """Validate a site file; print a summary, or every error with its YAML path."""
    loaded = load_or_exit(path, as_json=as_json)
    if as_json:
        document = summary_json(loaded.settings)
        document["file"] = str(path)
        document["warnings"] = [str(w) for w in loaded.warnings]
        echo_json(document)
        return
    typer.echo(summary(loaded.settings))
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}")


@app.command()
def demo(
    config: ConfigOption = Path("config/demo-site.yaml"),
    state_dir: Annotated[Path, typer.Option(help="where local servers keep their data")] = Path(
        "state/demo"
    ),
    speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = 60.0,
    seed: Annotated[
        int, typer.Option(help="simulator seed (same seed, same day played, whatever the date)")
    ] = 7,
    start: Annotated[
        datetime | None,
        typer.Option(help="simulated start, local time (default: last weekday 07:00)"),
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(help="stop after this many real minutes (default: Ctrl-C)")
    ] = None,
    history_days: Annotated[
        int, typer.Option(help="days of simulated history written first (planning views)")
    ] = 28,
    api_port: Annotated[
        int | None, typer.Option(help="port of the control room (default: a free one)")
    ] = None,
    visitors: Annotated[
        float | None,
        typer.Option(
            help="ticket holders on the day played (default: a busy day, 1.5x the site's"
            " usual weekday, sized by its counters); the history's days get this over 1.5",
            min=1.0,
        ),
    ] = None,
    log_level: LogLevel = LogLevelName.WARNING,
    fleet: Annotated[
        int | None,
        typer.Option(
            help="a province instead: a 3-node NATS cluster, N site leaves, N light simulated"
            " centers, the central workers and the province page (docs/fleet.md)",
            min=1,
        ),
    ] = None,
) -> None:
    """Run a simulated center: local mosquitto + InfluxDB, cameras, simulator, gateway, API."""
    if fleet is not None:
        configure_logging(json=False, level=log_level.value)
        from gateway.fleet.demo_run import FleetDemoOptions, run_fleet_demo

        sys.exit(
            run_fleet_demo(
                FleetDemoOptions(
                    state_dir=state_dir.resolve(),
                    sites=fleet,
                    speed=speed,
                    seed=seed,
                    start=start,
                    minutes=minutes,
                    api_port=api_port,
                )
            )
        )
    # The demo brings its own servers: a production file's secrets are not needed.
    loaded = load_or_exit(config, need_secrets=False)
    configure_logging(json=False, level=log_level.value)
    from gateway.demo import DemoOptions, run_demo

    options = DemoOptions(
        state_dir=state_dir.resolve(),
        speed=speed,
        seed=seed,
        start=start,
        minutes=minutes,
        history_days=history_days,
        api_port=api_port,
        visitors=visitors,
    )
    sys.exit(run_demo(loaded.settings, options))


def summary(s: Settings) -> str:
    seats = sum(z.seats for z in s.zones)
    capacity = sum(z.capacity for z in s.zones)
    counters = sum(len(svc.counters) for svc in s.services)
    lines = [
        f"site      {s.site.id}: {s.site.name} ({s.site.timezone})",
    ]
    for rule in s.site.opening_hours:
        sessions = ", ".join(f"{x.start:%H:%M}-{x.end:%H:%M}" for x in rule.sessions)
        lines.append(f"open      {'/'.join(d.value for d in rule.days)}: {sessions}")
    covers = {c.floor_id: c for c in floor_cover(s)}
    sources = people_sources(s)
    for floor in s.floors:
        zones = [z for z in s.zones if z.floor == floor.id]
        cover = covers[floor.id]
        lines.append(
            f"floor     {floor.id}: {floor.name}, {floor.area_m2:g} m2 on a"
            f" {floor.plan.width_m:g} x {floor.plan.depth_m:g} m plan; {len(zones)}"
            f" {'zone outlines' if len(zones) == 1 else 'zones outline'}"
            f" {cover.outlined_m2:.4g} m2 ({cover.outlined_m2 / cover.plan_m2:.0%}"
            " of the plan)"
        )
        for z in zones:
            counted = ", ".join(sources[z.id]) or "nothing (no data)"
            lines.append(
                f"  zone    {z.id}: {z.kind.value}, {z.area_m2:g} m2, {z.seats} seats,"
                f" capacity {z.capacity}, alert at {z.alert_level.value};"
                f" counted by {counted if z.counted else 'nothing (counted: false)'}"
            )
    lines.append(f"totals    {seats} seats, capacity {capacity}, {counters} counters")
    lines.append(f"doors     {len(s.doors)}; services {len(s.services)}; cameras {len(s.cameras)}")
    by_decoder: dict[str, int] = {}
    for sensor in s.sensors:
        by_decoder[sensor.decoder] = by_decoder.get(sensor.decoder, 0) + 1
    decoders = ", ".join(f"{k} {v}" for k, v in sorted(by_decoder.items())) or "none"
    lines.append(f"sensors   {len(s.sensors)} ({decoders})")
    m = s.mqtt
    auth = "user " + m.username if m.username else "anonymous"
    tls = "TLS" if m.tls.enabled else "plain"
    lines.append(f"mqtt      {m.host}:{m.port} MQTT {m.protocol}, {tls}, {auth}, QoS {m.qos}")
    i = s.influxdb
    target = f"bucket {i.bucket} (org {i.org})" if i.protocol == "v2" else f"database {i.database}"
    lines.append(f"influxdb  {i.url} protocol {i.protocol}, {target}")
    lines.append(f"state     {s.gateway.state_dir}")
    lines.append("ok: configuration is valid")
    return "\n".join(lines)


def summary_json(s: Settings) -> dict[str, Any]:
    """What ``summary`` prints, as data (``config check --json``); no secret in it."""
    return {
        "ok": True,
        "site": {"id": s.site.id, "name": s.site.name, "timezone": s.site.timezone},
        "floors": [
            {
                "id": f.id,
                "name": f.name,
                "area_m2": f.area_m2,
                "zones": [
                    {
                        "id": z.id,
                        "kind": z.kind.value,
                        "area_m2": z.area_m2,
                        "seats": z.seats,
                        "capacity": z.capacity,
                        "alert_level": z.alert_level.value,
                    }
                    for z in s.zones
                    if z.floor == f.id
                ],
            }
            for f in s.floors
        ],
        "doors": len(s.doors),
        "services": len(s.services),
        "counters": sum(len(svc.counters) for svc in s.services),
        "cameras": [c.id for c in s.cameras],
        "sensors": [x.id for x in s.sensors],
        "mqtt": {"host": s.mqtt.host, "port": s.mqtt.port, "tls": s.mqtt.tls.enabled},
        "influxdb": {"url": s.influxdb.url, "protocol": s.influxdb.protocol},
        "state_dir": str(s.gateway.state_dir),
    }


def main() -> None:
    app()
