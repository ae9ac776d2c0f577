"""What every ``floorwatch`` sub-command shares: reading the site file, or exiting 2."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from gateway.config_loader import ConfigError, LoadedSettings, load_settings
from gateway.settings import Settings


def load_or_exit(path: Path) -> LoadedSettings:
    """The site file with the environment's overrides; on errors, list them and exit 2."""
    try:
        return load_settings(path, os.environ)
    except ConfigError as exc:
        typer.echo(f"{exc.source}: configuration is not valid", err=True)
        for issue in exc.issues:
            typer.echo(f"  - {issue}", err=True)
        raise typer.Exit(2) from exc


def settings_or_exit(path: Path) -> Settings:
    return load_or_exit(path).settings
