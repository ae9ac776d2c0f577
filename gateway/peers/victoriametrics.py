"""A local VictoriaMetrics server (Debian's ``victoria-metrics``) on a free loopback port.

Shell module. VictoriaMetrics implements the InfluxDB v2 write endpoint
(``/api/v2/write``), so it is the real peer for floorwatch's ``v2`` protocol in
tests. It stores a line ``m,tag=v f=1`` as the metric ``m_f`` with the tags as
labels, the bucket (or v1 database) as the label ``db``, at millisecond
precision. ``-dedup.minScrapeInterval=1ms`` makes a rewrite of the same series
and timestamp count once, as InfluxDB overwrites it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from gateway.peers.process import LocalServer, ManagedProcess, PeerError, free_port

VICTORIA_METRICS = "/usr/bin/victoria-metrics"
HOST = "127.0.0.1"


class VictoriaMetricsServer(LocalServer):
    """``victoria-metrics`` with its data and log in ``folder``; loopback only."""

    def __init__(
        self, folder: Path, *, binary: str = VICTORIA_METRICS, start_timeout_s: float = 30.0
    ) -> None:
        self.folder = folder
        self.binary = binary
        self.start_timeout_s = start_timeout_s
        self._port: int | None = None
        self._process: ManagedProcess | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise PeerError("victoria-metrics has not been started yet: no port chosen")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def log_path(self) -> Path:
        return self.folder / "victoria-metrics.log"

    def start(self) -> None:
        """Start (again, on the same port and data) and wait until /health answers 200."""
        if self.running:
            return
        if shutil.which(self.binary) is None:
            raise PeerError(
                f"victoria-metrics not found at {self.binary} (Debian package 'victoria-metrics')"
            )
        first = self._port is None
        attempts = 3 if first else 1
        for attempt in range(attempts):
            if first:
                self._port = free_port(HOST)
            try:
                self._start_once()
                return
            except PeerError:
                if attempt == attempts - 1:
                    raise

    def _start_once(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [
            self.binary,
            f"-storageDataPath={self.folder.resolve() / 'data'}",
            f"-httpListenAddr={HOST}:{self.port}",
            "-dedup.minScrapeInterval=1ms",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-loggerLevel=WARN",
        ]
        self._process = ManagedProcess("victoria-metrics", argv, self.log_path)
        proc = self._process.start()
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise PeerError(
                    f"victoria-metrics exited with {proc.returncode} while starting on port"
                    f" {self.port}; log tail:\n{self._process.log_tail()}"
                )
            if self.healthy():
                return
            time.sleep(0.05)
        self._process.kill()
        raise PeerError(
            f"victoria-metrics did not answer /health on {self.url} within"
            f" {self.start_timeout_s:.0f} s; log tail:\n{self._process.log_tail()}"
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    # ------------------------------------------------------------------ test helpers

    def force_flush(self) -> None:
        """Make everything ingested so far visible to queries and exports."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=30.0).raise_for_status()

    def export(self, metric: str, labels: Mapping[str, str]) -> list[dict[str, object]]:
        """Raw series matching ``metric{labels}`` from /api/v1/export (one dict per series)."""
        self.force_flush()
        selector = ",".join(
            [f'__name__="{_quote(metric)}"', *(f'{k}="{_quote(v)}"' for k, v in labels.items())]
        )
        response = httpx.get(
            f"{self.url}/api/v1/export",
            params={"match[]": "{" + selector + "}", "start": "0"},
            timeout=30.0,
        )
        response.raise_for_status()
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def export_series(self, metric: str, labels: Mapping[str, str]) -> list[tuple[int, float]]:
        """(timestamp ms, value) of every sample of every series matching ``metric{labels}``."""
        samples: list[tuple[int, float]] = []
        for series in self.export(metric, labels):
            timestamps = series["timestamps"]
            values = series["values"]
            if not isinstance(timestamps, list) or not isinstance(values, list):
                raise PeerError(f"unexpected export format: {series!r}")
            samples.extend((int(t), float(v)) for t, v in zip(timestamps, values, strict=True))
        return samples


def _quote(value: str) -> str:
    """Escape a value inside a double-quoted PromQL label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
