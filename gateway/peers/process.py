"""Start, wait for and stop a local server process. Shell module (sockets, processes)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

# Set by a demo's composition root (tie_children_to_this_process): the servers it starts
# from its main thread get SIGTERM when it dies, however it dies.
_tied = False


def tie_children_to_this_process() -> None:
    """From now on, a process started from this process's main thread gets SIGTERM
    when this process dies, by SIGKILL or a crash too (Linux's parent-death signal, set
    by util-linux's ``setpriv`` before it execs the server).

    Each server runs in a session of its own, so that a terminal's Ctrl-C reaches only
    the demo, which stops them in order; without this, a demo killed outright left its
    servers running. Only the main thread: the kernel sends the signal when the
    *thread* that started the child ends, and a pool thread ends long before the demo.
    Without ``setpriv`` (not Debian), nothing changes.
    """
    global _tied
    _tied = True


def _tied_argv(argv: list[str]) -> list[str]:
    if not _tied or threading.current_thread() is not threading.main_thread():
        return argv
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *argv] if setpriv else argv


class PeerError(Exception):
    """A local peer could not be started; the message says which and why."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until ``host:port`` accepts TCP connections, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise PeerError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise PeerError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


class ManagedProcess:
    """A child process with its output in a log file, stopped on ``stop()``."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - argv is built by our launchers
                _tied_argv(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,
            )
        except OSError as exc:
            raise PeerError(f"cannot start {self.name} ({self.argv[0]}): {exc.strerror}") from exc
        finally:
            log.close()
        return self.proc

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class LocalServer(ABC):
    """The lifecycle every local server shares over its ManagedProcess.

    A subclass sets ``_process`` (None until it has one) and implements
    ``start()``; ``stop()`` is a SIGTERM and wait, ``kill()`` a SIGKILL (a crash,
    for failure tests), both no-ops when nothing runs. A context manager.
    """

    _process: ManagedProcess | None

    @abstractmethod
    def start(self) -> None:
        """Start the server and wait until it answers; raise PeerError if it cannot."""

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        return self._process.log_tail(lines) if self._process is not None else ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
