"""``floorwatch config reference|schema``: the key table of the docs and the editors' schema.

    floorwatch config reference --write docs/configuration.md   # regenerate the table
    floorwatch config schema --write config/site.schema.json    # for VS Code YAML

Both come from the settings models (``gateway.config_reference``), so neither
can drift from the code; tests keep the committed copies equal. Shell module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.config_reference import BEGIN, END, reference_markdown, site_schema

WriteOption = Annotated[
    Path | None,
    typer.Option("--write", help="update this file instead of printing", dir_okay=False),
]


def schema_text() -> str:
    return json.dumps(site_schema(), ensure_ascii=False, indent=1) + "\n"


def with_reference(document: str) -> str:
    """The document with the text between its markers replaced by the generated table."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {BEGIN!r} ... {END!r} are not in the document")
    return document[:start] + reference_markdown() + document[end + len(END) :]


def reference(write: WriteOption = None) -> None:
    """Every key of the site file: type, default, unit, meaning (markdown)."""
    if write is None:
        typer.echo(reference_markdown())
        return
    try:
        updated = with_reference(write.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"{write}: {exc}", err=True)
        raise typer.Exit(2) from exc
    write.write_text(updated, encoding="utf-8")
    typer.echo(f"updated the key reference in {write}")


def schema(write: WriteOption = None) -> None:
    """The JSON Schema of a site file (for editors that validate YAML)."""
    if write is None:
        typer.echo(schema_text(), nl=False)
        return
    write.write_text(schema_text(), encoding="utf-8")
    typer.echo(f"wrote {write}")
