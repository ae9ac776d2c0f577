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
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.alert_store import AlertStore, StoredTransition
from gateway.cli_support import JsonOption, echo_json, settings_or_exit
from gateway.live import Alert

alerts_app = typer.Typer(help="Read the alerts of a site (active, history).", no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)")]


def _store_path(config: Path) -> Path:
    settings = settings_or_exit(config)
    path = settings.gateway.state_dir / "alerts.sqlite3"
    if not path.exists():
        typer.echo(f"no alert store at {path} (the gateway has not run here yet)", err=True)
        raise typer.Exit(1)
    return path


def line(a: Alert) -> str:
    who = ""
    if a.acknowledged_by:
        who = f" ack {a.acknowledged_by}"
    if a.resolved_at is not None:
        who += f" resolved by {a.resolved_by or 'engine'}"
    return (
        f"{a.id:<40} {a.state.value:<12} {a.severity.value:<8}"
        f" {a.raised_at:%Y-%m-%d %H:%M:%S} {a.message}{who}"
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
    alerts = asyncio.run(_list(_store_path(config), all_))
    if as_json:
        echo_json([alert_json(a) for a in alerts])
        return
    if not alerts:
        typer.echo("no alerts")
    for a in alerts:
        typer.echo(line(a))


@alerts_app.command("show")
def show(
    alert_id: Annotated[str, typer.Argument(help="e.g. crowd_level:f2-waiting:3")],
    config: ConfigOption,
) -> None:
    """One alert and every transition it went through (who, when, note)."""
    alert, transitions = asyncio.run(_show(_store_path(config), alert_id))
    if alert is None:
        typer.echo(f"no alert {alert_id}", err=True)
        raise typer.Exit(1)
    typer.echo(line(alert))
    for t in transitions:
        by = f" by {t.by}" if t.by else ""
        note = f": {t.note}" if t.note else ""
        typer.echo(f"  {t.at}  {t.kind}{by}{note}")
