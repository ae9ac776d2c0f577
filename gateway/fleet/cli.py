"""``floorwatch fleet status``: the fleet stream as JetStream sees it. Shell module.

    floorwatch fleet status -c site.yaml [--stream NAME] [--silent-after 600] [--json]
    floorwatch fleet status --central central.yaml [...]

Connects with the site file's ``fleet:`` section or with a central file's
``nats:`` (URL, credentials and TLS: ``tls_ca_file``, client certificate), reads the
stream's info, the last message of each of its subjects and its consumers,
and prints per site: last seen, age, messages per kind, silent or not; and
per consumer its lag. Pointed at a province's stream it lists every site.
It also prints the days left on each certificate it can see: the one each
server of the URL presents (and the central file's ``nats.cert_ports``, the
leafnode ports) and the file's TLS files (CA, client certificate), warning
under ``cert_warn_days`` (30); and per site the center's own certificates as
its heartbeat last reported them (fleet run's bucket). Exit 0: every site
seen recently; 3: a site is silent (or none has published yet); 4: a
certificate (the cluster's or a center's) expires within the threshold or
has expired; 1: NATS or the stream cannot be read; 2: a bad site or central
file.
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

from gateway.cli_support import JsonOption, echo_json, exit_invalid, settings_or_exit
from gateway.config_loader import ConfigError
from gateway.fleet.central import decode_state
from gateway.fleet.central_config import CentralNatsConfig, load_central
from gateway.fleet.cert_expiry import CertCheck, CertificateError, check
from gateway.fleet.nats_tls import (
    connect_once,
    file_certificates,
    presented_certificate,
    server_addresses,
)
from gateway.fleet.partitions import partition_names
from gateway.fleet.site_certs import SiteCertificate, reported
from gateway.fleet.status import (
    ConsumerLag,
    StreamFacts,
    SubjectSeen,
    merge_partitions,
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
EXIT_CERTIFICATE = 4


Reported = dict[str, tuple[datetime, tuple[SiteCertificate, ...]]]


async def read_stored(js: JetStreamContext, bucket: str) -> tuple[dict[str, datetime], Reported]:
    """Per site key, ``last_seen`` from the central workers' bucket, and the center's own
    certificates as it last reported them (when, which); nothing without the bucket."""
    try:
        kv = await js.key_value(bucket)
        keys = await kv.keys()
    except (nats.js.errors.BucketNotFoundError, nats.js.errors.NoKeysError):
        return {}, {}
    stored, certificates = {}, {}
    for key in keys:
        try:
            state = decode_state((await kv.get(key)).value)
        except nats.js.errors.KeyNotFoundError:
            continue
        seen = state.get("last_seen") if state else None
        if isinstance(seen, str):
            stored[key] = datetime.fromisoformat(seen)
        certs = reported(state)
        if certs is not None:
            certificates[key] = certs
    return stored, certificates


async def read_facts(
    cfg: FleetConfig | CentralNatsConfig,
    stream: str,
    bucket: str = SITES_BUCKET,
    partitions: int = 1,
) -> StreamFacts:
    """Stream info, each subject's last message time, and the consumers, from JetStream
    (of each partition stream there is, with ``partitions`` above 1)."""

    nc = await connect_once(cfg, "floorwatch-fleet-status", TIMEOUT_S)
    try:
        js = nc.jetstream(timeout=TIMEOUT_S)
        stored, certificates = await read_stored(js, bucket)
        parts = []
        for name in partition_names(stream, partitions):
            try:
                parts.append(await _stream_facts(js, name, stored, certificates))
            except nats.js.errors.NotFoundError:
                if name == stream:  # the first is there once the province is set up
                    raise
        return merge_partitions(parts)
    finally:
        await nc.close()


async def _stream_facts(
    js: JetStreamContext, stream: str, stored: dict[str, datetime], certificates: Reported
) -> StreamFacts:
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
        stored=stored,
        certificates=certificates,
    )


def read_certificates(
    cfg: FleetConfig | CentralNatsConfig, now: datetime, warn_days: float
) -> tuple[list[CertCheck], list[str]]:
    """The certificates the servers present and the file's TLS files, checked at
    ``now``; and a line per one that could not be read."""
    checks: list[CertCheck] = []
    problems: list[str] = []
    ports = server_addresses(cfg.url)
    if isinstance(cfg, CentralNatsConfig):
        ports += [(h, int(p)) for h, _, p in (a.rpartition(":") for a in cfg.cert_ports)]
    files = [f for f in (cfg.tls_cert_file, cfg.tls_ca_file) if f is not None]
    if isinstance(cfg, FleetConfig) and cfg.link_cert_file is not None:
        files.append(cfg.link_cert_file)  # the leaf's, on a center's own machine
    for host, port in ports:
        source = f"{host}:{port}"
        try:
            der = presented_certificate(host, port, TIMEOUT_S)
            if der is not None:
                checks.append(check(source, der, now, warn_days))
        except (OSError, CertificateError) as exc:
            problems.append(f"certificate {source}: cannot read it ({exc})")
    for path in files:
        try:
            ders = file_certificates(path)
            checks += [
                check(f"{path}" + (f" #{i + 1}" if len(ders) > 1 else ""), der, now, warn_days)
                for i, der in enumerate(ders)
            ]
        except (OSError, ValueError) as exc:
            problems.append(f"certificate {path}: cannot read it ({exc})")
    return checks, problems


@fleet_app.command("status")
def status(
    config: ConfigOption = Path("site.yaml"),
    central: Annotated[
        Path | None,
        typer.Option(help="a central file (YAML): connect with its nats: (credentials, TLS)"),
    ] = None,
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
    """Per site: last seen, age and messages per kind; per consumer: its lag; certificates."""
    cfg: FleetConfig | CentralNatsConfig
    if central is not None:
        try:
            cfg = load_central(central).nats
        except ConfigError as exc:
            exit_invalid(exc)
    else:
        cfg = settings_or_exit(config).fleet
    certs, cert_problems = read_certificates(cfg, datetime.now(UTC), cfg.cert_warn_days)
    name = stream or cfg.stream
    partitions = cfg.partitions if isinstance(cfg, CentralNatsConfig) and stream is None else 1
    try:
        facts = asyncio.run(read_facts(cfg, name, sites_bucket, partitions))
    except nats.js.errors.NotFoundError:
        typer.echo(f"no stream {name} at {cfg.url}", err=True)
        raise typer.Exit(1) from None
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        for line in (*(c.line() for c in certs), *cert_problems):
            typer.echo(line, err=True)
        typer.echo(f"cannot read the fleet stream at {cfg.url}: {reason}", err=True)
        raise typer.Exit(1) from None
    rows = site_rows(facts, cfg.subject_prefix, datetime.now(UTC), silent_after, cfg.cert_warn_days)
    if as_json:
        doc = status_document(rows, facts, silent_after)
        doc["certificates"] = [c.document() for c in certs]
        doc["certificate_problems"] = cert_problems
        echo_json(doc)
    else:
        for line in status_lines(rows, facts, silent_after):
            typer.echo(line)
        for line in (*(c.line() for c in certs), *cert_problems):
            typer.echo(line)
    if not rows or any(r.silent for r in rows):
        raise typer.Exit(EXIT_SILENT)
    centers = [c for r in rows for c in r.certificates]
    if any(c.level != "ok" for c in certs) or any(c.level in ("warn", "expired") for c in centers):
        raise typer.Exit(EXIT_CERTIFICATE)


fleet_app.command("run")(__import__("gateway.fleet.central_run").fleet.central_run.run)
fleet_app.command("serve")(__import__("gateway.fleet.serve").fleet.serve.serve_command)
fleet_app.add_typer(
    __import__("gateway.fleet.config_cli").fleet.config_cli.config_app, name="config"
)
fleet_app.command("sources")(__import__("gateway.fleet.config_cli").fleet.config_cli.sources)
fleet_app.command("dead-letters")(
    __import__("gateway.fleet.dead_letters_cli").fleet.dead_letters_cli.dead_letters
)
