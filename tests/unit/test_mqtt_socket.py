"""BufferedSocket on a real socket pair: reads from one buffer, corked writes, errors kept for paho."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from sensors.mqtt_socket import LEAVE, BufferedSocket


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    wrapped = BufferedSocket(ours, read_size=4096)
    try:
        yield wrapped, theirs
    finally:
        wrapped.close()
        theirs.close()


def _wait_readable(sock: BufferedSocket) -> None:
    select.select([sock], [], [], 2.0)


def _publish(topic: str, payload: bytes, mid: int = 1) -> bytes:
    """A QoS 1 PUBLISH packet (MQTT 3.1.1), built here rather than by the code under test."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + mid.to_bytes(2, "big") + payload
    assert len(body) < 128
    return bytes([0x32, len(body)]) + body


def _read_packet(sock: BufferedSocket) -> bytes:
    """Read one packet as paho does: the first byte, the length byte, then the body in bits."""
    head = sock.recv(1) + sock.recv(1)
    body = b""
    while len(body) < head[1]:
        body += sock.recv(3)
    return head + body


def test_small_reads_are_served_from_one_recv(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    packets = [_publish(f"t/{i}", bytes(range(i % 50))) for i in range(40)]  # < one read
    peer.sendall(b"".join(packets))
    _wait_readable(sock)
    got = [_read_packet(sock) for _ in packets]
    assert got == packets
    assert sock.recv_calls == 1
    assert sock.pending() == 0


def test_only_whole_packets_are_served_and_pending(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, peer = pair
    packet = _publish("a/b", b"abcdef")
    peer.sendall(packet[:5])
    _wait_readable(sock)
    assert sock.pending() == 0  # nothing read yet: the kernel holds it
    with pytest.raises(BlockingIOError):
        sock.recv(1)  # half a packet: paho gets nothing, so it is never left with a part
    assert sock.pending() == 0  # now buffered, but not a whole packet
    peer.sendall(packet[5:] + packet)
    _wait_readable(sock)
    assert sock.recv(1) == packet[:1]
    assert sock.pending() == len(packet) - 1
    assert sock.recv(100) == packet[1:]  # a short read: the rest of that packet only
    assert sock.pending() == len(packet)  # the next one, whole
    assert _read_packet(sock) == packet
    assert sock.pending() == 0


def test_next_frame_reads_the_socket_until_a_packet_is_whole(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, peer = pair
    packet = _publish("x", b"123", mid=7)
    peer.sendall(packet[:3])
    _wait_readable(sock)
    assert sock.next_frame() is None
    peer.sendall(packet[3:])
    _wait_readable(sock)
    frame = sock.next_frame()
    assert frame is not None
    assert bytes(sock.buffer[frame.body - 2 : frame.end]) == packet
    sock.consume(frame)
    assert sock.next_frame() is None
    assert sock.pending() == 0


def test_empty_socket_raises_blocking_io_like_a_socket(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, _ = pair
    with pytest.raises(BlockingIOError):
        sock.recv(1)


def test_end_of_stream_reads_empty(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    packet = _publish("e", b"xy")
    peer.sendall(packet + packet[:4])  # a whole packet, then part of one, then the end
    peer.shutdown(socket.SHUT_WR)
    _wait_readable(sock)
    assert _read_packet(sock) == packet
    _wait_readable(sock)
    assert sock.recv(5) == b""
    assert sock.next_frame() is LEAVE  # paho must read the end of the stream


def test_sends_are_corked_until_flush(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    for mid in range(1, 501):  # 500 PUBACKs
        assert sock.send(bytes([0x40, 2]) + mid.to_bytes(2, "big")) == 4
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)  # nothing written yet
    sock.flush()
    assert sock.send_calls == 1
    assert not sock.has_output
    peer.settimeout(2)
    got = b""
    while len(got) < 2000:
        got += peer.recv(4096)
    assert got[:4] == b"\x40\x02\x00\x01" and got[-4:] == b"\x40\x02\x01\xf4"


def test_a_full_socket_keeps_the_rest_for_later(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, peer = pair
    big = b"z" * sock.max_output  # the whole bound, then more than the kernel takes
    assert sock.send(big) == len(big)
    sock.flush()
    assert sock.has_output or sock.send(big) < len(big)  # the peer reads nothing yet
    received = 0
    peer.settimeout(2)
    while received < len(big):
        received += len(peer.recv(1024 * 1024))
        sock.flush()
    assert received >= len(big)


def _fill(sock: BufferedSocket, chunk: bytes) -> int:
    """Send ``chunk`` until the socket refuses; return the bytes it took."""
    taken = 0
    for _ in range(10_000):
        try:
            n = sock.send(chunk)
        except BlockingIOError:
            return taken
        taken += n
        if n < len(chunk):  # a partial write: the next one is refused
            with pytest.raises(BlockingIOError):
                sock.send(chunk[n:])
            return taken
    pytest.fail("the socket never reported a full buffer")


def test_a_peer_that_stops_reading_holds_the_output_at_its_bound() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sock = BufferedSocket(ours, max_output=64 * 1024)
    try:
        packet = bytes(range(256)) * 4  # 1 KiB, as paho would send a publish
        taken = _fill(sock, packet)
        # all that was taken is in the kernel or in our buffer, and ours holds its bound
        assert sock.output_bytes <= sock.max_output
        assert sock.output_high_water <= sock.max_output
        assert sock.send_refusals >= 1
        # a stalled peer stays stalled: more attempts do not grow the buffer
        for _ in range(100):
            with pytest.raises(BlockingIOError):
                sock.send(packet)
        assert sock.output_bytes <= sock.max_output
        # the peer reads again: every byte taken arrives, in order, and nothing more
        theirs.settimeout(2)
        got = bytearray()
        while len(got) < taken:
            got += theirs.recv(1024 * 1024)
            sock.flush()
        assert len(got) == taken
        expected = (packet * (taken // len(packet) + 1))[:taken]
        assert bytes(got) == expected
        assert not sock.has_output
        assert sock.send(packet) == len(packet)  # room again
    finally:
        sock.close()
        theirs.close()


def test_a_control_packet_goes_past_the_bound(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, peer = pair
    _fill(sock, b"p" * 4096)
    sock.send_control(b"\xc0\x00")  # a PINGREQ between two packets, even when full
    assert sock.output_bytes <= sock.max_output + 2


def test_a_send_error_is_raised_by_the_next_recv(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, peer = pair
    peer.close()
    sock.send(b"\x40\x02\x00\x01")
    sock.flush()
    sock.send(b"\x40\x02\x00\x02")  # the peer is gone: the second write fails for sure
    sock.flush()
    assert sock.pending() == 1  # so the loop reads, and paho sees the lost connection
    with pytest.raises(OSError):
        sock.recv(1)


def test_close_writes_what_is_corked() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sock = BufferedSocket(ours)
    sock.send(b"\xe0\x00")  # DISCONNECT
    sock.close()
    theirs.settimeout(2)
    assert theirs.recv(10) == b"\xe0\x00"
    theirs.close()


def test_other_attributes_are_the_socket_s(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, _ = pair
    assert sock.fileno() == sock.inner.fileno()
    assert sock.family == socket.AF_UNIX
