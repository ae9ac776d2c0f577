"""MQTT framing read by the gateway itself, checked against paho's own decoder as the reference."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion

from sensors.mqtt_frames import MALFORMED, Frame, frame_at, parse_publish, pubacks


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish(
    topic: bytes, payload: bytes, qos: int, mid: int, flags: int, props: bytes | None
) -> bytes:
    """A PUBLISH packet built from the standard's layout (``props``: MQTT 5 property bytes)."""
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    if props is not None:
        body += _length(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1 | flags]) + _length(len(body)) + body


# MQTT 5 PUBLISH properties paho can unpack: payload format, expiry, content type, user property
PROPS = st.sampled_from(
    [
        b"",
        b"\x01\x01",
        b"\x02\x00\x00\x0e\x10",
        b"\x03\x00\x10application/json",
        b"\x26\x00\x01k\x00\x02vv" * 40,  # long enough for a two-byte property length
    ]
)


@given(
    topic=st.binary(min_size=1, max_size=300),
    payload=st.binary(max_size=20_000),
    qos=st.integers(0, 1),
    mid=st.integers(1, 65535),
    flags=st.sampled_from([0, 1, 8, 9]),  # retain, dup
    v5=st.booleans(),
    props=PROPS,
    prefix=st.binary(max_size=5),
)
def test_a_publish_reads_as_paho_reads_it(
    topic: bytes,
    payload: bytes,
    qos: int,
    mid: int,
    flags: int,
    v5: bool,
    props: bytes,
    prefix: bytes,
) -> None:
    packet = _publish(topic, payload, qos, mid, flags, props if v5 else None)
    buf = bytearray(b"\xff" * len(prefix) + packet + b"\x30")  # something before and after
    frame = frame_at(buf, len(prefix))
    assert frame is not None and frame.end == len(prefix) + len(packet)
    ours = parse_publish(buf, frame, v5)
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    reference = _packet.decode_publish(packet[0], bytes(buf[frame.body : frame.end]), protocol)
    assert ours is not None
    assert (ours.topic, ours.payload, ours.mid, ours.qos) == (
        reference.topic,
        reference.payload,
        reference.mid,
        reference.qos,
    )
    for cut in (1, 2, len(packet) // 2, len(packet) - 1):  # a packet still arriving
        assert frame_at(packet[:cut], 0) is None


def test_what_is_left_to_paho() -> None:
    qos2 = _publish(b"t", b"p", 2, 5, 0, None)
    assert parse_publish(qos2, frame_at(qos2, 0) or Frame(0, 0, 0), False) is None
    empty_topic = _publish(b"", b"p", 1, 5, 0, b"\x23\x00\x01")  # an MQTT 5 topic alias
    assert parse_publish(empty_topic, frame_at(empty_topic, 0) or Frame(0, 0, 0), True) is None
    suback = b"\x90\x03\x00\x01\x01"
    assert parse_publish(suback, frame_at(suback, 0) or Frame(0, 0, 0), False) is None
    lying = b"\x32\x03\x00\x09ab"  # a topic longer than the packet
    assert parse_publish(lying, frame_at(lying, 0) or Frame(0, 0, 0), False) is None
    assert frame_at(b"\x30\xff\xff\xff\xff\x01", 0) == Frame(MALFORMED, 6, 6)  # 5 length bytes


@given(st.lists(st.integers(1, 65535), max_size=300))
def test_pubacks_are_paho_s_packets_in_a_row(mids: list[int]) -> None:
    assert pubacks(mids) == b"".join(struct.pack("!BBH", 0x40, 2, mid) for mid in mids)
