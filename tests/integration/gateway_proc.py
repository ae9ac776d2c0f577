"""Run the real ``floorwatch run`` as a subprocess against test peers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-site.yaml"
FLOORWATCH = Path(sys.executable).parent / "floorwatch"


def site_file(folder: Path, **overrides: Any) -> Path:
    """The demo site with mqtt/influxdb/gateway sections replaced by ``overrides``.

    The API listens on a free port, and the demo's virtual cameras (which only
    the demo starts) are left out unless ``cameras=[...]`` is given.
    """
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["cameras"] = []
    overrides = {"api": {"port": 0}, **overrides}
    for section, values in overrides.items():
        if isinstance(values, list):
            data[section] = values
        else:
            data[section] = {**data.get(section, {}), **values}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class GatewayProcess:
    def __init__(self, config: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(FLOORWATCH), "run", "-c", str(self.config), "--log-json", "--log-level", "info"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=ROOT,
        )
        log.close()

    def wait_log(self, event: str, timeout_s: float = 20.0, count: int = 1) -> None:
        wait_until(lambda: self.log_events().count(event) >= count, timeout_s, f"log event {event}")

    def log_events(self) -> list[str]:
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line).get("event", ""))
            except json.JSONDecodeError:
                continue
        return events

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``check`` until it holds; bounded, never a bare sleep."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def publish_lines(host: str, port: int, topic: str, payloads: list[str], qos: int = 1) -> None:
    """Publish many messages fast with mosquitto_pub -l (one message per stdin line)."""
    subprocess.run(
        ["mosquitto_pub", "-h", host, "-p", str(port), "-q", str(qos), "-t", topic, "-l"],
        input="\n".join(payloads).encode() + b"\n",
        check=True,
        timeout=120,
    )
