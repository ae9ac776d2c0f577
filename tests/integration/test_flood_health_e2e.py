"""``/health`` answers promptly while ``floorwatch run`` takes a flood of bad, large payloads.

2,000 malformed 30 KiB JSON documents and 100 payloads over the size limit
(validation.max_payload_bytes, set to 64 KiB here)
arrive on a sensor's topic as fast as mosquitto delivers them. A thread asks
``/health`` over and over from the first publish until the gateway has written
every dead letter; its p99 must stay under 100 ms (or, on a machine so loaded
that an idle gateway is already slow, under ten times the idle p99 measured in
the same run, before and after the flood). Counted alongside: every message was dead-lettered, and enough
requests landed inside the flood to make a p99.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from tests.integration.gateway_proc import GatewayProcess, site_file, wait_until

pytestmark = pytest.mark.integration

TOPIC = "airq/cl-f2-counters/data"  # the demo site's generic_json climate sensor
N_BAD, N_HUGE = 2000, 100


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _probe(url: str, samples: list[float], stop: threading.Event, limit: int = 0) -> None:
    with httpx.Client(timeout=10) as http:
        while not stop.is_set() and (limit == 0 or len(samples) < limit):
            start = time.perf_counter()
            r = http.get(url)
            samples.append(time.perf_counter() - start)
            assert r.status_code == 200


def _publish(broker: MosquittoServer, payloads: list[bytes]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flood-publisher")
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [client.publish(TOPIC, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()


def _dead_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for _ in path.open(encoding="utf-8"))


def test_health_stays_prompt_during_a_flood_of_bad_large_payloads(
    mosquitto: MosquittoServer, influxdb1: InfluxDB1Server, tmp_path: Path, topic_prefix: str
) -> None:
    state = tmp_path / "state"
    config = site_file(
        tmp_path,
        mqtt={
            "host": mosquitto.host,
            "port": mosquitto.port,
            "client_id": f"fw-flood-{topic_prefix[-8:]}",
        },
        influxdb={"url": influxdb1.url, "protocol": "v1", "database": "flood"},
        gateway={"state_dir": str(state), "dead_letter_size": 5000},
        validation={"max_payload_bytes": 64 * 1024},
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("api.started", timeout_s=60)
        gw.wait_log("mqtt.subscribed", timeout_s=60)
        [started] = [
            json.loads(line)
            for line in gw.log_path.read_text().splitlines()
            if '"api.started"' in line
        ]
        url = f"http://127.0.0.1:{started['port']}/health"
        idle: list[float] = []
        _probe(url, idle, threading.Event(), limit=200)

        bad = b'{"data": {"co2": [' + b"1," * (15 * 1024) + b"1"  # unterminated JSON
        huge = b"{" + b" " * (100 * 1024) + b"}"
        payloads = [bad] * N_BAD + [huge] * N_HUGE
        busy: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(target=_probe, args=(url, busy, stop), daemon=True)
        prober.start()
        try:
            _publish(mosquitto, payloads)
            wait_until(
                lambda: _dead_lines(state / "dead-letters.jsonl") >= len(payloads),
                120,
                "every payload dead-lettered",
            )
        finally:
            stop.set()
            prober.join(30)
        _probe(url, idle, threading.Event(), limit=400)  # idle again, after the flood
    finally:
        assert gw.stop() == 0
    assert len(busy) >= 20, len(busy)
    busy_p99, idle_p99 = _p99(busy), _p99(idle)
    assert busy_p99 < max(0.1, 10 * idle_p99), (busy_p99, idle_p99, len(busy))
    [stopped] = [
        json.loads(line)
        for line in gw.log_path.read_text().splitlines()
        if '"gateway.stopped"' in line
    ]
    assert stopped["decode_errors"] == len(payloads)
    assert stopped["oversized"] == N_HUGE
