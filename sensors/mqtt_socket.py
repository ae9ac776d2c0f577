"""Buffered socket I/O under paho-mqtt: one recv per burst of packets, one send per burst of acks.

paho reads every packet with three or four ``recv`` calls (the command byte,
each byte of the remaining length, then the body) and writes every PUBACK
with its own ``send``. At 20,000 QoS 1 messages a second that is some 100,000
system calls a second on the gateway's one MQTT thread, under the GIL the hub
needs for decoding. ``BufferedSocket`` wraps the connected socket (plain or
TLS) so that:

- ``recv`` serves paho's small reads from one large read of the kernel buffer,
  and ``pending()`` tells the loop that packets are still buffered (paho's own
  loop and ``ConnectionLoop`` then skip the wait in ``select``);
- ``send`` appends to an output buffer that ``flush()`` writes in one call at
  the end of each loop pass, so a batch of acknowledgements is one segment.

A send error is kept and raised by the next ``recv``, where paho handles a
lost connection. ``ConnectionLoop`` drives the client with paho's
external-loop API. ``BufferedClient`` is paho's Client creating its sockets
through the wrapper (it overrides ``Client._create_socket``: paho 2.2 is
pinned, and a test checks the wrapper is in place). Shell module.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_SIZE = 256 * 1024


class BufferedSocket:
    """A non-blocking stream socket with a read buffer and a corked write buffer."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket, read_size: int = READ_SIZE) -> None:
        self._sock = sock
        self._read_size = read_size
        self._in = b""
        self._pos = 0
        self._out = bytearray()
        self._error: OSError | None = None
        self.recv_calls = 0
        self.send_calls = 0

    @property
    def inner(self) -> socket.socket | ssl.SSLSocket:
        return self._sock

    # ------------------------------------------------------------------ reading

    def recv(self, bufsize: int) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._pos >= len(self._in):
            self.recv_calls += 1
            data = self._sock.recv(max(bufsize, self._read_size))  # may raise BlockingIOError
            if not data:
                return b""
            self._in, self._pos = data, 0
        end = self._pos + bufsize
        chunk = self._in[self._pos : end]
        self._pos += len(chunk)
        return chunk

    def pending(self) -> int:
        """Bytes readable without waiting: our buffer, TLS's decrypted bytes, or a kept error."""
        if self._error is not None:
            return 1
        buffered = len(self._in) - self._pos
        if isinstance(self._sock, ssl.SSLSocket):
            buffered += self._sock.pending()
        return buffered

    # ------------------------------------------------------------------ writing

    def send(self, data: bytes | bytearray) -> int:
        """Take all of ``data`` for the next ``flush`` (paho then moves to its next packet)."""
        self._out += data
        return len(data)

    @property
    def has_output(self) -> bool:
        return bool(self._out)

    def flush(self) -> None:
        """Write what the socket takes now; keep the rest for when it is writable."""
        while self._out and self._error is None:
            try:
                self.send_calls += 1
                sent = self._sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except OSError as exc:  # reported by the next recv, where paho handles it
                self._error = exc
                self._out.clear()
                return
            del self._out[:sent]

    # ------------------------------------------------------------------ the rest of a socket

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()  # e.g. the DISCONNECT paho has just "sent"
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    """paho's Client on a BufferedSocket (not for websockets, which paho wraps itself)."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):  # plain TCP, or ssl.SSLSocket (a subclass)
            return BufferedSocket(sock)
        return sock


READ_BURST = 2000  # packets read in one pass before writes and keepalive get their turn


class ConnectionLoop:
    """paho's external-loop API (loop_read / loop_write / loop_misc) driven by ``select``.

    Runs in the MQTT thread. Other threads queue acks and publishes through
    paho and call ``wake()``; paho's register-write hook wakes it too. One pass
    reads every buffered packet (up to ``READ_BURST``), writes what paho
    queued, flushes the socket's output buffer in one call and runs the
    keepalive.
    """

    def __init__(self, client: mqtt.Client, idle_timeout_s: float = 0.2) -> None:
        self._client = client
        self._idle_timeout_s = idle_timeout_s
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        client.on_socket_register_write = self._on_register_write

    def _on_register_write(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        self.wake()

    def wake(self) -> None:
        """Make the next (or current) ``select`` return; cheap to call often."""
        if self._woken:
            return
        self._woken = True
        with contextlib.suppress(OSError):  # full (a wake is already pending) or closed
            self._wake_w.send(b"w")

    def close(self) -> None:
        self._wake_r.close()
        self._wake_w.close()

    def run_once(self, timeout_s: float | None = None) -> MQTTErrorCode:
        """One pass; MQTT_ERR_SUCCESS, or the error that ended the connection."""
        client = self._client
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        buffered = sock if isinstance(sock, BufferedSocket) else None
        ready = _pending(sock) > 0
        wlist = [sock] if client.want_write() or (buffered and buffered.has_output) else []
        wait = 0.0 if ready else (self._idle_timeout_s if timeout_s is None else timeout_s)
        try:
            readable, _, _ = select.select([sock, self._wake_r], wlist, [], wait)
        except (OSError, ValueError, TypeError):  # the socket was closed under us
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if self._wake_r in readable:
            self._woken = False
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        if ready or sock in readable:
            for _ in range(READ_BURST):
                rc = client.loop_read()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    return rc
                if client.socket() is not sock or _pending(sock) == 0:
                    break
        if client.want_write():
            rc = client.loop_write()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        if buffered is not None and client.socket() is sock:
            buffered.flush()
        return client.loop_misc()


def _pending(sock: Any) -> int:
    pending = getattr(sock, "pending", None)
    return int(pending()) if pending is not None else 0
