"""``floorwatch sensors profiles [NAME]``: the shipped device profiles, or one in full.

The text is made by pure functions (``listing``, ``details``) so tests read
it without a terminal; the command only prints it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from sensors.profiles.catalog import Loaded, ProfileError, load, shipped, shipped_names


def listing() -> str:
    """One line per shipped profile: name, kind, parser, title."""
    rows = [(n, shipped(n).profile) for n in shipped_names()]
    width = max(len(n) for n, _ in rows)
    lines = [f"{'profile':<{width}}  {'kind':<12}  {'parser':<13}  device"]
    for name, p in rows:
        lines.append(f"{name:<{width}}  {p.kind.value:<12}  {p.parser:<13}  {p.title}")
    lines.append("")
    lines.append(f"{len(rows)} profiles; 'floorwatch sensors profiles NAME' shows one in full.")
    return "\n".join(lines) + "\n"


def site_entry(loaded: Loaded) -> str:
    """The lines a site file needs to use the profile (ids and names for the user to set)."""
    p = loaded.profile
    parts = ["id: <sensor id>", f"profile: {loaded.ref}"]
    parts.append("device: <device name>" if p.topic is not None else "topic: <topic>")
    if p.kind.value == "door_counter":
        parts.append("door: <door id>")
    elif p.kind.value == "queue":
        parts.append("services: {<system code>: <service id>}")
    else:
        parts.append("zone: <zone id>")
    return "sensors:\n  - {" + ", ".join(parts) + "}\n"


def details(loaded: Loaded) -> str:
    """A profile in full: what it reads, how, from where, and the site entry to use it."""
    p = loaded.profile
    out = [f"{loaded.ref}: {p.title}", f"  vendor:   {p.vendor} ({p.family})"]
    if p.models:
        out.append(f"  models:   {', '.join(p.models)}")
    out.append(f"  kind:     {p.kind.value}")
    out.append(f"  parser:   {p.parser}")
    if p.topic is not None:
        out.append(f"  topic:    {p.topic}")
    if p.counts is not None:
        out.append(f"  counts:   {p.counts}")
    out.append(f"  stores:   {', '.join(p.stores)}")
    if p.availability is not None:
        a = p.availability
        online = ", ".join(a.online) or "(any reading)"
        out.append(f"  availability: {a.topic}: online {online}; offline {', '.join(a.offline)}")
    if p.options:
        out.append("  options:")
        text = yaml.safe_dump(p.options, sort_keys=False, allow_unicode=True)
        out.extend(f"    {line}" for line in text.splitlines())
    for need in p.requires:
        out.append(f"  switch on: {need}")
    if p.notes:
        out.append(f"  notes:    {p.notes}")
    out.extend(f"  source:   {url}" for url in p.source)
    out.append("")
    out.append(site_entry(loaded).rstrip("\n"))
    return "\n".join(out) + "\n"


def profiles(
    name: Annotated[
        str | None,
        typer.Argument(help="a shipped profile, or a profile file (.yaml) to check and show"),
    ] = None,
) -> None:
    """List the device profiles, or show one (what it reads, its sources, its site entry)."""
    if name is None:
        typer.echo(listing(), nl=False)
        return
    try:
        loaded = load(name, Path.cwd())
    except ProfileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(details(loaded), nl=False)
