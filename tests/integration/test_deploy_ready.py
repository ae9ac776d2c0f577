"""deploy/systemd/floorwatch-ready against the real API served by uvicorn: ready, not
ready (each failed check with its reason), and no API at all."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.influx_writer import InfluxWriter
from gateway.observations import DeviceHealth, DeviceKind
from gateway.peers.process import free_port
from gateway.readiness import GatewayReadiness
from gateway.settings import InfluxConfig
from gateway.spool import Spool
from tests.api_support import LiveServer, api_config, build_app

pytestmark = pytest.mark.integration


class SetClock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "floorwatch-ready"


def _probe(url: str, journal: bool = False) -> subprocess.CompletedProcess[str]:
    env = {"JOURNAL_STREAM": "8:1234"} if journal else {}
    return subprocess.run(
        [sys.executable, str(SCRIPT), url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_without_a_gateway_behind_the_api_it_is_not_ready() -> None:
    app, floor, _ = build_app()
    config = api_config()
    with LiveServer(app, config, floor) as server:
        result = _probe(server.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "gateway: FAILED: no gateway behind this API" in result.stdout
    assert "not ready (503 not_ready)" in result.stdout


def test_ready_then_not_ready_with_the_reasons_and_journal_priorities(tmp_path: Path) -> None:
    writer = InfluxWriter(InfluxConfig(), Spool(tmp_path / "spool", max_bytes=10_000))
    clock = SetClock()
    readiness = GatewayReadiness(
        mqtt_connected=lambda: True, writer=writer, spool_warn_ratio=0.5, clock=clock
    )
    app, floor, _ = build_app(readiness=readiness)
    with LiveServer(app, api_config(), floor) as server:
        health = DeviceHealth("cam-f2-waiting", DeviceKind.CAMERA, True, datetime.now(UTC))
        server.call(floor.set_device, health)
        ready = _probe(server.url + "/")
        assert ready.returncode == 0, ready.stdout + ready.stderr
        assert "mqtt: ok: " in ready.stdout
        assert ready.stdout.endswith("floorwatch-ready: ready\n")
        clock.now += 301  # no point stored for longer than api.ready_max_point_age_s
        late = _probe(server.url, journal=True)
    assert late.returncode == 1, late.stdout
    lines = late.stdout.splitlines()
    assert any(x.startswith("<4>last_point: FAILED: ") for x in lines), lines
    assert any(x.startswith("<6>mqtt: ok: ") for x in lines), lines


def test_an_api_that_is_not_there_is_reported() -> None:
    result = _probe(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "cannot reach" in result.stdout
