"""WS-Discovery messages: the probe we send, the answers we parse (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras import wsdiscovery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "onvif"
PROBE_ID = "urn:uuid:11111111-2222-4333-8444-555555555555"


def test_probe_round_trip() -> None:
    probe = wsdiscovery.build_probe(PROBE_ID)
    assert wsdiscovery.parse_probe(probe) == PROBE_ID
    assert b"dn:NetworkVideoTransmitter" in probe


def test_matches_round_trip() -> None:
    answer = wsdiscovery.build_probe_matches(
        message_id="urn:uuid:a",
        relates_to=PROBE_ID,
        endpoint="urn:uuid:cam",
        xaddrs=("http://127.0.0.1:8000/onvif/device_service",),
        scopes=("onvif://www.onvif.org/name/Lobby%20IR", "onvif://www.onvif.org/hardware/X1"),
    )
    [device] = wsdiscovery.parse_probe_matches(answer, "127.0.0.1", PROBE_ID)
    assert device.endpoint == "urn:uuid:cam"
    assert device.name == "Lobby IR"
    assert device.hardware == "X1"
    assert device.sender == "127.0.0.1"
    assert wsdiscovery.parse_probe_matches(answer, "127.0.0.1", "urn:uuid:other-probe") == []
    assert wsdiscovery.parse_probe(answer) is None  # an answer is not a probe


def test_vendor_shaped_answer() -> None:
    data = (FIXTURES / "probe_matches_vendor_shaped.xml").read_bytes()
    [device] = wsdiscovery.parse_probe_matches(data, "192.168.1.64", PROBE_ID)
    assert device.xaddrs == (
        "http://192.168.1.64/onvif/device_service",
        "http://[fe80::c256:e3ff:fea1:b2c3]/onvif/device_service",
    )
    assert device.name == "Sảnh chờ 1"  # percent-encoded UTF-8
    assert device.hardware == "DS-2CD2643G2-IZS"
    assert device.location == "city/Bac Ninh"
    assert device.profiles == ("Streaming", "G", "T", "M")
    assert device.types == ("dn:NetworkVideoTransmitter", "tds:Device")
    assert "http://www.vendor.example/serial/E12345678" in device.scopes


@pytest.mark.parametrize(
    "data",
    [b"", b"not xml", b"<a/>", b"<?xml version='1.0'?><x:y xmlns:x='u'/>", b"\xff\xfe" * 10],
)
def test_garbage_is_no_device(data: bytes) -> None:
    assert wsdiscovery.parse_probe_matches(data, "10.0.0.1") == []
    assert wsdiscovery.parse_probe(data) is None


def test_oversized_datagram_is_ignored() -> None:
    assert wsdiscovery.parse_probe_matches(b" " * (wsdiscovery.MAX_DATAGRAM + 1), "x") == []


@given(st.binary(max_size=300))
def test_random_bytes_are_no_device_and_no_probe(data: bytes) -> None:
    """Never raises, and never finds a device or a probe in noise."""
    assert wsdiscovery.parse_probe_matches(data, "x") == []
    assert wsdiscovery.parse_probe(data) is None


@given(st.integers(min_value=0, max_value=2000))
def test_a_cut_answer_is_whole_or_nothing(cut: int) -> None:
    """A datagram cut short (a truncated UDP answer) yields the device or no device,
    never a half-parsed one."""
    answer = wsdiscovery.build_probe_matches(
        message_id="urn:uuid:a",
        relates_to=PROBE_ID,
        endpoint="urn:uuid:cam",
        xaddrs=("http://127.0.0.1:8000/onvif/device_service",),
        scopes=("onvif://www.onvif.org/name/Lobby",),
    )
    found = wsdiscovery.parse_probe_matches(answer[:cut], "127.0.0.1", PROBE_ID)
    if cut >= len(answer):
        assert [d.endpoint for d in found] == ["urn:uuid:cam"]
    else:
        assert found == [] or found[0].xaddrs == ("http://127.0.0.1:8000/onvif/device_service",)
