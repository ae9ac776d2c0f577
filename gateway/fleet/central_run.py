"""``floorwatch fleet run``: the central service's composition root. Shell module.

    floorwatch fleet run -c central.yaml [--state-dir DIR] [--metrics-port N]

One process = one InfluxWriter (with its own spool under ``state_dir``), one
FleetWorker on the shared durable consumer and a SourceWatch (the one holding
its lease restarts stalled sources; ``source_watch.enabled``). Run as many
processes as the load needs, each with its own ``--state-dir``; they split the
stream between them.
Exit 2: a bad central file; 1: NATS cannot be reached at start.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Annotated

import nats.errors
import structlog
import typer

from gateway.app import run_until_signalled
from gateway.cli_support import exit_invalid
from gateway.config_loader import ConfigError
from gateway.fleet.central_config import CentralConfig, load_central
from gateway.fleet.central_worker import FleetWorker
from gateway.fleet.dead_letters import DeadLetters
from gateway.fleet.source_watch import SourceWatch
from gateway.fleet.stopping import cancel_until_done
from gateway.fleet.worker_metrics import Sources, serve_metrics
from gateway.influx_writer import InfluxWriter
from gateway.logs import configure_logging
from gateway.spool import Spool

#: The cyclic garbage collector's thresholds in a ``fleet run`` process: a young
#: collection every 10,000 new container objects instead of 700 (see collect_less).
GC_THRESHOLDS = (10_000, 10, 10)


def collect_less() -> None:
    """Make the cyclic garbage collector cost a worker less: what exists at start
    (modules, config) is frozen out of its scans (``gc.freeze``) and it runs after
    10,000 new containers instead of 700.

    A worker allocates a few dicts and lists per message (the decoded JSON, the
    record, its points), most of them alive for their batch, so the default
    thresholds collected every few dozen messages and each collection walked the
    batches in flight. Measured on the simulator's 28,494 messages of 300 centers
    (decode and points, four batches of 1,000 kept alive): 18.5 µs a message with
    the defaults, 15.0 µs with this, as with the collector off. Reference cycles
    are still collected, ten times less often; the process's memory does not
    depend on it (a batch's objects go when the batch is done, by reference
    counting). Called by the ``fleet run`` command, not by ``serve()`` (tests run
    that in their own process).
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def build(
    cfg: CentralConfig, *, name: str = "floorwatch-fleet-worker"
) -> tuple[InfluxWriter, FleetWorker]:
    """The writer (and its spool) and the worker of one process."""
    spool_cfg = cfg.influxdb.spool
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    spool = Spool(
        spool_cfg.path or cfg.state_dir / "spool",
        max_bytes=spool_cfg.max_bytes,
        max_rejected=spool_cfg.max_rejected,
    )
    writer = InfluxWriter(cfg.influxdb, spool)
    dead = cfg.dead_letters
    dead_letters = (
        DeadLetters(dead, prefix=cfg.nats.subject_prefix, replicas=cfg.nats.kv_replicas)
        if dead.enabled
        else None
    )
    return writer, FleetWorker(cfg.nats, writer, name=name, dead_letters=dead_letters)


async def serve(cfg: CentralConfig) -> None:
    """Run the writer and the worker until cancelled or one fails; then flush the writer.

    Stopped by ``cancel_until_done``, not a TaskGroup's single cancel: nats-py's
    fetch can swallow that one cancellation and the process would never exit.
    """
    writer, worker = build(cfg)
    watch = SourceWatch(cfg.nats, cfg.source_watch) if cfg.source_watch.enabled else None
    metrics = None
    if cfg.metrics.port is not None:
        sources = Sources(
            worker=lambda: worker.stats,
            writer=writer.stats,
            watch=(lambda: watch.stats) if watch is not None else None,
        )
        metrics = serve_metrics(cfg.metrics.host, cfg.metrics.port, sources)
        structlog.get_logger("floorwatch.fleet").info(
            "fleet.metrics_listening", host=cfg.metrics.host, port=metrics.server_port
        )
    tasks = {
        asyncio.create_task(writer.run(), name="fleet-writer"),
        asyncio.create_task(worker.run(), name="fleet-worker"),
    }
    if watch is not None:
        tasks.add(asyncio.create_task(watch.run(), name="fleet-source-watch"))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # the one that failed (neither ends otherwise)
    finally:
        await cancel_until_done(tasks)
        await writer.close()
        if metrics is not None:
            await asyncio.to_thread(metrics.shutdown)
            metrics.server_close()


def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="central file (YAML)")] = Path(
        "central.yaml"
    ),
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="this process's spool folder")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="serve this process's counters on GET /metrics (0: any free port)",
        ),
    ] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines")] = False,
) -> None:
    """Central workers: the province stream into the central store and the sites' state."""
    configure_logging(json=log_json)
    try:
        cfg = load_central(config)
    except ConfigError as exc:
        exit_invalid(exc)
    if state_dir is not None:
        cfg = cfg.model_copy(update={"state_dir": state_dir})
    if metrics_port is not None:
        cfg = cfg.model_copy(
            update={"metrics": cfg.metrics.model_copy(update={"port": metrics_port})}
        )
    collect_less()
    try:
        asyncio.run(run_until_signalled(lambda: serve(cfg)))
    except* (nats.errors.Error, OSError) as group:
        reason = "; ".join(str(e) or type(e).__name__ for e in group.exceptions)
        structlog.get_logger("floorwatch.fleet").error("fleet.run_failed", reason=reason)
        raise typer.Exit(1) from None
