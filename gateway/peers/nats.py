"""A local nats-server with JetStream on a loopback port, its config and store in one folder.

Shell module. Used by the fleet tests (and later the fleet demo). The server is
Debian's ``nats-server`` (2.9.x); a NATS the machine may already run (e.g. on
4222) is never used: every instance gets a free port of its own.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.peers.process import LocalServer, ManagedProcess, PeerError, free_port, wait_for_port

START_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class NatsUser:
    """A user of the server with what it may publish and subscribe to (empty: nothing)."""

    name: str
    password: str
    publish: Sequence[str] = field(default_factory=tuple)
    subscribe: Sequence[str] = field(default_factory=tuple)


class NatsServer(LocalServer):
    """nats-server on ``127.0.0.1:<port>`` with JetStream stored under ``folder/jetstream``.

    Streams and their messages survive ``restart()`` and ``kill()`` (JetStream
    writes to its file store before it acknowledges). ``token`` makes clients
    authenticate with that token, ``users`` with a name and password each, under
    that user's publish/subscribe permissions; without either the server is open
    (loopback only). Strings go into the config as JSON, which its format reads.
    """

    _process: ManagedProcess

    host = "127.0.0.1"

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        token: str | None = None,
        users: Sequence[NatsUser] = (),
    ) -> None:
        if token is not None and users:
            raise ValueError("give a token or users, not both")
        self._folder = folder
        self._port = port if port is not None else free_port(self.host)
        self._token = token
        self._users = tuple(users)
        self._process = ManagedProcess(
            "nats-server", ["nats-server", "-c", str(self.conf_path)], folder / "nats-server.log"
        )

    @property
    def port(self) -> int:
        return self._port

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self._port}"

    @property
    def conf_path(self) -> Path:
        return self._folder / "nats-server.conf"

    @property
    def store_dir(self) -> Path:
        return self._folder / "jetstream"

    @property
    def running(self) -> bool:
        return self._process.running

    def config_text(self) -> str:
        """The nats-server.conf this server runs with (its format takes JSON strings)."""
        lines = [
            f"server_name: {json.dumps('floorwatch-' + str(self._port))}",
            f"listen: {json.dumps(f'{self.host}:{self._port}')}",
            "jetstream {",
            f"  store_dir: {json.dumps(str(self.store_dir))}",
            "  max_memory_store: 64MB",
            "  max_file_store: 1GB",
            "}",
        ]
        if self._token is not None:
            lines += ["authorization {", f"  token: {json.dumps(self._token)}", "}"]
        if self._users:
            lines += ["authorization {", "  users: ["]
            for u in self._users:
                perms = {"publish": list(u.publish), "subscribe": list(u.subscribe)}
                entry = {"user": u.name, "password": u.password, "permissions": perms}
                lines.append(f"    {json.dumps(entry)}")
            lines += ["  ]", "}"]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Write the config, start nats-server and wait until it accepts connections."""
        if self.running:
            return
        self._process.argv[0] = _nats_binary()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config_text())
        proc = self._process.start()
        try:
            wait_for_port(self.host, self._port, START_TIMEOUT_S, proc)
        except PeerError as exc:
            self._process.kill()
            raise PeerError(
                f"nats-server on {self.host}:{self._port}: {exc}\n"
                f"--- {self._process.log_path} ---\n{self.log_tail()}"
            ) from exc


def _nats_binary() -> str:
    """Debian installs nats-server in /usr/sbin, which a normal user's PATH lacks."""
    found = shutil.which("nats-server") or shutil.which(
        "nats-server", path="/usr/sbin:/usr/local/sbin"
    )
    if found is None:
        raise PeerError(
            "nats-server is not installed (Debian package nats-server: run script/bootstrap)"
        )
    return found
