"""MQTT framing: where a packet ends in a byte buffer, a PUBLISH's parts, PUBACKs in bulk.

The gateway's MQTT thread reads inbound PUBLISH packets itself (``ConnectionLoop``
in sensors/mqtt_loop.py) instead of through paho's per-packet machinery
(three or four small reads, an ``MQTTMessage``, a topic-filter match, debug
logging), and writes its acknowledgements as one run of bytes. Everything else
(CONNACK, SUBACK, PINGRESP, PUBACKs of our own publishes, QoS 2) stays paho's.

The formats are those of MQTT 3.1.1 (OASIS, sections 2.2 and 3.3-3.4) and 5.0
(sections 2.1-2.2 and 3.3-3.4): a fixed header byte, a variable-length
"remaining length" of one to four bytes, then, for a PUBLISH, a length-prefixed
topic, a packet identifier when QoS > 0, in MQTT 5 a length-prefixed block of
properties, and the payload. A PUBACK is ``0x40 0x02`` and the packet id (in
MQTT 5 the reason code and properties may be left out when the reason is
success). Pure module.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

PUBLISH = 3
MALFORMED = -1  # a remaining length of more than four bytes


class Frame(NamedTuple):
    """A complete packet in a buffer: its first byte, where its body starts and ends."""

    first: int
    body: int
    end: int


class Publish(NamedTuple):
    topic: bytes
    payload: bytes
    mid: int
    qos: int


def frame_at(buf: bytes | bytearray, pos: int) -> Frame | None:
    """The complete packet starting at ``pos``, or None while part of it is still to come.

    A remaining length longer than four bytes is returned as a frame of
    ``first`` MALFORMED ending after its fifth byte: the reader hands it on to
    paho, which drops the connection as the protocol says.
    """
    size = len(buf)
    i = pos + 1
    length = 0
    shift = 0
    while True:
        if i >= size:
            return None
        byte = buf[i]
        i += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift >= 28:  # a fifth length byte: paho reads it and reports the error
            return Frame(MALFORMED, i + 1, i + 1) if i < size else None
    end = i + length
    if end > size:
        return None
    return Frame(buf[pos], i, end)


def parse_publish(buf: bytes | bytearray, frame: Frame, v5: bool) -> Publish | None:
    """The parts of a PUBLISH frame; None when it is not one we take (QoS 2, malformed).

    None leaves the packet to paho, whose handling (PUBREC for QoS 2, a protocol
    error) is the reference.
    """
    first, body, end = frame
    qos = (first >> 1) & 0x03
    if first >> 4 != PUBLISH or qos > 1:
        return None
    if body + 2 > end:
        return None
    topic_end = body + 2 + ((buf[body] << 8) | buf[body + 1])
    if topic_end == body + 2:
        return None  # an empty topic: a protocol error in 3.1.1, a topic alias in 5
    i = topic_end
    mid = 0
    if qos:
        i += 2
        if i > end:
            return None
        mid = (buf[topic_end] << 8) | buf[topic_end + 1]
    if v5:
        props = 0
        shift = 0
        while True:
            if i >= end or shift >= 28:
                return None
            byte = buf[i]
            i += 1
            props |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        i += props
    if i > end:
        return None
    return Publish(bytes(buf[body + 2 : topic_end]), bytes(buf[i:end]), mid, qos)


def pubacks(mids: Sequence[int]) -> bytes:
    """PUBACK packets for ``mids``, in order, as one run of bytes."""
    return struct.pack(f">{len(mids)}I", *[0x40020000 | mid for mid in mids])
