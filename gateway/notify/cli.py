"""``floorwatch notify``: try a channel, read an alert's deliveries. Shell module.

    floorwatch notify test zalo-ca-truc -c site.yaml
    floorwatch notify status crowd_level:f2-waiting:3 -c site.yaml [--json]
    floorwatch notify channels -c site.yaml

``test`` sends a test message through the channel now (not through the
outbox), prints ``sent`` or ``failed: <reason>`` and exits 0 or 1. ``status``
reads the outbox in ``<gateway.state_dir>/alerts.sqlite3`` read-only, also
while the gateway runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from gateway.cli_support import JsonOption, echo_json, settings_or_exit
from gateway.notify.channels import ChannelError, Outgoing, sender
from gateway.notify.config import AppriseChannel, HttpChannel
from gateway.notify.outbox import read_status
from gateway.notify.texts import render_test
from gateway.notify.wiring import site_names

notify_app = typer.Typer(help="Notification channels: test one, read deliveries.")
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)")]


@notify_app.command("test")
def test_channel(
    channel: Annotated[str, typer.Argument(help="a notifications.channels[].id")],
    config: ConfigOption,
) -> None:
    """Send a test message through CHANNEL and print the outcome."""
    settings = settings_or_exit(config)
    cfg = settings.notifications
    try:
        c = cfg.channel(channel)
    except KeyError:
        known = ", ".join(ch.id for ch in cfg.channels) or "none configured"
        typer.echo(f"unknown channel {channel!r} (channels: {known})", err=True)
        raise typer.Exit(2) from None
    now = datetime.now(UTC)
    rendered = render_test(c.id, site_names(settings), c.language or cfg.language, now)
    message = Outgoing(
        key=f"fw-test-{c.id}-{now:%Y%m%dT%H%M%S%f}",
        title=rendered.title,
        body=rendered.body,
        kind="test",
        site=settings.site.name,
    )
    kind = "Apprise" if isinstance(c, AppriseChannel) else f"HTTP {c.method}"
    started = time.monotonic()
    try:
        asyncio.run(_send_once(c, message))
    except ChannelError as exc:
        typer.echo(f"{c.id} ({kind}): failed: {exc.reason}")
        raise typer.Exit(1) from None
    except TimeoutError:
        typer.echo(f"{c.id} ({kind}): failed: no answer within {c.timeout_s * 4:g} s")
        raise typer.Exit(1) from None
    elapsed = time.monotonic() - started
    typer.echo(f"{c.id} ({kind}): sent in {elapsed:.1f} s, key {message.key}")


async def _send_once(c: AppriseChannel | HttpChannel, message: Outgoing) -> None:
    s = sender(c)
    try:
        await s.send(message, frozenset())
    finally:
        await s.close()


@notify_app.command("status")
def status(alert_id: str, config: ConfigOption, as_json: JsonOption = False) -> None:
    """The deliveries of one alert: channel, kind, queued / sent / failed / skipped and why."""
    settings = settings_or_exit(config, need_secrets=False)
    tz = ZoneInfo(settings.site.timezone)
    rows = read_status(settings.gateway.state_dir / "alerts.sqlite3", alert_id)
    if as_json:
        echo_json([dataclasses.asdict(r) for r in rows])
        return
    if not rows:
        typer.echo(f"no notification planned for {alert_id}")
        return
    for r in rows:
        sent = f" sent {r.sent_at.astimezone(tz):%H:%M:%S}" if r.sent_at else ""
        why = f" – {r.reason}" if r.reason else ""
        typer.echo(
            f"{r.channel:<20} {r.kind:<10} {r.state:<8} due {r.due_at.astimezone(tz):%d/%m %H:%M}"
            f"{sent} attempts {r.attempts}{why}"
        )


@notify_app.command("channels")
def channels(config: ConfigOption) -> None:
    """The configured channels and the roles that use them (no secrets)."""
    cfg = settings_or_exit(config, need_secrets=False).notifications
    for c in cfg.channels:
        roles = [role for role, ids in cfg.roles.items() if c.id in ids]
        where = c.url.partition("://")[0] + "://…" if isinstance(c, AppriseChannel) else c.url
        typer.echo(f"{c.id:<20} {c.type:<8} {where:<40} roles: {', '.join(roles) or '-'}")
