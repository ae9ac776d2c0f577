"""A local mosquitto broker on a loopback port, its config and data in one folder. Shell module.

Used by ``floorwatch demo``, the benchmarks and the test fixtures. The broker
is Debian's ``mosquitto`` (2.0.x); the system service that the package may
have started is never used.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gateway.peers.process import LocalServer, ManagedProcess, PeerError, free_port, wait_for_port

#: QoS 1 tuning. With mosquitto's defaults (20 messages in flight per client,
#: 1,000 queued) QoS 1 delivery caps near 15,000 msg/s and a subscriber that
#: falls behind silently loses everything past the queue. In mosquitto 2.0.11
#: ``max_inflight_messages 0`` means "no maximum" (mosquitto.conf(5)); the
#: queue is bounded by count only, large enough for a long gateway outage.
MOSQUITTO_TUNING = """\
max_inflight_messages 0
max_queued_messages 1000000
max_queued_bytes 0
"""

START_TIMEOUT_S = 15.0
# First start on a port chosen by free_port(): another process may take it
# between the choice and mosquitto's bind; then pick again, this many times.
PORT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ListenerTls:
    """The listener's certificate and key (PEM files): the listener then speaks only TLS."""

    certfile: Path
    keyfile: Path


class MosquittoServer(LocalServer):
    """mosquitto listening on ``127.0.0.1:<port>`` with persistence under ``folder``.

    Sessions and queued QoS 1 messages survive ``restart()`` (same port, same
    database: mosquitto saves it on SIGTERM and every second). ``kill()`` is a
    crash: what arrived after the last autosave is lost, as in production.
    """

    _process: ManagedProcess

    host = "127.0.0.1"

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: ListenerTls | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self._folder = folder
        self._port_given = port is not None
        self._port = port if port is not None else free_port(self.host)
        self._username = username
        self._password = password
        self._tls = tls
        self._started_once = False
        self._process = ManagedProcess(
            "mosquitto", ["mosquitto", "-c", str(self.conf_path)], folder / "mosquitto.log"
        )

    @property
    def port(self) -> int:
        return self._port

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def conf_path(self) -> Path:
        return self._folder / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self._folder / "mosquitto.log"

    @property
    def password_path(self) -> Path:
        return self._folder / "passwords"

    @property
    def url(self) -> str:
        return f"{'mqtts' if self._tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process.running

    def config_text(self) -> str:
        """The mosquitto.conf this server runs with."""
        data = self._folder / "data"
        lines = [
            f"listener {self._port} {self.host}",
            *(
                [f"certfile {self._tls.certfile}", f"keyfile {self._tls.keyfile}"]
                if self._tls
                else []
            ),
            # mosquitto started as root drops to the "mosquitto" user, which
            # cannot write our folder; stay the user we are (no effect if not root).
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "persistence true",
            f"persistence_location {data}/",
            "autosave_interval 1",
            "autosave_on_changes false",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self._username is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {self.password_path}"]
        return "\n".join(lines) + "\n" + MOSQUITTO_TUNING

    def start(self) -> None:
        """Write the config, start mosquitto and wait until it accepts connections."""
        if self.running:
            return
        self._process.argv[0] = _mosquitto_binary()
        # a port we chose may be taken before mosquitto binds it: choose again
        may_move = not (self._port_given or self._started_once)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            retry = may_move and attempt < PORT_ATTEMPTS
            if not _port_is_free(self.host, self._port):
                if retry:
                    self._port = free_port(self.host)
                    continue
                raise PeerError(f"mosquitto: {self.host}:{self._port} is in use by another process")
            self._prepare_folder()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                self._start_once()
            except PeerError:
                if retry and "Address already in use" in self._log_since(log_offset):
                    self._port = free_port(self.host)
                    continue
                raise
            self._started_once = True
            return

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _prepare_folder(self) -> None:
        (self._folder / "data").mkdir(parents=True, exist_ok=True)
        if self._username is not None and self._password is not None:
            self._write_password_file(self._username, self._password)
        self.conf_path.write_text(self.config_text())

    def _write_password_file(self, username: str, password: str) -> None:
        """A hashed password file (``mosquitto_passwd -c -b``: a local test or demo password)."""
        if ":" in username or "\n" in username + password:
            raise ValueError("mosquitto's password file cannot hold ':' in a username or a newline")
        path = self.password_path
        try:
            subprocess.run(  # noqa: S603 - fixed argv, our own file
                ["mosquitto_passwd", "-c", "-b", str(path), username, password],  # noqa: S607
                check=True,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise PeerError(f"cannot write the mosquitto password file {path}: {exc}") from exc
        path.chmod(0o600)

    def _start_once(self) -> None:
        proc = self._process.start()
        try:
            wait_for_port(self.host, self._port, START_TIMEOUT_S, proc)
        except PeerError as exc:
            self._process.kill()
            raise PeerError(
                f"mosquitto on {self.host}:{self._port}: {exc}\n"
                f"--- {self.log_path} ---\n{self.log_tail()}"
            ) from exc


def _mosquitto_binary() -> str:
    """Debian installs mosquitto in /usr/sbin, which a normal user's PATH lacks."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise PeerError(
            "mosquitto is not installed (Debian package mosquitto: run script/bootstrap)"
        )
    return found


def _port_is_free(host: str, port: int) -> bool:
    """Whether a listener could bind ``host:port`` now (SO_REUSEADDR, as mosquitto binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
