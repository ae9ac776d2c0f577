"""`script/demo --fleet 4`: a province on this machine, as the README shows it.

Run as a user would (the script, its bootstrap, its own servers: a 3-node
JetStream cluster, 4 site leaves, InfluxDB, two `fleet run` workers, the page)
with the day pinned (seed 7, Friday 2026-12-04 from 07:00, 300x): the page's
API lists the 4 centers of the registry, live; the city's center turns
crowded on the morning rush and rises to the top; zone states and hourly
aggregates of every center reach the central store; Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.peers.process import free_port
from tests.integration.gateway_proc import ROOT, wait_until

pytestmark = pytest.mark.integration

CENTERS = 4


class FleetDemoRun:
    def __init__(self, state_dir: Path, api_port: int) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [
                str(ROOT / "script" / "demo"),
                "--fleet",
                str(CENTERS),
                "--state-dir",
                str(state_dir),
                "--api-port",
                str(api_port),
                "--speed",
                "300",
                "--seed",
                "7",
                "--minutes",
                "10",
                # the day played, pinned: never today's date
                "--start",
                "2026-12-04T07:00:00",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def banner(self, label: str) -> str | None:
        m = re.search(rf"^  {label} +(\S+)", self.output(), re.M)
        return m.group(1) if m else None

    def interrupt(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            raise


def test_script_demo_fleet_serves_a_live_province(tmp_path: Path) -> None:
    port = free_port()
    demo = FleetDemoRun(tmp_path / "demo-state", port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: demo.banner("token") is not None, 300, "the banner with its token")
        token, influx = demo.banner("token"), demo.banner("InfluxDB 1.x")
        assert token is not None and influx is not None
        # the cluster's configs hold bcrypt hashes (cost 11, as fleet config writes), never
        # the workers' password the central file reads
        fleet = tmp_path / "demo-state" / "fleet"
        password = (fleet / "central-password").read_text().strip()
        for node in ("central-1", "central-2", "central-3"):
            conf = (fleet / "central" / node / "nats-server.conf").read_text()
            assert "$2b$11$" in conf and password not in conf, node
            # each center's link may publish its own source's deliveries only
            assert conf.count('"publish": ["$JSC.R.>", "$JS.S.') == CENTERS, node
            assert '"$JS.S.>"' not in conf, node
            log = (fleet / "central" / node / "nats-server.log").read_text()
            assert "Plaintext passwords detected" not in log, node
        wait_until(lambda: _ok(f"{base}/health"), 120, "the province page's service")
        page = httpx.get(f"{base}/ui/province/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert httpx.get(f"{base}/api/v1/fleet/centers", timeout=5).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}

        def centers() -> list[dict[str, Any]]:
            r = httpx.get(f"{base}/api/v1/fleet/centers", headers=auth, timeout=5)
            r.raise_for_status()
            rows: list[dict[str, Any]] = r.json()["centers"]
            return rows

        wait_until(
            lambda: len(centers()) == CENTERS and all(c["link"] == "live" for c in centers()),
            120,
            "every center live on the page",
        )
        rows = centers()
        assert all(c["registered"] and c["name"].startswith("Trung tâm") for c in rows)
        assert {c["site"] for c in rows} >= {"thanh-pho-hue", "phuong-thuan-hoa"}
        assert all(c["area"] for c in rows)

        def crowded_on_top() -> bool:
            top = centers()[0]
            return top["level"] in ("crowded", "critical") and top["site"] == "thanh-pho-hue"

        wait_until(crowded_on_top, 240, "the city's center crowded, at the top")

        def stored(measurement: str, field: str, where: str = "") -> dict[str, int]:
            r = httpx.get(
                f"{influx}/query",
                params={
                    "db": "province",
                    "q": f'SELECT count("{field}") FROM "{measurement}"{where} GROUP BY "site"',  # noqa: S608
                },
                timeout=5,
            )
            series = r.json()["results"][0].get("series", [])
            return {s["tags"]["site"]: int(s["values"][0][1]) for s in series}

        wait_until(
            lambda: len(stored("zone_occupancy", "count")) == CENTERS, 120, "zone states stored"
        )
        wait_until(
            lambda: len(stored("zone_hourly", "people_mean")) == CENTERS,
            240,
            "every center's hourly aggregates stored",
        )
        # the city's crowd alert: raised with its crowded state, but maybe a batch after it
        # (the page shows the state from the bucket as soon as its own batch is folded)
        # (the centers' wait alerts are stored too: the crowd alert is asked for by its rule)
        crowd = " WHERE \"rule\" = 'crowd_level'"
        wait_until(
            lambda: "thanh-pho-hue" in stored("alerts", "value", crowd),
            60,
            "the city's crowd alert stored",
        )
        # the centers' morning queues raise the gateway's wait warning, sent on their uplinks
        waits = " WHERE \"rule\" = 'waiting_time'"
        wait_until(lambda: bool(stored("alerts", "value", waits)), 60, "a wait alert stored")
    finally:
        code = demo.interrupt()
        print(demo.output()[-4000:])
    assert code == 0
    assert "fleet demo: stopped" in demo.output()
    assert not _ok(f"{base}/health"), "the page still answers after Ctrl-C"


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
