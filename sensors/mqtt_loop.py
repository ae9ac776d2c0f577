"""The MQTT thread's loop: paho's external-loop API driven by ``select``, PUBLISHes read here.

See sensors/mqtt_socket.py for the socket under it and the reasons.
``ConnectionLoop`` reads PUBLISH packets itself (sensors/mqtt_frames.py),
leaves every other packet to paho, writes queued acknowledgements as one run
of PUBACKs on the connection they belong to, and pauses reading under
backpressure while keeping the session alive. Shell module.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from sensors.mqtt_frames import Publish, parse_publish, pubacks
from sensors.mqtt_socket import LEAVE, BufferedSocket

PINGREQ = b"\xc0\x00"
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
        self._noted = 0
        self._note_read: Callable[[], None] | None = getattr(client, "note_bytes_received", None)
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
        try:
            return self._read_burst(sock, buffered)
        finally:
            if self.fast_publishes != self._noted and self._note_read is not None:
                self._noted = self.fast_publishes
                self._note_read()  # bytes arrived that paho did not read: keep its keepalive

    def _read_burst(self, sock: Any, buffered: BufferedSocket | None) -> MQTTErrorCode:
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
