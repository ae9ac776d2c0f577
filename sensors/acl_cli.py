"""``floorwatch mqtt acl``: mosquitto's ACL file for a site file. Shell module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_support import settings_or_exit
from sensors.acl import AclError, acl_text, parse_account

mqtt_app = typer.Typer(help="The site's MQTT broker: its ACL.", no_args_is_help=True)


@mqtt_app.command("acl")
def acl(
    config: Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)")],
    gateway_user: Annotated[str, typer.Option(help="the gateway's MQTT user name")] = "floorwatch",
    account: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=SENSOR_ID[,SENSOR_ID...] or NAME=*: one account publishes for several"
            " sensors (a bridge, the simulator); repeatable"
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here instead of stdout")
    ] = None,
) -> None:
    """Print the ACL: one account per sensor (its own topic only), the gateway alone on floorwatch/#."""
    settings = settings_or_exit(config)
    try:
        accounts = dict(parse_account(a) for a in account or [])
        text = acl_text(settings, gateway_user=gateway_user, accounts=accounts, source=str(config))
    except AclError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if output is None:
        typer.echo(text, nl=False)
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    typer.echo(f"wrote {output}", err=True)
