"""Ingest benchmark: floorwatch's sustained MQTT -> InfluxDB rate against a bare subscriber.

    .venv/bin/python -m bench.ingest [--messages 200000]

In one run, on one tuned mosquitto:
  (a) ceiling: a bare paho subscriber (QoS 1) that only counts messages;
  (b) floorwatch (`floorwatch run`, QoS 1, manual acks after durability)
      decoding every message and storing it in InfluxDB 1.x, from the first
      publish of a burst to the last point readable in InfluxDB;
and prints b/a (target >= 0.5), then publishes at 80 % of (b) and prints the
p50/p99 publish-to-stored latency (target p99 <= 2 s): under a burst larger
than any consumer's rate, latency only measures the backlog. Messages are ~200-byte JSON climate payloads published by a raw
socket publisher (cheaper than any Python MQTT client).

Then the same with a MIXED corpus: the good payloads of the public device
corpus (tests/fixtures/devices/: Zigbee2MQTT, Tasmota, ESPHome / Home
Assistant, Milesight / Axis / LoRaWAN counters, ticket systems), cycled to
``--messages``, each on its own sensor's topic, against a gateway configured
with every corpus sensor: (c) its ceiling (a bare subscriber on the same
messages), (d) floorwatch decoding and storing them, timed from the first
publish to a sentinel reading published last being readable in InfluxDB
(one publisher, QoS 1: everything before it was decoded and written), and
d/c (target >= 0.5). The corpus repeats each payload about
``--messages / 140`` times, so the duplicate filter is off in that run
(``duplicate_window_s: 0``): with it on, the repeats would be dropped and
the run would measure less work than it says.

The bare subscriber runs on a clean session (until 2026-12-06 it kept a
persistent one: the broker then queued for it all that (b) and the paced run
published on the climate topic, and (c) counted that backlog of climate
messages, delivered at the broker's full speed, instead of the mixed corpus:
(c) was too high and d/c too low; the broker also did that queueing during
the gateway's runs and not during (a)).

Beside each rate it prints CPU time per message (Linux, from /proc): the
bare subscriber's network thread for (a) and (c), the whole ``floorwatch
run`` process (every thread, from connected to the last point stored) for
(b) and (d). The rates and their ratios are the targets; the CPU figures
do not replace them (InfluxDB's and mosquitto's work is in neither). They
are there because on a shared machine the ratios swing with other people's
load, which takes wall time from the ceiling and the gateway unevenly within
one run, while CPU time per message moves much less: a change to the
gateway shows in them when the ratios are noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.rawpub import RawPublisher
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from tests.integration.gateway_proc import GatewayProcess, site_file
from tests.integration.test_corpus_e2e import TOKEN, TOKEN_ENV, corpus_site, replay_plan

TOPIC = "airq/cl-f2-counters/data"  # the demo site's generic_json climate sensor


def cpu_s(stat: Path) -> float | None:
    """User + system CPU seconds from a /proc/<pid>[/task/<tid>]/stat file; None off Linux."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _per_1000(used: float | None, n: int) -> str:
    return "n/a" if used is None else f"{used * 1000 / n * 1000:.0f} ms CPU per 1000"


def make_messages(n: int, hours_back: float = 6) -> list[tuple[str, bytes]]:
    base = datetime.now(UTC) - timedelta(hours=hours_back)
    base_ms = int(base.timestamp() * 1000)
    out = []
    for i in range(n):
        doc = {
            "ts": base_ms + i,
            "data": {
                "temp_f": 78.0 + (i % 50) / 10,
                "rh": 60.0 + (i % 100) / 10,
                "co2": 500 + i % 900,
            },
            "device": {
                "model": "AQ-300",
                "fw": "2.4.1",
                "uptime_s": 86400 + i,
                "rssi": -60 - i % 20,
                "ip": f"10.20.2.{30 + i % 23}",
                "location": "floor 2, counters 1-12",
            },
            "seq": i,
        }
        out.append((TOPIC, json.dumps(doc, separators=(",", ":")).encode()))
    return out


