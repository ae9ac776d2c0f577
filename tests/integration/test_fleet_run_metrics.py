"""`floorwatch fleet run --metrics-port 0`: the worker's own counters on GET /metrics.

A real process, nats-server and InfluxDB 1.x: ten zone states and one message
that cannot be decoded → fetched 11, acknowledged 10, rejected 1, 10 points,
and the consumer's lag (JetStream's) drains to 0 pending, 0 unacknowledged.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import nats
from prometheus_client.parser import text_string_to_metric_families

from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from tests.integration.test_fleet_run_cli import (
    FLOORWATCH,
    WAIT_S,
    central_file,
    publish,
    wait_for,
)

PREFIX = "floorwatch_fleet_worker_"


def samples(url: str) -> dict[str, float]:
    text = httpx.get(url, timeout=WAIT_S).text
    return {
        s.name.removeprefix(PREFIX): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(PREFIX)
    }


async def publish_garbage(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish("floorwatch.ha-noi.site-0.zone", b"not json")
    finally:
        await nc.close()


def test_the_workers_counters_and_lag_on_its_metrics_port(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    config = central_file(tmp_path / "c.yaml", nats_server.url, influxdb1.url, influxdb1_database)
    # an ack wait no slow batch outlasts: nothing is redelivered, the counts are exact
    config.write_text(config.read_text().replace("ack_wait_s: 1\n", "ack_wait_s: 120\n"))
    assert "ack_wait_s: 120" in config.read_text()
    asyncio.run(publish(nats_server.url, 0, 10))
    asyncio.run(publish_garbage(nats_server.url))
    log = tmp_path / "w.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(FLOORWATCH), "fleet", "run", "-c", str(config), "--state-dir", str(tmp_path / "w")]
            + ["--metrics-port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            wait_for("the endpoint", lambda: "fleet.metrics_listening" in log.read_text())
            found = re.search(
                r"fleet\.metrics_listening\s+host=127\.0\.0\.1 port=(\d+)", log.read_text()
            )
            assert found, log.read_text()
            url = f"http://127.0.0.1:{found[1]}/metrics"
            wait_for("10 acknowledged", lambda: samples(url).get("acked_total", 0) >= 10)
            wait_for(
                "no lag",
                lambda: (
                    (
                        samples(url).get("consumer_pending"),
                        samples(url).get("consumer_ack_pending"),
                    )
                    == (0, 0)
                ),
            )
            got = samples(url)
            assert (got["fetched_total"], got["acked_total"], got["rejected_total"]) == (11, 10, 1)
            assert got["points_total"] == 10 and got["redelivered_total"] == 0
            assert got["writer_spool_batches"] == 0 and "state_held_total" in got
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=WAIT_S) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
