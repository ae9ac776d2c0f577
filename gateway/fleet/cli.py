"""``floorwatch fleet status``: the fleet stream as JetStream sees it. Shell module.

    floorwatch fleet status -c site.yaml [--stream NAME] [--silent-after 600] [--json]

Connects with the site file's ``fleet:`` section (URL and credentials), reads
the stream's info, the last message of each of its subjects and its
consumers, and prints per site: last seen, age, messages per kind, silent or
not; and per consumer its lag. Pointed at a province's stream it lists every
site. Exit 0: every site seen recently; 3: a site is silent (or none has
published yet); 1: NATS or the stream cannot be read; 2: a bad site file.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import nats
import nats.errors
import nats.js.errors
import typer
from nats.js import JetStreamContext

from gateway.cli_support import JsonOption, echo_json, settings_or_exit
from gateway.fleet.central import decode_state
from gateway.fleet.status import (
    ConsumerLag,
    StreamFacts,
    SubjectSeen,
    site_rows,
    status_document,
    status_lines,
)
from gateway.settings import FleetConfig

fleet_app = typer.Typer(
    help="The site uplink to the province's NATS JetStream (docs/fleet.md).",
    no_args_is_help=True,
)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)")]
TIMEOUT_S = 5.0
SITES_BUCKET = "fleet_sites"
EXIT_SILENT = 3


async def read_stored(js: JetStreamContext, bucket: str) -> dict[str, datetime]:
    """Per site key, ``last_seen`` from the central workers' bucket; nothing without one."""
    try:
        kv = await js.key_value(bucket)
        keys = await kv.keys()
    except (nats.js.errors.BucketNotFoundError, nats.js.errors.NoKeysError):
        return {}
    stored = {}
    for key in keys:
        try:
            state = decode_state((await kv.get(key)).value)
        except nats.js.errors.KeyNotFoundError:
            continue
        seen = state.get("last_seen") if state else None
        if isinstance(seen, str):
            stored[key] = datetime.fromisoformat(seen)
    return stored


async def read_facts(cfg: FleetConfig, stream: str, bucket: str = SITES_BUCKET) -> StreamFacts:
    """Stream info, each subject's last message time, and the consumers, from JetStream."""

    async def quiet(exc: Exception) -> None:
        """nats-py prints each failed attempt; the command reports the outcome once."""

    # nats-py retries a first connection without end: bound it here.
    try:
        nc = await asyncio.wait_for(
            nats.connect(
                servers=[cfg.url],
                name="floorwatch-fleet-status",
                connect_timeout=int(TIMEOUT_S),
                allow_reconnect=False,
                error_cb=quiet,
                token=cfg.token.get_secret_value() if cfg.token is not None else None,
                user=cfg.user,
                password=cfg.password.get_secret_value() if cfg.password is not None else None,
            ),
            TIMEOUT_S,
        )
    except TimeoutError:
        raise ConnectionError(f"no answer within {TIMEOUT_S:g} s") from None
    try:
        js = nc.jetstream(timeout=TIMEOUT_S)
        info = await js.stream_info(stream, subjects_filter=">")
        counts = info.state.subjects or {}
        seen = []
        for subject, n in sorted(counts.items()):
            last = await js.get_last_msg(stream, subject)
            seen.append(SubjectSeen(subject, n, last.time))
        consumers = [
            ConsumerLag(
                c.name,
                c.num_pending or 0,
                c.num_ack_pending or 0,
                c.num_redelivered or 0,
            )
            for c in await js.consumers_info(stream)
        ]
        return StreamFacts(
            stream=stream,
            subjects=list(info.config.subjects or []),
            messages=info.state.messages,
            bytes=info.state.bytes,
            first_seq=info.state.first_seq,
            last_seq=info.state.last_seq,
            duplicate_window_s=info.config.duplicate_window,
            seen=seen,
            consumers=consumers,
            stored=await read_stored(js, bucket),
        )
    finally:
        await nc.close()


@fleet_app.command("status")
def status(
    config: ConfigOption = Path("site.yaml"),
    stream: Annotated[
        str | None, typer.Option(help="the stream to read (default: fleet.stream)")
    ] = None,
    silent_after: Annotated[
        float, typer.Option("--silent-after", min=1, help="a site is silent after this, s")
    ] = 600.0,
    sites_bucket: Annotated[
        str, typer.Option("--sites-bucket", help="fleet run's key-value bucket, if any")
    ] = SITES_BUCKET,
    as_json: JsonOption = False,
) -> None:
    """Per site: last seen, age and messages per kind; per consumer: its lag."""
    cfg = settings_or_exit(config).fleet
    name = stream or cfg.stream
    try:
        facts = asyncio.run(read_facts(cfg, name, sites_bucket))
    except nats.js.errors.NotFoundError:
        typer.echo(f"no stream {name} at {cfg.url}", err=True)
        raise typer.Exit(1) from None
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        typer.echo(f"cannot read the fleet stream at {cfg.url}: {reason}", err=True)
        raise typer.Exit(1) from None
    rows = site_rows(facts, cfg.subject_prefix, datetime.now(UTC), silent_after)
    if as_json:
        echo_json(status_document(rows, facts, silent_after))
    else:
        for line in status_lines(rows, facts, silent_after):
            typer.echo(line)
    if not rows or any(r.silent for r in rows):
        raise typer.Exit(EXIT_SILENT)


fleet_app.command("run")(__import__("gateway.fleet.central_run").fleet.central_run.run)
fleet_app.command("serve")(__import__("gateway.fleet.serve").fleet.serve.serve_command)
fleet_app.add_typer(
    __import__("gateway.fleet.config_cli").fleet.config_cli.config_app, name="config"
)
fleet_app.command("sources")(__import__("gateway.fleet.config_cli").fleet.config_cli.sources)
