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
  The buffer is bounded (``max_output``): past it ``send`` takes part of the
  data or raises ``BlockingIOError``, as a full non-blocking socket does, and
  paho keeps the rest of its packet until the socket is writable. A broker
  that stops reading therefore holds the gateway's output at the bound, and
  paho's own queue of outbound publishes is bounded by
  ``max_queued_messages`` (``MqttSource``).

A send error is kept and raised by the next ``recv``, where paho handles a
lost connection. ``ConnectionLoop`` drives the client with paho's
external-loop API, and can pause reading (``paused``) while the gateway
cannot take more messages: it then keeps the session alive with its own
PINGREQs at packet boundaries (docs/architecture.md, "Backpressure").
``BufferedClient`` is paho's Client creating its sockets through the wrapper
(it overrides ``Client._create_socket``: paho 2.2 is pinned, and a test checks
the wrapper is in place). Shell module.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_SIZE = 256 * 1024
MAX_OUTPUT = 1024 * 1024  # bytes held for the socket before send() reports a full buffer
PINGREQ = b"\xc0\x00"


class BufferedSocket:
    """A non-blocking stream socket with a read buffer and a corked write buffer."""

    def __init__(
        self,
        sock: socket.socket | ssl.SSLSocket,
        read_size: int = READ_SIZE,
        max_output: int = MAX_OUTPUT,
    ) -> None:
        if max_output < 1:
            raise ValueError("max_output must be at least 1 byte")
        self._sock = sock
        self._read_size = read_size
        self.max_output = max_output
        self._in = b""
        self._pos = 0
        self._out = bytearray()
        self._error: OSError | None = None
        self.recv_calls = 0
        self.send_calls = 0
        self.send_refusals = 0  # send() found the buffer full (the peer is not reading)
        self.output_high_water = 0

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
        """Take what fits in the output buffer for the next ``flush``; a partial count or
        ``BlockingIOError`` when it is full, as a non-blocking socket (paho keeps the rest).
        """
        if self._error is not None:
            return len(data)  # the connection is lost: the next recv says so to paho
        room = self.max_output - len(self._out)
        if room < len(data):
            self.flush()  # make room now if the kernel takes some
            room = self.max_output - len(self._out)
            if room <= 0:
                self.send_refusals += 1
                raise BlockingIOError("the MQTT output buffer is full")
        taken = data[:room]
        self._out += taken
        self.output_high_water = max(self.output_high_water, len(self._out))
        return len(taken)

    def send_control(self, packet: bytes) -> None:
        """Append a small control packet past the bound; call only between paho's packets."""
        if self._error is None:
            self._out += packet

    @property
    def output_bytes(self) -> int:
        return len(self._out)

    @property
    def failed(self) -> bool:
        """A send error is waiting for the next ``recv``."""
        return self._error is not None

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

    While ``paused()`` is true the loop reads nothing (the broker's messages
    wait in the TCP buffers and then at the broker, unacknowledged), still
    writes acks and publishes, and keeps the session alive: paho's own
    keepalive would wait for a PINGRESP that sits behind unread messages and
    drop the link, so the loop skips it and writes a PINGREQ of its own every
    half keepalive, between two of paho's packets. The broker sees the client
    alive and never drops it; the PINGRESPs are read, with the rest, on resume.
    The consumer calls ``wake()`` when reading may resume.
    """

    def __init__(
        self,
        client: mqtt.Client,
        idle_timeout_s: float = 0.2,
        *,
        keepalive_s: float = 60.0,
        paused: Callable[[], bool] = lambda: False,
        on_pause_event: Callable[[str, float, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._idle_timeout_s = idle_timeout_s
        self._keepalive_s = keepalive_s
        self._ping_every_s = max(0.5, keepalive_s / 2)
        self._paused = paused
        self._on_pause_event = on_pause_event  # ("ping" | "resumed", paused_s, pings of this pause)
        self._clock = clock
        self._pause_pings = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        self._thread_id: int | None = None
        self._pause_since: float | None = None
        self._last_ping = 0.0
        self.pauses = 0  # times reading was paused
        self.paused_pings = 0  # PINGREQs written while paused
        self.paused_s_total = 0.0
        client.on_socket_register_write = self._on_register_write

    @property
    def is_paused(self) -> bool:
        return self._pause_since is not None

    def paused_for_s(self) -> float:
        """Seconds since reading was paused; 0 while reading."""
        since = self._pause_since
        return 0.0 if since is None else self._clock() - since

    def _on_register_write(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        # From the MQTT thread itself (a full socket): the loop already selects for
        # writing; a wake would only spin it.
        if threading.get_ident() != self._thread_id:
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
        self._thread_id = threading.get_ident()
        client = self._client
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        buffered = sock if isinstance(sock, BufferedSocket) else None
        paused = self._update_pause(buffered)
        ready = not paused and _pending(sock) > 0
        wlist = [sock] if client.want_write() or (buffered and buffered.has_output) else []
        wait = 0.0 if ready else (self._idle_timeout_s if timeout_s is None else timeout_s)
        if paused:  # wake for the next ping (a ping held back by a part-written packet: soon)
            wait = min(wait, max(0.05, self._last_ping + self._ping_every_s - self._clock()))
        rlist = [self._wake_r] if paused else [sock, self._wake_r]
        try:
            readable, _, _ = select.select(rlist, wlist, [], wait)
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
                if client.socket() is not sock or _pending(sock) == 0 or self._paused():
                    break
        if client.want_write():
            rc = client.loop_write()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                return rc
        if paused and buffered is not None:
            self._keep_alive(buffered)
        if buffered is not None and client.socket() is sock:
            buffered.flush()
        if paused:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return client.loop_misc()

    def _update_pause(self, buffered: BufferedSocket | None) -> bool:
        """Pause or resume reading; a lost link (a kept send error) is always read."""
        want = self._paused() and buffered is not None and not buffered.failed
        now = self._clock()
        if want and self._pause_since is None:
            # the keepalive in force: MQTT 5 brokers may impose their own in CONNACK
            keepalive = self._client.keepalive or self._keepalive_s
            self._ping_every_s = max(0.5, min(keepalive, self._keepalive_s) / 2)
            self._pause_since = now
            self._last_ping = now - self._ping_every_s  # ping at once: paho's last may be old
            self.pauses += 1
            self._pause_pings = 0
        elif not want and self._pause_since is not None:
            paused_s = now - self._pause_since
            self.paused_s_total += paused_s
            self._pause_since = None
            self._notify("resumed", paused_s)
        return want

    def _notify(self, what: str, paused_s: float) -> None:
        if self._on_pause_event is not None:
            self._on_pause_event(what, paused_s, self._pause_pings)

    def _keep_alive(self, buffered: BufferedSocket) -> None:
        now = self._clock()
        if now - self._last_ping < self._ping_every_s or self._client.want_write():
            return  # not due, or paho is part-way through a packet: the next pass
        buffered.send_control(PINGREQ)
        self._last_ping = now
        self.paused_pings += 1
        self._pause_pings += 1
        if self._pause_since is not None:
            self._notify("ping", now - self._pause_since)


def _pending(sock: Any) -> int:
    pending = getattr(sock, "pending", None)
    return int(pending()) if pending is not None else 0
