"""A local RTSP server (GStreamer's, ``cameras/simulator/rtsp_server.py``) on a loopback port.

Shell module. Used by the demo and the test fixtures. The server runs under
the SYSTEM python (``/usr/bin/python3``: Debian's python3-gi and
gir1.2-gst-rtsp-server-1.0), not the virtualenv. It re-encodes an MJPEG
stream (a virtual camera) as H.264, or serves a test pattern. Credentials go
to the child through its environment, never its argv.
"""

from __future__ import annotations

import os
from pathlib import Path

from gateway.peers.process import LocalServer, ManagedProcess, PeerError, free_port, wait_for_port

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).resolve().parents[2] / "cameras" / "simulator" / "rtsp_server.py"
HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0


class RtspServer(LocalServer):
    """``rtsp://127.0.0.1:<port><path>``; ``restart()`` keeps the port (clients reconnect)."""

    _process: ManagedProcess

    host = HOST

    def __init__(
        self,
        folder: Path,
        *,
        source_url: str | None = None,
        port: int | None = None,
        path: str = "/stream",
        fps: int = 10,
        username: str | None = None,
        password: str | None = None,
        source_username: str | None = None,
        source_password: str | None = None,
        python: str = SYSTEM_PYTHON,
    ) -> None:
        self.folder = folder
        self.source_url = source_url
        self.path = path
        self.fps = fps
        self._port = port if port is not None else free_port(HOST)
        self._python = python
        env = {
            "RTSP_USERNAME": username,
            "RTSP_PASSWORD": password,
            "SOURCE_USERNAME": source_username,
            "SOURCE_PASSWORD": source_password,
        }
        self._env = {k: v for k, v in env.items() if v is not None}
        self._process = ManagedProcess("rtsp-server", self.argv(), folder / "rtsp-server.log")

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The stream URL, without credentials."""
        return f"rtsp://{HOST}:{self._port}{self.path}"

    @property
    def log_path(self) -> Path:
        return self.folder / "rtsp-server.log"

    @property
    def running(self) -> bool:
        return self._process.running

    def argv(self) -> list[str]:
        source = ["--source", self.source_url] if self.source_url else ["--pattern"]
        return [
            self._python,
            str(SCRIPT),
            "--host",
            HOST,
            "--port",
            str(self._port),
            "--path",
            self.path,
            "--fps",
            str(self.fps),
            *source,
        ]

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        if self.running:
            return
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting (``wait_ready`` waits): a caller on an event
        loop launches from its own thread (a demo ties its servers to that thread, see
        ``tie_children_to_this_process``) and waits in a worker thread."""
        if not os.access(self._python, os.X_OK):
            raise PeerError(
                f"{self._python} is missing: the RTSP server needs Debian's python3 with"
                " python3-gi and gir1.2-gst-rtsp-server-1.0 (run script/bootstrap)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self._process.env = self._env
        self._process.start()

    def wait_ready(self) -> None:
        """Wait until the launched server accepts connections; PeerError (and the server
        killed) if it does not in time."""
        proc = self._process.proc
        if proc is None:
            raise PeerError("rtsp server: not launched")
        try:
            wait_for_port(HOST, self._port, START_TIMEOUT_S, proc)
        except PeerError as exc:
            self._process.kill()
            raise PeerError(
                f"rtsp server on {HOST}:{self._port}: {exc}\n"
                f"--- {self.log_path} ---\n{self._process.log_tail()}"
            ) from exc
