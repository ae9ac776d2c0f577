"""The worker's Prometheus collector reads each counter of WorkerStats under its own name."""

from __future__ import annotations

from dataclasses import fields

from prometheus_client import CollectorRegistry, generate_latest

from gateway.fleet.central_worker import WorkerStats
from gateway.fleet.worker_metrics import COUNTERS, PREFIX, Sources, WorkerCollector
from gateway.influx_writer import WriterStats

WRITER = WriterStats(
    points_written=0,
    batches_written=0,
    batches_spooled=0,
    write_errors=2,
    last_error=None,
    last_write_latency_ms=None,
    pending_lines=5,
    spool_bytes=0,
    spool_batches=0,
    spool_oldest_age_s=0.0,
    spool_fill_ratio=0.0,
)


def scrape(stats: WorkerStats) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(WorkerCollector(Sources(lambda: stats, lambda: WRITER)))
    out: dict[str, float] = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name.removeprefix(PREFIX + "_")] = float(value)
    return out


def test_every_counter_of_the_stats_is_exported_with_its_own_value() -> None:
    counters = [name for name, _ in COUNTERS]
    # distinct values, so a counter read from the wrong field shows
    stats = WorkerStats(**{name: 10 + i for i, name in enumerate(counters)})
    got = scrape(stats)
    for i, name in enumerate(counters):
        assert got[f"{name}_total"] == 10 + i, name
    assert got["state_held_total"] == 10 + counters.index("state_held")
    assert got["writer_pending_lines"] == 5 and got["writer_write_errors_total"] == 2


def test_every_int_counter_of_workerstats_has_a_metric() -> None:
    gauges = {"pending", "ack_pending", "partitions"}  # exported as gauges (or not at all)
    ints = {f.name for f in fields(WorkerStats) if f.type in ("int", int)} - gauges
    assert ints == {name for name, _ in COUNTERS}


def test_the_lag_is_absent_until_read() -> None:
    assert "consumer_pending" not in scrape(WorkerStats())
    got = scrape(WorkerStats(pending=7, ack_pending=3))
    assert (got["consumer_pending"], got["consumer_ack_pending"]) == (7, 3)
