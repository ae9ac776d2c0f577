"""``floorwatch alerts``: read the alert store of a site (also while the gateway runs).

    floorwatch alerts list -c site.yaml [--all]
    floorwatch alerts show crowd_level:f2-waiting:3 -c site.yaml

Reads ``<gateway.state_dir>/alerts.sqlite3`` (WAL: readers do not disturb the
running gateway). Acknowledging and resolving go through the running gateway
(the API), never through the file. Shell module.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from gateway.alert_store import AlertStore, StoredTransition
from gateway.cli_support import JsonOption, echo_json, settings_or_exit
from gateway.live import Alert

alerts_app = typer.Typer(help="Read the alerts of a site (active, history).", no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)")]


def _store(config: Path) -> tuple[Path, ZoneInfo]:
    """The alert store of the site and the site's time zone (no secret needed to read it)."""
    settings = settings_or_exit(config, need_secrets=False)
    path = settings.gateway.state_dir / "alerts.sqlite3"
    if not path.exists():
        typer.echo(f"no alert store at {path} (the gateway has not run here yet)", err=True)
        raise typer.Exit(1)
    return path, ZoneInfo(settings.site.timezone)


def site_time(at: datetime | str, tz: ZoneInfo) -> str:
    """A stored time on the site's clock, with its offset: ``2026-12-05 08:03:11+07:00``."""
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    if value.tzinfo is None:  # the store writes UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).isoformat(sep=" ", timespec="seconds")


def line(a: Alert, tz: ZoneInfo) -> str:
    who = ""
    if a.acknowledged_by:
        who = f" ack {a.acknowledged_by}"
    if a.resolved_at is not None:
        who += f" resolved by {a.resolved_by or 'engine'}"
    return (
        f"{a.id:<40} {a.state.value:<12} {a.severity.value:<8}"
        f" {site_time(a.raised_at, tz)} {a.message}{who}"
    )


def alert_json(a: Alert) -> dict[str, Any]:
    """Every field of an alert; enums as values, times as ISO 8601 (``--json``)."""
    document = dataclasses.asdict(a)
    for key, value in document.items():
        if hasattr(value, "isoformat"):
            document[key] = value.isoformat()
        elif hasattr(value, "value"):
            document[key] = value.value
    return document


async def _list(path: Path, include_resolved: bool) -> list[Alert]:
    store = AlertStore(path, keep_resolved=100, recover=False)
    restored = await store.open()
    await store.close()
    return restored.active + (list(reversed(restored.recent_resolved)) if include_resolved else [])


async def _show(path: Path, alert_id: str) -> tuple[Alert | None, list[StoredTransition]]:
    store = AlertStore(path, recover=False)
    await store.open()
    try:
        return await store.alert(alert_id), await store.transitions(alert_id)
    finally:
        await store.close()


@alerts_app.command("list")
def list_alerts(
    config: ConfigOption,
    all_: Annotated[bool, typer.Option("--all", help="also the last 100 resolved")] = False,
    as_json: JsonOption = False,
) -> None:
    """Active and acknowledged alerts (and recently resolved ones with --all)."""
    path, tz = _store(config)
    alerts = asyncio.run(_list(path, all_))
    if as_json:
        echo_json([alert_json(a) for a in alerts])
        return
    if not alerts:
        typer.echo("no alerts")
    for a in alerts:
        typer.echo(line(a, tz))


@alerts_app.command("show")
def show(
    alert_id: Annotated[str, typer.Argument(help="e.g. crowd_level:f2-waiting:3")],
    config: ConfigOption,
) -> None:
    """One alert and every transition it went through (who, when, note)."""
    path, tz = _store(config)
    alert, transitions = asyncio.run(_show(path, alert_id))
    if alert is None:
        typer.echo(f"no alert {alert_id}", err=True)
        raise typer.Exit(1)
    typer.echo(line(alert, tz))
    for t in transitions:
        by = f" by {t.by}" if t.by else ""
        note = f": {t.note}" if t.note else ""
        typer.echo(f"  {site_time(t.at, tz)}  {t.kind}{by}{note}")
