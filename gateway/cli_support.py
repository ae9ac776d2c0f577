"""What every ``floorwatch`` sub-command shares: reading the site file, or exiting 2."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from gateway.config_loader import ConfigError, LoadedSettings, load_settings
from gateway.settings import Settings

JsonOption = Annotated[
    bool, typer.Option("--json", help="print JSON (one document on stdout) instead of text")
]


def echo_json(document: Any) -> None:
    """One JSON document on stdout; dates and enums as their ISO / value strings."""
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def load_or_exit(path: Path, *, as_json: bool = False, need_secrets: bool = True) -> LoadedSettings:
    """The site file with the environment's overrides; on errors, list them and exit 2.

    With ``as_json`` the errors are one JSON document on stdout
    (``{"ok": false, "file": ..., "errors": [{"path", "line", "message"}]}``).
    Commands that connect to nothing pass ``need_secrets=False``: an unset
    ``{env: NAME}`` secret is then left out, not an error.
    """
    try:
        return load_settings(path, os.environ, need_secrets=need_secrets)
    except ConfigError as exc:
        if as_json:
            errors = [{"path": i.path, "line": i.line, "message": i.message} for i in exc.issues]
            echo_json({"ok": False, "file": exc.source, "errors": errors})
            raise typer.Exit(2) from exc
        exit_invalid(exc)


def exit_invalid(exc: ConfigError) -> NoReturn:
    """A file that is not valid: its problems on stderr, one a line, and exit 2."""
    typer.echo(f"{exc.source}: configuration is not valid", err=True)
    for issue in exc.issues:
        typer.echo(f"  - {issue}", err=True)
    raise typer.Exit(2) from exc


def settings_or_exit(path: Path, *, need_secrets: bool = True) -> Settings:
    return load_or_exit(path, need_secrets=need_secrets).settings
