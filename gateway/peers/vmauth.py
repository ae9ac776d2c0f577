"""A local ``vmauth`` (Debian's ``victoria-metrics`` package) that enforces bearer tokens.

Shell module. ``vmauth`` is VictoriaMetrics' authenticating proxy: a request
whose ``Authorization`` header carries one of the configured tokens is passed to
the backend; any other is refused. It takes InfluxDB's ``Token <token>`` scheme
as ``Bearer <token>``, so floorwatch's v2 writer (influxdb-client) talks to it as
to an InfluxDB 2.x that checks its API token. What this version (1.79) answers:
no ``Authorization`` header -> 401 "missing `Authorization` request header"; a
token it does not know -> 400 "cannot find the provided auth token ...".
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from gateway.peers.process import LocalServer, ManagedProcess, PeerError, free_port

VMAUTH = "/usr/bin/vmauth"
HOST = "127.0.0.1"


class VMAuthServer(LocalServer):
    """``vmauth`` in ``folder`` in front of ``backend_url``, accepting only ``tokens``."""

    def __init__(
        self,
        folder: Path,
        backend_url: str,
        tokens: Sequence[str],
        *,
        binary: str = VMAUTH,
        start_timeout_s: float = 30.0,
    ) -> None:
        if not tokens:
            raise ValueError("vmauth needs at least one token")
        self.folder = folder
        self.backend_url = backend_url
        self.tokens = tuple(tokens)
        self.binary = binary
        self.start_timeout_s = start_timeout_s
        self._port: int | None = None
        self._process: ManagedProcess | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise PeerError("vmauth has not been started yet: no port chosen")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def config_path(self) -> Path:
        return self.folder / "auth.yml"

    @property
    def log_path(self) -> Path:
        return self.folder / "vmauth.log"

    def start(self) -> None:
        """Start (again, on the same port) and wait until /health answers 200."""
        if self.running:
            return
        if shutil.which(self.binary) is None:
            raise PeerError(
                f"vmauth not found at {self.binary} (Debian package 'victoria-metrics')"
            )
        first = self._port is None
        for attempt in range(3 if first else 1):
            if first:
                self._port = free_port(HOST)
            try:
                self._start_once()
                return
            except PeerError:
                if attempt == (2 if first else 0):
                    raise

    def _start_once(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # YAML is a superset of JSON: each token quoted exactly, whatever its characters.
        users = [{"bearer_token": t, "url_prefix": self.backend_url} for t in self.tokens]
        self.config_path.write_text(json.dumps({"users": users}), encoding="utf-8")
        self.config_path.chmod(0o600)
        argv = [
            self.binary,
            f"-auth.config={self.config_path}",
            f"-httpListenAddr={HOST}:{self.port}",
            "-loggerLevel=WARN",
        ]
        self._process = ManagedProcess("vmauth", argv, self.log_path)
        proc = self._process.start()
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise PeerError(
                    f"vmauth exited with {proc.returncode} while starting on port {self.port};"
                    f" log tail:\n{self._process.log_tail()}"
                )
            if self.healthy():
                return
            time.sleep(0.05)
        self._process.kill()
        raise PeerError(
            f"vmauth did not answer /health on {self.url} within {self.start_timeout_s:.0f} s;"
            f" log tail:\n{self._process.log_tail()}"
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False
