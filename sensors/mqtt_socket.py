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

``ConnectionLoop`` drives the client with paho's external-loop API. A QoS 0
or 1 PUBLISH at the head of the buffer it parses itself
(sensors/mqtt_frames.py, checked against paho's decoder) and hands to
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
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from sensors.mqtt_frames import Frame, Publish, frame_at, parse_publish, pubacks

READ_SIZE = 256 * 1024
MAX_OUTPUT = 1024 * 1024  # bytes held for the socket before send() reports a full buffer
PINGREQ = b"\xc0\x00"
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

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):  # plain TCP, or ssl.SSLSocket (a subclass)
            return BufferedSocket(sock)
        return sock


READ_BURST = 2000  # packets read in one pass before writes and keepalive get their turn


class ConnectionLoop:
    """paho's external-loop API (loop_read / loop_write / loop_misc) driven by ``select``.

    Runs in the MQTT thread. Other threads queue acks (``queue_acks``) and
    publishes (through paho) and call ``wake()``; paho's register-write hook
    wakes it too. One pass reads every buffered packet (up to ``READ_BURST``:
    PUBLISHes to ``on_publish``, the rest through paho, then ``on_read_end``),
    writes what paho queued and the queued acks, flushes the socket's output
    buffer in one call and runs the keepalive.

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
        on_publish: Callable[[Publish], bool] | None = None,
        on_read_end: Callable[[], None] | None = None,
        v5: bool = False,
        connection: Callable[[], int | None] = lambda: 0,
        on_acks: Callable[[int, int], None] | None = None,
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
        self._on_publish = on_publish  # takes a PUBLISH read here; False leaves it to paho
        self._on_read_end = on_read_end  # after each pass's reads (the taker may hold some)
        self._v5 = v5
        self._connection = connection  # the current connection's tag, None while there is none
        self._on_acks = on_acks  # (written, stale) after each run of queued acks
        self._acks: list[tuple[int, list[int]]] = []
        self._acks_lock = threading.Lock()
        self.fast_publishes = 0  # PUBLISH packets read here rather than by paho
        self.stale_acks = 0  # acks dropped: their connection had ended before they were written
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
            try:
                rc = self._read(sock, buffered)
            finally:
                if self._on_read_end is not None:
                    self._on_read_end()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        if client.want_write():
            rc = client.loop_write()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                return rc
        if self._acks and client.socket() is sock and not client.want_write():
            self._write_acks(buffered)  # at a boundary of paho's packets
        if paused and buffered is not None:
            self._keep_alive(buffered)
        if buffered is not None and client.socket() is sock:
            buffered.flush()
        if paused:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return client.loop_misc()

    def _read(self, sock: Any, buffered: BufferedSocket | None) -> MQTTErrorCode:
        """Read up to READ_BURST packets: PUBLISHes here, the rest (and errors) by paho."""
        client = self._client
        for _ in range(READ_BURST):
            frame = None
            if buffered is not None:
                frame = buffered.next_frame()
                if frame is None:
                    break
                if self._on_publish is not None and frame.first >= 0:
                    publish = parse_publish(buffered.buffer, frame, self._v5)
                    if publish is not None and self._on_publish(publish):
                        buffered.consume(frame)
                        self.fast_publishes += 1
                        if self._paused():
                            break
                        continue
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
            if client.socket() is not sock or self._paused() or frame is LEAVE:
                break
            if buffered is None and _pending(sock) == 0:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def queue_acks(self, connection: int, mids: list[int]) -> None:
        """From any thread: PUBACKs for QoS 1 ``mids`` received on ``connection``, in order.

        They are written by the MQTT thread in one run of bytes, and dropped
        (``stale_acks``) if that connection has ended by then: packet ids are
        reused, so an ack belongs to the connection its message came on.
        """
        with self._acks_lock:
            self._acks.append((connection, mids))
        self.wake()

    def _write_acks(self, buffered: BufferedSocket | None) -> None:
        if buffered is not None and buffered.output_bytes >= buffered.max_output:
            return  # the broker is not reading: the acks wait (bounded by its in-flight window)
        with self._acks_lock:
            acks, self._acks = self._acks, []
        current = self._connection()
        written = stale = 0
        for connection, mids in acks:
            if connection != current:
                stale += len(mids)
                continue
            if buffered is not None:
                buffered.send_control(pubacks(mids))
            else:
                for mid in mids:
                    self._client.ack(mid, 1)
            written += len(mids)
        self.stale_acks += stale
        if self._on_acks is not None:
            self._on_acks(written, stale)

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
