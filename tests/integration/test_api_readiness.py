"""Readiness that means it: the real gateway (``floorwatch run``) with InfluxDB and mosquitto
stopped and started under it.

The spool's warning is set at 100 bytes, so the first batch spooled while
InfluxDB is down crosses it: readiness must fail then, and come back once
InfluxDB takes writes again. ``/health`` (kept for old probes) and
``/health/live`` answer 200 throughout.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gateway.influx_writer import InfluxWriter
from gateway.observations import DeviceHealth, DeviceKind
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.readiness import GatewayReadiness
from gateway.settings import InfluxConfig
from gateway.spool import Spool
from tests.api_support import build_app
from tests.integration.gateway_proc import GatewayProcess, site_file, wait_until

pytestmark = pytest.mark.integration


class MonotonicClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _api_port(gw: GatewayProcess) -> int:
    for line in gw.log_path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("event") == "api.started":
            return int(event["port"])
    raise AssertionError("the API did not log api.started")


class Probe:
    def __init__(self, port: int) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        self.last: httpx.Response | None = None

    def ready(self) -> httpx.Response:
        self.last = self.client.get("/health/ready")
        return self.last

    def checks(self) -> dict[str, dict[str, Any]]:
        assert self.last is not None
        return {c["name"]: c for c in self.last.json()["checks"]}

    def until(self, what: str, check: Callable[[httpx.Response], bool], timeout_s: float) -> None:
        try:
            wait_until(lambda: check(self.ready()), timeout_s, what)
        except AssertionError as exc:
            last = self.last.text if self.last is not None else None
            raise AssertionError(f"{exc}; last answer: {last}") from None

    def alive(self) -> None:
        assert self.client.get("/health/live").json()["status"] == "alive"
        old = self.client.get("/health")
        assert old.status_code == 200 and old.json()["status"] == "ok"


def _failing(name: str) -> Callable[[httpx.Response], bool]:
    def check(r: httpx.Response) -> bool:
        return r.status_code == 503 and any(
            c["name"] == name and not c["ok"] for c in r.json()["checks"]
        )

    return check


def _ready(r: httpx.Response) -> bool:
    return r.status_code == 200 and r.json()["status"] == "ready"


def _stored(r: httpx.Response) -> bool:
    """Ready, and past the start: a point has reached InfluxDB."""
    last_point = next(c for c in r.json()["checks"] if c["name"] == "last_point")
    return _ready(r) and last_point["reason"].startswith("last point stored")


def test_readiness_follows_influxdb_and_the_broker_down_and_back(
    tmp_path: Path,
    mosquitto_fresh: Any,
    influxdb1_private: Callable[[], InfluxDB1Server],
) -> None:
    influx = influxdb1_private()
    config = site_file(
        tmp_path,
        mqtt={
            "host": mosquitto_fresh.host,
            "port": mosquitto_fresh.port,
            "client_id": "gw-ready",
            "reconnect_max_s": 1,
        },
        influxdb={
            "url": influx.url,
            "protocol": "v1",
            "database": "ready",
            "flush_interval_s": 0.2,
            "retry_min_s": 0.2,
            "retry_max_s": 1,
            "spool": {"max_bytes": 1_000_000, "warn_ratio": 0.0001},
        },
        gateway={"state_dir": str(tmp_path / "state"), "health_interval_s": 0.5},
    )
    gw = GatewayProcess(config, tmp_path / "gateway.log")
    gw.start()
    try:
        gw.wait_log("api.started", timeout_s=60)
        probe = Probe(_api_port(gw))
        probe.until("ready with every peer up and a point stored", _stored, 60)
        checks = probe.checks()
        assert checks["mqtt"]["reason"] == "connected to the broker"
        assert checks["storage"]["reason"].startswith("InfluxDB takes writes")
        assert checks["cameras"]["reason"] == "no camera configured"
        assert checks["last_point"]["reason"].startswith("last point stored")
        probe.alive()

        influx.stop()
        probe.until("not ready: storage", _failing("storage"), 60)
        storage = probe.checks()["storage"]
        assert "InfluxDB refuses writes and the spool is filling" in storage["reason"]
        assert probe.last is not None and influx.url not in probe.last.text
        assert str(influx.port) not in probe.last.text
        assert probe.checks()["mqtt"]["ok"]  # the reason names the one that failed
        probe.alive()

        influx.start()
        probe.until("ready again once InfluxDB takes writes", _ready, 90)
        assert probe.checks()["storage"]["reason"].startswith("InfluxDB takes writes")

        mosquitto_fresh.stop()
        probe.until("not ready: mqtt", _failing("mqtt"), 60)
        assert "not connected" in probe.checks()["mqtt"]["reason"]
        probe.alive()
        mosquitto_fresh.start()
        probe.until("ready again once the broker is back", _ready, 90)
    finally:
        gw.stop()


def test_the_endpoints_over_the_app(tmp_path: Path) -> None:
    """/health/ready takes the cameras from the live floor; without a gateway it is 503."""
    app, _, _ = build_app()
    with TestClient(app) as client:
        r = client.get("/health/ready")
        assert r.status_code == 503 and r.json()["checks"] == [
            {"name": "gateway", "ok": False, "reason": "no gateway behind this API"}
        ]
        assert client.get("/health/live").json()["status"] == "alive"
        assert client.get("/health").json()["status"] == "ok"

    writer = InfluxWriter(InfluxConfig(), Spool(tmp_path / "spool", max_bytes=10_000))
    clock = MonotonicClock()
    gateway = GatewayReadiness(
        mqtt_connected=lambda: True, writer=writer, spool_warn_ratio=0.5, clock=clock
    )
    app, floor, _ = build_app(readiness=gateway)  # the demo site plus camera cam-f2-waiting
    with TestClient(app) as client:
        r = client.get("/health/ready")
        assert r.status_code == 503
        cameras = next(c for c in r.json()["checks"] if c["name"] == "cameras")
        assert cameras == {
            "name": "cameras",
            "ok": False,
            "reason": "0 of 1 online; offline: cam-f2-waiting",
        }
        now = datetime.now(UTC)
        floor.set_device(DeviceHealth("cam-f2-waiting", DeviceKind.CAMERA, True, now))
        r = client.get("/health/ready")
        assert r.status_code == 200 and r.json()["status"] == "ready"
        clock.now += 301  # no point stored since the start
        r = client.get("/health/ready")
        assert r.status_code == 503 and r.json()["status"] == "not_ready"
