"""A loopback TCP proxy a test can cut and restore: a WAN link that goes down. Shell module.

A site's leaf node dials the proxy instead of the cluster's leafnode port;
``cut()`` closes every connection through it and refuses new ones (the
listening socket stays bound, so the port is kept), ``restore()`` lets them
through again. Threads, one per direction per connection; for tests and the
fleet demo, not for production traffic.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self

from gateway.peers.process import free_port

BUFFER = 65536


class LinkProxy:
    """``127.0.0.1:<port>`` forwarding to ``target_host:target_port`` while not cut."""

    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self._target = (target_host, target_port)
        self._port = port if port is not None else free_port(self.host)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.connections = 0  # accepted and forwarded, over the proxy's life

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """A leafnode URL through the proxy."""
        return f"nats-leaf://{self.host}:{self._port}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="link-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """The link goes down: every connection closed, new ones closed at once."""
        with self._lock:
            self._cut = True
            for s in list(self._open):
                _close(s)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
        if self._thread is not None:
            self._thread.join(5)
        if self._listener is not None:
            _close(self._listener)

    def _accept(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                cut = self._cut
            if cut:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                if self._cut:
                    _close(client)
                    _close(upstream)
                    continue
                self._open.update((client, upstream))
                self.connections += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(BUFFER)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            _close(src)
            _close(dst)

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


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
