"""``floorwatch fleet dead-letters``: what fleet run could not decode. Shell module.

    floorwatch fleet dead-letters -c central.yaml [--limit 50] [--json] [--show-payload]
    floorwatch fleet dead-letters -c central.yaml --delete SEQ [--delete SEQ ...]
    floorwatch fleet dead-letters -c central.yaml --purge

Lists the newest dead letters (gateway.fleet.dead_letters), oldest first: their
sequence in the dead-letter stream, when they were kept, the original subject
and stream sequence, the reason and the payload's size; the payload itself only
with ``--show-payload`` (a site's payload is its own data: not printed by
default). ``--delete`` removes chosen ones, ``--purge`` all of them, once an
operator has looked. There is no replay: the central stream has no subjects of
its own (it is fed by the sites' streams), so a fixed message is sent again by
its site. Exit 0; 1: NATS or the stream cannot be read; 2: a bad central file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import nats
import nats.errors
import nats.js.errors
import typer

from gateway.cli_support import JsonOption, echo_json, exit_invalid
from gateway.config_loader import ConfigError
from gateway.fleet.central_config import CentralConfig, load_central
from gateway.fleet.dead_letters import DeadLetter, read_dead_letters
from gateway.fleet.nats_tls import connect_once

TIMEOUT_S = 5.0


async def _run(cfg: CentralConfig, limit: int, delete: list[int], purge: bool) -> list[DeadLetter]:
    """Delete or purge as asked, then read the newest ``limit``."""
    nc = await connect_once(cfg.nats, "floorwatch-fleet-dead-letters", TIMEOUT_S)
    try:
        js = nc.jetstream(timeout=TIMEOUT_S)
        stream = cfg.dead_letters.stream
        for seq in delete:
            try:
                await js.delete_msg(stream, seq)
            except nats.js.errors.NotFoundError:
                typer.echo(f"no dead letter {seq} in {stream}", err=True)
        if purge:
            await js.purge_stream(stream)
        return await read_dead_letters(js, stream, limit)
    finally:
        await nc.close()


def line(d: DeadLetter) -> str:
    origin = f"{d.stream}#{d.stream_seq}" if d.stream is not None else "-"
    when = d.time.strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{d.seq:>6}  {when}  {d.subject}  ({origin}, {d.size} B)  {d.reason}"


def dead_letters(
    config: Annotated[Path, typer.Option("--config", "-c", help="central file (YAML)")] = Path(
        "central.yaml"
    ),
    limit: Annotated[int, typer.Option("--limit", min=1, help="the newest this many")] = 50,
    show_payload: Annotated[
        bool, typer.Option("--show-payload", help="print each payload too (a site's own data)")
    ] = False,
    delete: Annotated[
        list[int] | None,
        typer.Option("--delete", min=1, help="remove this dead letter (its seq; repeatable)"),
    ] = None,
    purge: Annotated[
        bool, typer.Option("--purge", help="remove every dead letter (after looking at them)")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The messages fleet run could not decode: list, delete or purge them."""
    try:
        cfg = load_central(config)
    except ConfigError as exc:
        exit_invalid(exc)
    stream = cfg.dead_letters.stream
    try:
        found = asyncio.run(_run(cfg, limit, delete or [], purge))
    except nats.js.errors.NotFoundError:
        found = []  # no stream yet: nothing was ever rejected (it is made on the first)
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        typer.echo(f"cannot read {stream} at {cfg.nats.url}: {reason}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        echo_json(
            {"stream": stream, "dead_letters": [d.document(payload=show_payload) for d in found]}
        )
        return
    if not found:
        typer.echo(f"no dead letters in {stream}")
    for d in found:
        typer.echo(line(d))
        if show_payload:
            typer.echo("        " + d.payload.decode("utf-8", "backslashreplace"))
