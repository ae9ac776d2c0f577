"""``floorwatch api``: make API tokens and check what a site file grants."""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Annotated

import typer

from gateway.cli_support import JsonOption, echo_json
from gateway.settings import Role

api_app = typer.Typer(help="API tokens and roles.", no_args_is_help=True)


@api_app.command("token")
def new_token(
    name: Annotated[str, typer.Option(help="who will hold the token (shown in audit records)")],
    role: Annotated[Role, typer.Option(help="viewer, supervisor, manager, facility or admin")],
    env: Annotated[str, typer.Option(help="environment variable that will hold it")] = "",
) -> None:
    """Print a new random token and the site-file lines that grant it."""
    token = secrets.token_urlsafe(24)
    var = env or env_name(name)
    typer.echo(f"export {var}={token}")
    typer.echo("# in the site file, under api.tokens:")
    typer.echo(f'- {{name: "{name}", role: {role.value}, token: {{env: {var}}}}}')


def env_name(name: str) -> str:
    """'Nguyễn Văn An' -> 'FW_TOKEN_NGUYEN_VAN_AN' (ASCII: a shell variable name)."""
    plain = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    ascii_ = "".join(c for c in plain if c.isascii())
    return "FW_TOKEN_" + re.sub(r"[^A-Z0-9]+", "_", ascii_.upper()).strip("_")[:40]


@api_app.command("roles")
def roles(as_json: JsonOption = False) -> None:
    """What each role may do."""
    from api.auth import ROLE_PERMISSIONS

    if as_json:
        echo_json({r.value: sorted(p.value for p in ps) for r, ps in ROLE_PERMISSIONS.items()})
        return
    for role, permissions in ROLE_PERMISSIONS.items():
        typer.echo(f"{role.value:<11} {', '.join(sorted(p.value for p in permissions))}")
