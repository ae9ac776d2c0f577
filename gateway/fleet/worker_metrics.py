"""A ``fleet run`` worker's own counters as Prometheus text. Shell module (prometheus_client).

Off unless the central file's ``metrics.port`` is set (or ``--metrics-port``):
then ``GET /metrics`` on ``metrics.host`` (loopback by default) answers the
worker's ``FleetWorker.stats`` and its writer's figures, read at each scrape
(prometheus_client's own HTTP server, in a thread). Each process serves its
own port; the consumer's lag is JetStream's, as the worker last read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.fleet.central_worker import WorkerStats
from gateway.fleet.source_watch import WatchStats
from gateway.influx_writer import WriterStats

PREFIX = "floorwatch_fleet_worker"
COUNTERS = (
    ("fetched", "messages fetched from the stream"),
    ("redelivered", "fetched messages JetStream had delivered before"),
    ("nacked", "messages handed back (nak) to come again: failed batches, unkept dead letters"),
    ("acked", "messages acknowledged (stored and folded)"),
    ("rejected", "undecodable messages, terminated"),
    ("dead_lettered", "undecodable messages kept in the dead-letter stream"),
    ("points", "points made durable (database or spool)"),
    ("state_updates", "site documents written to the bucket"),
    ("state_conflicts", "site writes refused: another worker wrote first"),
    ("state_held", "site writes that waited for nats.kv_interval_s after the site's last one"),
    ("in_progress", "times a held batch was marked in progress"),
    ("errors", "NATS errors met (fetch, batch, lag, dead letter)"),
)


@dataclass(frozen=True, slots=True)
class Sources:
    worker: Callable[[], WorkerStats]
    writer: Callable[[], WriterStats]
    watch: Callable[[], WatchStats] | None = None


class WorkerCollector(Collector):
    """Reads the stats at each scrape; nothing cached."""

    def __init__(self, sources: Sources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        stats = self._sources.worker()
        for name, help_text in COUNTERS:
            if hasattr(stats, name):
                counter = CounterMetricFamily(f"{PREFIX}_{name}", help_text)
                counter.add_metric([], float(getattr(stats, name)))
                yield counter
        lag: tuple[tuple[str, int | None, str], ...] = (
            ("consumer_pending", stats.pending, "stream messages not yet handed to a worker"),
            ("consumer_ack_pending", stats.ack_pending, "handed out, not yet acknowledged"),
        )
        for name, count, help_text in lag:
            if count is not None:
                yield GaugeMetricFamily(f"{PREFIX}_{name}", help_text, value=float(count))
        w = self._sources.writer()
        gauges: tuple[tuple[str, float, str], ...] = (
            ("writer_pending_lines", w.pending_lines, "lines waiting for the database"),
            ("writer_spool_bytes", w.spool_bytes, "bytes in the writer's spool"),
            ("writer_spool_batches", w.spool_batches, "batches in the writer's spool"),
            ("writer_spool_oldest_age_seconds", w.spool_oldest_age_s, "the oldest spooled batch"),
        )
        for name, value, help_text in gauges:
            yield GaugeMetricFamily(f"{PREFIX}_{name}", help_text, value=float(value))
        errors = CounterMetricFamily(f"{PREFIX}_writer_write_errors", "failed write requests")
        errors.add_metric([], float(w.write_errors))
        yield errors
        if self._sources.watch is not None:
            yield from _watch_metrics(self._sources.watch())


WATCH_COUNTERS = (
    ("checks", "source checks made while holding the watch's lease"),
    ("restarts", "stalled sources restarted (silent while their site answered)"),
    ("unreachable", "silent sources whose site did not answer (link down)"),
    ("relays", "sites reachable through one node only, relayed by a subscription there"),
    ("errors", "failed source checks"),
)


def _watch_metrics(stats: WatchStats) -> Iterator[Metric]:
    for name, help_text in WATCH_COUNTERS:
        counter = CounterMetricFamily(f"{PREFIX}_source_watch_{name}", help_text)
        counter.add_metric([], float(getattr(stats, name)))
        yield counter
    yield GaugeMetricFamily(
        f"{PREFIX}_source_watch_leader",
        "1 while this process holds the watch's lease",
        value=1.0 if stats.leader else 0.0,
    )


def serve_metrics(host: str, port: int, sources: Sources) -> WSGIServer:
    """Start the endpoint (port 0: any free port, see ``server_port``); ``shutdown()`` ends it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(sources))
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server
