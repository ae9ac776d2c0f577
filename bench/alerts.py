"""Alert latency benchmark: a sensor message's publish -> the alert transition on MQTT.

    .venv/bin/python -m bench.alerts [--rate 5000] [--samples 100]

In one run, on one tuned mosquitto, with `floorwatch run` storing into InfluxDB 1.x
and ``--rate`` msg/s of background climate traffic (raw-socket QoS 1 publisher):

  (a) ceiling: MQTT round trip, a QoS 1 publish from one paho client to another
      through the same broker under the same background load;
  (b) floorwatch: a presence count of 150 people in `f2-counters` (capacity 100,
      capacity rule with no dwell) published -> `alerts/capacity:f2-counters:<n>`
      "raised" received; then 10 people -> "resolved" received. Both count.

Prints p50/p99 of both, the ratio of the p99s, and whether p99 (b) <= 250 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bench.rawpub import RawPublisher
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from tests.integration.gateway_proc import DEMO, GatewayProcess

BACKGROUND_TOPIC = "airq/cl-f2-counters/data"  # the demo site's generic_json climate sensor
PRESENCE_TOPIC = "presence/f2-counters"
ALERTS = "floorwatch/demo-hcc/alerts"
PING = "bench/ping"
TARGET_P99_S = 0.250


def site(folder: Path, broker: MosquittoServer, influx: InfluxDB1Server) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["mqtt"] = {"host": broker.host, "port": broker.port, "client_id": "bench-alerts-gw"}
    data["influxdb"] = {
        "url": influx.url,
        "protocol": "v1",
        "database": f"bench_{uuid.uuid4().hex[:6]}",
        "flush_interval_s": 0.2,
    }
    data["gateway"] = {"state_dir": str(folder / "state"), "queue_size": 50000}
    data["alerts"] = {"capacity_dwell_s": 0, "clear_s": 0}
    for sensor in data["sensors"]:
        sensor["interval_s"] = 3600  # no sensor_stale alerts during the run
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Receiver:
    """Subscribes to the alerts and the ping topic; records when each arrives."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.arrivals: dict[str, float] = {}  # "<alert id>/<transition>" or "ping/<n>" -> time
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alerts-rx")
        self.client.on_message = self._on_message
        ready = threading.Event()
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe([(f"{ALERTS}/+", 1), (PING, 1)])
        self.client.loop_start()
        if not ready.wait(10):
            raise SystemExit("the receiver could not subscribe")

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        if not msg.payload or msg.retain:
            return
        if msg.topic == PING:
            key = f"ping/{msg.payload.decode()}"
        else:
            doc = json.loads(msg.payload)
            key = f"{doc['id']}/{doc.get('transition')}"
        with self._cond:
            self.arrivals.setdefault(key, now)
            self._cond.notify_all()

    def wait(self, key: str, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while key not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"timed out waiting for {key}")
                self._cond.wait(left)
            return self.arrivals[key]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Background:
    """``rate`` msg/s of climate payloads until stopped, from a thread."""

    def __init__(self, broker: MosquittoServer, rate: int) -> None:
        self._broker = broker
        self._rate = rate
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        """Batches of rate/10 messages on an absolute 100 ms schedule (spread within it)."""
        per_batch = max(1, self._rate // 10)
        with RawPublisher(self._broker.host, self._broker.port, "bench-alerts-bg") as pub:
            start = time.monotonic()
            k = 0
            while not self._stop.is_set():
                ms = int(datetime.now(UTC).timestamp() * 1000)
                batch = [
                    (
                        BACKGROUND_TOPIC,
                        json.dumps(
                            {"ts": ms + i // 10, "data": {"temp_f": 80.1, "rh": 65, "co2": 650}}
                        ).encode(),
                    )
                    for i in range(per_batch)
                ]
                pub.send(batch, chunk=50, pace=self._rate * 1.25)
                self.sent += len(batch)
                k += 1
                time.sleep(max(0.0, start + k * 0.1 - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def measure(broker: MosquittoServer, rx: Receiver, samples: int) -> tuple[list[float], list[float]]:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alerts-tx")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    rtt: list[float] = []
    alert: list[float] = []
    try:
        for n in range(1, samples + 1):
            t0 = time.perf_counter()
            pub.publish(PING, str(n).encode(), qos=1)
            rtt.append(rx.wait(f"ping/{n}", 10) - t0)
            for people, transition in ((150, "raised"), (10, "resolved")):
                t0 = time.perf_counter()
                pub.publish(PRESENCE_TOPIC, json.dumps({"count": people}).encode(), qos=1)
                alert.append(rx.wait(f"capacity:f2-counters:{n}/{transition}", 10) - t0)
            time.sleep(0.05)
    finally:
        pub.loop_stop()
        pub.disconnect()
    return rtt, alert


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=5000, help="background sensor msg/s")
    parser.add_argument("--samples", type=int, default=100, help="raise/resolve cycles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fw-bench-alerts-") as tmp:
        folder = Path(tmp)
        broker = MosquittoServer(folder / "mosquitto")
        influx = InfluxDB1Server(folder / "influx")
        broker.start()
        influx.start()
        gw = GatewayProcess(site(folder, broker, influx), folder / "gateway.log")
        background = Background(broker, args.rate)
        rx: Receiver | None = None
        try:
            gw.start()
            gw.wait_log("engine.started")
            gw.wait_log("mqtt.connected")
            rx = Receiver(broker)
            background.start()
            time.sleep(2)  # let the background load settle
            started, sent_before = time.monotonic(), background.sent
            rtt, alert = measure(broker, rx, args.samples)
            elapsed = time.monotonic() - started
            sent = background.sent - sent_before
        finally:
            background.stop()
            if rx is not None:
                rx.close()
            gw.stop()
            influx.stop()
            broker.stop()
    r50, r99 = percentiles(rtt)
    a50, a99 = percentiles(alert)
    print(f"alerts: {args.samples} raise/resolve cycles, background {sent / elapsed:.0f} msg/s")
    print(
        f"  (a) MQTT round trip (QoS 1):           p50 {r50 * 1000:6.1f} ms  p99 {r99 * 1000:6.1f} ms"
    )
    print(
        f"  (b) publish -> alert transition:       p50 {a50 * 1000:6.1f} ms  p99 {a99 * 1000:6.1f} ms"
    )
    print(f"  ratio p99 b/a = {a99 / r99:.1f}; p99 (b) target <= {TARGET_P99_S * 1000:.0f} ms")
    return 0 if a99 <= TARGET_P99_S else 1


if __name__ == "__main__":
    sys.exit(main())
