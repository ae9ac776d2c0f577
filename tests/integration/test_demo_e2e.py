"""The README's first command: `script/demo` brings up the whole simulated center.

Run as a new user would (the script, its bootstrap, its own servers), with the
state in a fresh temporary folder: the control-room page is served, zones are
live through the API and fed by the virtual ONVIF cameras as well as the
sensors, alerts are raised, and Ctrl-C stops everything it started.
"""

from __future__ import annotations

import json
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


class DemoRun:
    def __init__(self, state_dir: Path, api_port: int) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [
                str(ROOT / "script" / "demo"),
                "--state-dir",
                str(state_dir),
                "--api-port",
                str(api_port),
                "--speed",
                "120",
                "--history-days",
                "7",
                "--minutes",
                "6",
                # The day played, pinned: the test never depends on today's date
                # (the seed pins the visitors too, tests/unit/test_demo_day.py).
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

    def token(self) -> str | None:
        m = re.search(r"^  token +(\S+)", self.output(), re.M)
        return m.group(1) if m else None

    def interrupt(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            raise


def test_script_demo_serves_a_live_center(tmp_path: Path) -> None:
    port = free_port()
    demo = DemoRun(tmp_path / "demo-state", port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: demo.token() is not None, 240, "the demo's banner with its token")
        token = demo.token()
        assert token is not None
        wait_until(lambda: _ok(f"{base}/"), 120, "the control-room page")
        page = httpx.get(f"{base}/", timeout=5, follow_redirects=True)
        assert "text/html" in page.headers["content-type"]
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/api/v1/zones", timeout=5).status_code == 401

        def zones() -> list[dict[str, Any]]:
            r = httpx.get(f"{base}/api/v1/zones", headers=auth, timeout=5)
            r.raise_for_status()
            body: list[dict[str, Any]] = r.json()
            return body

        def camera_counts_used() -> bool:
            return any(
                s["kind"] == "camera" and s["fresh"] and s["used"]
                for z in zones()
                for s in z["sources"]
            )

        wait_until(lambda: sum(z["occupancy"] for z in zones()) > 20, 120, "people on the floor")
        wait_until(camera_counts_used, 60, "a zone fed by a virtual camera")
        cams = httpx.get(f"{base}/api/v1/cameras", headers=auth, timeout=5).json()
        assert {c["id"] for c in cams} == {"cam-f2-hall", "cam-f1-entrance"}
        assert all(c["health"] and c["health"]["online"] for c in cams), cams

        def alerts() -> list[dict[str, Any]]:
            r = httpx.get(f"{base}/api/v1/alerts", headers=auth, timeout=5)
            r.raise_for_status()
            body: list[dict[str, Any]] = r.json()
            return body

        wait_until(
            lambda: any(z["level"] in ("crowded", "critical") for z in zones()),
            150,
            "the morning rush crowding a zone",
        )
        wait_until(lambda: len(alerts()) > 0, 60, "an alert raised by the busy morning")
        assert all(a["state"] in ("active", "acknowledged") for a in alerts())
        assert "Staffing plan for the next open day" in demo.output()
        # the alert's notification reached the demo's local receiver (one JSON file a message)
        inbox = tmp_path / "demo-state" / "notifications"
        wait_until(lambda: any(inbox.glob("*.json")), 60, "a notification at the receiver")
        sent = json.loads(sorted(inbox.glob("*.json"))[0].read_text(encoding="utf-8"))
        assert sent["alert_ids"] and sent["title"] and sent["idempotency_key"].startswith("fw-")
    finally:
        code = demo.interrupt()
        print(demo.output()[-4000:])
    assert code == 0
    assert "demo: stopped" in demo.output()
    # the day's report written when the demo stopped
    pdfs = list((tmp_path / "demo-state" / "reports").glob("report-*-vi.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF"), demo.output()[-2000:]
    assert not _ok(f"{base}/health"), "the API still answers after Ctrl-C"


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, follow_redirects=True).status_code == 200
    except httpx.HTTPError:
        return False
