"""LinkProxy (gateway/peers/tcp_proxy.py): forwards while up, cut() closes and refuses, restore()."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from gateway.peers.tcp_proxy import LinkProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _roundtrip(port: int) -> bytes:
    """What comes back for b"ping"; b"" when the proxy closed the connection (or reset it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(b"ping")
            return s.recv(1024)
        except (ConnectionResetError, BrokenPipeError):
            return b""


def test_the_proxy_forwards_until_cut_and_again_after_restore(echo: int) -> None:
    with LinkProxy("127.0.0.1", echo) as proxy:
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        held.sendall(b"one")
        assert held.recv(1024) == b"one"
        proxy.cut()
        assert held.recv(1024) == b""  # the open connection is closed
        held.close()
        assert _roundtrip(proxy.port) == b""  # a new one is closed at once
        proxy.restore()
        assert _roundtrip(proxy.port) == b"ping"
        assert proxy.connections == 2
