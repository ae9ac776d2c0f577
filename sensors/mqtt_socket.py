"""Buffered socket I/O under paho-mqtt, and the gateway's own reading of PUBLISH packets.

paho reads every packet with three or four ``recv`` calls (the command byte,
each byte of the remaining length, then the body), builds an ``MQTTMessage``,
matches its topic against its callback filters and formats a debug line, and
writes every PUBACK with its own ``send``. At 20,000 QoS 1 messages a second
that was a quarter of the gateway's CPU on its one MQTT thread, under the GIL
the hub needs for decoding (py-spy over bench/ingest). ``BufferedSocket``
wraps the connected socket (plain or TLS) so that:

- reads come from one large read of the kernel buffer, and paho is only ever
  served whole packets (``recv`` gives nothing until the packet at the head
  is complete), so paho never holds part of one and the loop can read the
  next packet itself; ``pending()`` tells the loop that a whole packet is
  buffered (paho's own loop and ``ConnectionLoop`` then skip the wait in
  ``select``);
- ``send`` appends to an output buffer that ``flush()`` writes in one call at
  the end of each loop pass, so a batch of acknowledgements is one segment.
  The buffer is bounded (``max_output``): past it ``send`` takes part of the
  data or raises ``BlockingIOError``, as a full non-blocking socket does, and
  paho keeps the rest of its packet until the socket is writable. A broker
  that stops reading therefore holds the gateway's output at the bound, and
  paho's own queue of outbound publishes is bounded by
  ``max_queued_messages`` (``MqttSource``).

``ConnectionLoop`` (sensors/mqtt_loop.py) drives the client with paho's
external-loop API. A QoS 0 or 1 PUBLISH at the head of the buffer it parses
itself (sensors/mqtt_frames.py, checked against paho's decoder) and hands to
``on_publish``; every other packet (CONNACK, SUBACK, PINGRESP, the PUBACKs of
our own publishes, QoS 2, anything malformed) is paho's, read by
``loop_read``. Acknowledgements queued with ``queue_acks`` are written by the
loop as one run of PUBACK bytes between two of paho's packets, and only on
the connection their messages came on. A send error is kept and raised by the
next ``recv``, where paho handles a lost connection. The loop can pause
reading (``paused``) while the gateway cannot take more messages: it then
keeps the session alive with its own PINGREQs at packet boundaries
(docs/architecture.md, "Backpressure"). ``BufferedClient`` is paho's Client
creating its sockets through the wrapper (it overrides
``Client._create_socket``: paho 2.2 is pinned, and a test checks the wrapper
is in place). Shell module.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt

from sensors.mqtt_frames import Frame, frame_at

READ_SIZE = 256 * 1024
MAX_OUTPUT = 1024 * 1024  # bytes held for the socket before send() reports a full buffer
LEAVE = Frame(-2, 0, 0)  # next_frame(): paho must read next (an error, the end of the stream)


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
        self._in = bytearray()
        self._pos = 0
        self._frame_end = 0  # end of the packet paho is reading (paho reads whole ones)
        self._eof = False
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

    def fill(self) -> int:
        """Append one read of the kernel buffer to ours; 0 at the end of the stream.

        Raises what the socket raises (``BlockingIOError`` when nothing is there).
        """
        self.recv_calls += 1
        data = self._sock.recv(self._read_size)
        if not data:
            self._eof = True
            return 0
        if self._pos:
            del self._in[: self._pos]
            self._frame_end -= self._pos
            self._pos = 0
        self._in += data
        return len(data)

    def next_frame(self) -> Frame | None:
        """The complete packet at the head, reading the socket as needed.

        None while no packet is complete and the socket has nothing more now;
        ``LEAVE`` when paho must read next (a kept error, the end of the
        stream, a TLS read that wants a write): its ``recv`` reports it.
        """
        while True:
            if self._error is not None:
                return LEAVE
            frame = frame_at(self._in, self._pos) if self._pos < len(self._in) else None
            if frame is not None:
                return frame
            if self._eof:
                return LEAVE
            try:
                self.fill()
            except (BlockingIOError, ssl.SSLWantReadError):
                return None
            except ssl.SSLWantWriteError:
                return LEAVE
            except OSError as exc:
                self._error = exc
                return LEAVE

    @property
    def buffer(self) -> bytearray:
        return self._in

    def consume(self, frame: Frame) -> None:
        """Drop the head packet ``frame`` (read by the caller, not by paho)."""
        self._pos = self._frame_end = frame.end

    def recv(self, bufsize: int) -> bytes:
        """paho's reads: whole packets only, so paho is never left with part of one."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._pos >= self._frame_end:  # a packet boundary: serve one only when complete
            while (frame := frame_at(self._in, self._pos)) is None:
                if self._eof:
                    return b""
                self.fill()  # may raise BlockingIOError: paho then has read nothing
            self._frame_end = frame.end
        end = min(self._pos + bufsize, self._frame_end)
        chunk = bytes(self._in[self._pos : end])
        self._pos = end
        return chunk

    def pending(self) -> int:
        """Readable without waiting: a complete buffered packet, TLS's decrypted bytes,
        a kept error or the end of the stream (which paho must see)."""
        if self._error is not None or self._eof:
            return 1
        buffered = 0
        if self._pos < self._frame_end:
            buffered = self._frame_end - self._pos
        elif (frame := frame_at(self._in, self._pos)) is not None:
            buffered = frame.end - self._pos
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

    def note_bytes_received(self) -> None:
        """Tell paho's keepalive that the broker sent something (read by our loop, not paho).

        paho 2.2 (pinned) keeps the link while bytes arrive, even when the
        answer to its PINGREQ is still behind a backlog of messages; it learns
        of them in ``_sock_recv`` (``_last_bytes_received``), which PUBLISHes
        read by ``ConnectionLoop`` bypass. Without this, a flood that keeps
        the PINGRESP queued for two keepalives would make paho drop the link.
        """
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):  # plain TCP, or ssl.SSLSocket (a subclass)
            return BufferedSocket(sock)
        return sock