def ceiling(
    broker: MosquittoServer, messages: list[tuple[str, bytes]], topic_filter: str = TOPIC
) -> tuple[float, float | None]:
    """Messages per second a bare paho QoS 1 subscriber receives, and its thread's CPU s."""
    n = len(messages)
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: object, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.monotonic()
        if got == n:
            last = time.monotonic()
            done.set()

    # A clean session: a persistent one would outlive this call, and the broker would
    # queue for it everything (b) publishes on TOPIC, then hand that backlog to the next
    # ceiling, (c), which counted it instead of the mixed corpus (and the broker did the
    # queueing during the gateway's runs, work it did not do during (a)).
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", clean_session=True)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(broker.host, broker.port)
    sub.subscribe(topic_filter, qos=1)
    sub.loop_start()
    subscribed.wait(10)
    [network] = [t for t in threading.enumerate() if t.name.startswith("paho-mqtt-client-")]
    stat = Path(f"/proc/self/task/{network.native_id}/stat")
    start = cpu_s(stat)
    with RawPublisher(broker.host, broker.port, "bench-pub-a") as pub:
        pub.send(messages)
        if not done.wait(300):
            raise SystemExit(f"bare subscriber got only {got} of {n}")
    end = cpu_s(stat)
    sub.loop_stop()
    sub.disconnect()
    used = None if start is None or end is None else end - start
    return n / (last - first), used


POLL_S = 0.1  # resolution of the latency figures; a count() poll costs InfluxDB CPU


def _poll(url: str, db: str, n: int, polls: list[tuple[float, int]], done: threading.Event) -> None:
    """Record (time, points stored) until all ``n`` are stored, 600 s pass or ``done``."""
    q = "SELECT count(co2) FROM climate WHERE sensor = 'cl-f2-counters'"
    deadline = time.monotonic() + 600
    count = 0
    with httpx.Client(base_url=url, timeout=10) as http:
        while count < n and time.monotonic() < deadline and not done.is_set():
            r = http.get("/query", params={"db": db, "q": q})
            series = r.json().get("results", [{}])[0].get("series")
            count = int(series[0]["values"][0][1]) if series else 0
            polls.append((time.monotonic(), count))
            time.sleep(POLL_S)


def floorwatch_run(
    folder: Path,
    broker: MosquittoServer,
    influx: InfluxDB1Server,
    messages: list[tuple[str, bytes]],
    pace: float | None = None,
) -> tuple[float, float, float, float | None]:
    """(msg/s, p50 s, p99 s, gateway CPU s) of publish -> stored; ``pace`` msg/s or a burst."""
    db = f"bench_{uuid.uuid4().hex[:6]}"
    config = site_file(
        folder,
        mqtt={"host": broker.host, "port": broker.port, "client_id": "bench-gw"},
        influxdb={
            "url": influx.url,
            "protocol": "v1",
            "database": db,
            "batch_size": 5000,
            "flush_interval_s": 0.2,
        },
        gateway={"state_dir": str(folder / "state"), "queue_size": 50000},
    )
    gw = GatewayProcess(config, folder / "gateway.log")
    gw.start()
    gw.wait_log("mqtt.connected")
    stat = Path(f"/proc/{gw.proc.pid}/stat") if gw.proc is not None else Path("/nonexistent")
    start = cpu_s(stat)
    n = len(messages)
    polls: list[tuple[float, int]] = []
    done = threading.Event()
    poller = threading.Thread(target=_poll, args=(influx.url, db, n, polls, done), daemon=True)
    # Poll while publishing: a message's latency is the first poll that sees it
    # stored, so polls must not wait for the last publish.
    poller.start()
    with RawPublisher(broker.host, broker.port, "bench-pub-b") as pub:
        sent_at = pub.send(messages, pace=pace)
        # Stay connected until everything is stored: closing a socket with
        # unread PUBACKs resets it, and the broker drops what it had not read.
        poller.join(600)
    done.set()
    count = polls[-1][1] if polls else 0
    end = cpu_s(stat)
    gw.stop()
    if count < n:
        raise SystemExit(f"floorwatch stored only {count} of {n}")
    rate = n / (polls[-1][0] - sent_at[0])
    latencies = []
    j = 0
    for i in range(0, n, 100):
        while polls[j][1] <= i:
            j += 1
        latencies.append(polls[j][0] - sent_at[i])
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    used = None if start is None or end is None else end - start
    return rate, p50, p99, used


def mixed_messages(n: int) -> tuple[list[tuple[str, bytes]], Counter[str]]:
    """``n`` good payloads of the device corpus, cycled, on their sensors' topics."""
    replayed, _ = replay_plan()
    good = [r for r in replayed if r.case.error is None]
    picked = [good[i % len(good)] for i in range(n)]
    return [(r.topic, r.case.message.payload) for r in picked], Counter(
        r.case.family for r in picked
    )


