"""BufferedSocket on a real socket pair: reads from one buffer, corked writes, errors kept for paho."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from sensors.mqtt_socket import BufferedSocket


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


def test_small_reads_are_served_from_one_recv(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    data = bytes(range(256)) * 8  # 2,048 bytes: less than one read
    peer.sendall(data)
    _wait_readable(sock)
    got = bytearray()
    while len(got) < len(data):
        got += sock.recv(3)
    assert bytes(got) == data
    assert sock.recv_calls == 1
    assert sock.pending() == 0


def test_pending_counts_what_is_buffered(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    peer.sendall(b"abcdef")
    _wait_readable(sock)
    assert sock.pending() == 0  # nothing read yet: the kernel holds it
    assert sock.recv(2) == b"ab"
    assert sock.pending() == 4
    assert sock.recv(10) == b"cdef"  # a short read, as a socket's
    assert sock.pending() == 0


def test_empty_socket_raises_blocking_io_like_a_socket(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    sock, _ = pair
    with pytest.raises(BlockingIOError):
        sock.recv(1)


def test_end_of_stream_reads_empty(pair: tuple[BufferedSocket, socket.socket]) -> None:
    sock, peer = pair
    peer.sendall(b"xy")
    peer.shutdown(socket.SHUT_WR)
    _wait_readable(sock)
    assert sock.recv(5) == b"xy"
    _wait_readable(sock)
    assert sock.recv(5) == b""


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
