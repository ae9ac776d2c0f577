"""A cheap MQTT 3.1.1 QoS 1 publisher on a raw socket, for benchmarks.

paho costs ~35 µs to publish a message in Python, which would make the
publisher the bottleneck. Here every PUBLISH packet is built up front and the
bytes are written in large chunks; a reader thread counts PUBACKs.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Sequence


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        if n:
            byte |= 0x80
        out.append(byte)
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, keepalive: int = 60) -> bytes:
    body = _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + _utf8(client_id)
    return bytes([0x10]) + _remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, mid: int) -> bytes:
    body = _utf8(topic) + struct.pack("!H", mid) + payload
    return bytes([0x32]) + _remaining_length(len(body)) + body


class RawPublisher:
    def __init__(self, host: str, port: int, client_id: str = "bench-rawpub") -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.pubacks = 0
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> RawPublisher:
        sock = socket.create_connection((self.host, self.port))
        sock.sendall(connect_packet(self.client_id))
        connack = sock.recv(4)
        if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"broker refused the connection: {connack!r}")
        self._sock = sock
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        sock = self._sock
        if sock is None:
            return
        buf = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            n = len(buf) // 4  # PUBACK is exactly 4 bytes: 0x40 0x02 mid mid
            self.pubacks += n
            buf = buf[n * 4 :]

    def send(
        self,
        topics_payloads: Sequence[tuple[str, bytes]],
        chunk: int = 500,
        pace: float | None = None,
    ) -> list[float]:
        """Publish everything (at ``pace`` msg/s, or as fast as the broker takes it).

        Returns the monotonic send time of each message.
        """
        sock = self._sock
        if sock is None:
            raise RuntimeError("use RawPublisher as a context manager")
        packets = [
            publish_packet(topic, payload, (i % 65535) + 1)
            for i, (topic, payload) in enumerate(topics_payloads)
        ]
        sent_at: list[float] = []
        t0 = time.monotonic()
        for start in range(0, len(packets), chunk):
            if pace:
                due = t0 + start / pace
                while time.monotonic() < due:
                    time.sleep(min(0.01, max(0.0, due - time.monotonic())))
            block = packets[start : start + chunk]
            sock.sendall(b"".join(block))
            now = time.monotonic()
            sent_at.extend([now] * len(block))
        return sent_at

    def wait_acks(self, n: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pubacks >= n:
                return True
            time.sleep(0.01)
        return False

    def __exit__(self, *_exc: object) -> None:
        if self._sock is not None:
            try:
                self._sock.sendall(b"\xe0\x00")  # DISCONNECT
            finally:
                self._sock.close()