def floorwatch_mixed(
    folder: Path,
    broker: MosquittoServer,
    influx: InfluxDB1Server,
    messages: list[tuple[str, bytes]],
) -> tuple[float, float | None]:
    """Sustained msg/s of ``floorwatch run`` on the mixed corpus, to the sentinel stored,
    and the gateway's CPU seconds meanwhile."""
    db = f"bench_{uuid.uuid4().hex[:6]}"
    config = corpus_site(
        folder,
        broker,
        influx,
        mqtt={"client_id": "bench-gw-mixed"},
        influxdb={"database": db, "batch_size": 5000, "flush_interval_s": 0.2},
        gateway={"queue_size": 50000},
        validation={"duplicate_window_s": 0},
    )
    gw = GatewayProcess(config, folder / "gateway.log", env={TOKEN_ENV: TOKEN})
    gw.start()
    gw.wait_log("mqtt.subscribed", timeout_s=60)
    stat = Path(f"/proc/{gw.proc.pid}/stat") if gw.proc is not None else Path("/nonexistent")
    start = cpu_s(stat)
    q = "SELECT count(temperature) FROM climate WHERE sensor = 'e2e-sentinel'"
    stored_at = 0.0
    with (
        RawPublisher(broker.host, broker.port, "bench-pub-c") as pub,
        httpx.Client(base_url=influx.url, timeout=10) as http,
    ):
        sent_at = pub.send([*messages, ("e2e/sentinel", b'{"t": 21.25}')])
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            r = http.get("/query", params={"db": db, "q": q})
            if r.json().get("results", [{}])[0].get("series"):
                stored_at = time.monotonic()
                break
            time.sleep(POLL_S)
    end = cpu_s(stat)
    gw.stop()
    if not stored_at:
        raise SystemExit("floorwatch did not store the mixed corpus's sentinel in 600 s")
    [stopped] = [
        json.loads(line)
        for line in (folder / "gateway.log").read_text().splitlines()
        if '"gateway.stopped"' in line
    ]
    if stopped["messages"] != len(messages) + 1 or stopped["decode_errors"]:
        raise SystemExit(f"mixed corpus: the gateway saw {stopped}")
    used = None if start is None or end is None else end - start
    return (len(messages) + 1) / (stored_at - sent_at[0]), used


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    messages = make_messages(args.messages)
    size = statistics.mean(len(p) for _, p in messages)
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        folder = Path(tmp)
        broker = MosquittoServer(folder / "mosquitto")
        influx = InfluxDB1Server(folder / "influx")
        broker.start()
        influx.start()
        try:
            a, a_cpu = ceiling(broker, messages)
            b, _, _, b_cpu = floorwatch_run(folder / "burst", broker, influx, messages)
            paced = make_messages(min(args.messages, 60_000), hours_back=3)
            _, p50, p99, _ = floorwatch_run(folder / "paced", broker, influx, paced, pace=0.8 * b)
            mixed, families = mixed_messages(args.messages)
            c, c_cpu = ceiling(broker, mixed, topic_filter="e2e/#")
            d, d_cpu = floorwatch_mixed(folder / "mixed", broker, influx, mixed)
        finally:
            influx.stop()
            broker.stop()
    ratio = b / a
    print(f"ingest: {args.messages} messages of {size:.0f} bytes, QoS 1")
    n = args.messages
    print(f"  (a) ceiling, bare paho subscriber:        {a:10.0f} msg/s  {_per_1000(a_cpu, n)}")
    print(f"  (b) floorwatch decoded + stored (v1):     {b:10.0f} msg/s  {_per_1000(b_cpu, n)}")
    print(
        f"  latency publish -> stored at 80 % of (b): p50 {p50 * 1000:.0f} ms,"
        f" p99 {p99 * 1000:.0f} ms (target p99 <= 2000 ms)"
    )
    print(f"  ratio b/a = {ratio:.2f} (target >= 0.5)")
    mixed_size = statistics.mean(len(p) for _, p in mixed)
    mix = ", ".join(f"{family} {n}" for family, n in sorted(families.items()))
    print(
        f"mixed device corpus: {len(mixed)} messages of {mixed_size:.0f} bytes on average ({mix})"
    )
    print(f"  (c) ceiling, bare paho subscriber:        {c:10.0f} msg/s  {_per_1000(c_cpu, n)}")
    print(f"  (d) floorwatch decoded + stored (v1):     {d:10.0f} msg/s  {_per_1000(d_cpu, n)}")
    print(f"  ratio d/c = {d / c:.2f} (target >= 0.5)")
    return 0 if ratio >= 0.5 and p99 <= 2.0 and d / c >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
