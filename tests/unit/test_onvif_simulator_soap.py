"""The virtual camera's SOAP helpers: digest checking against zeep's own
WS-UsernameToken, termination times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree  # type: ignore[import-untyped]
from zeep.wsse.username import UsernameToken

from cameras.simulator import onvif_soap as soap

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def signed_request(user: str, password: str, created: datetime) -> bytes:
    envelope = etree.fromstring(
        f'<s:Envelope xmlns:s="{soap.NS["s"]}"><s:Header/><s:Body>'
        f'<tds:GetDeviceInformation xmlns:tds="{soap.NS["tds"]}"/></s:Body></s:Envelope>'
    )
    token = UsernameToken(  # type: ignore[no-untyped-call]
        user, password, use_digest=True, created=created, zulu_timestamp=True
    )
    envelope, _ = token.apply(envelope, {})  # type: ignore[no-untyped-call]
    return bytes(etree.tostring(envelope))


@pytest.mark.parametrize(
    ("user", "password", "ok"),
    [("admin", "pw", True), ("admin", "wrong", False), ("root", "pw", False)],
)
def test_digest_against_zeep(user: str, password: str, ok: bool) -> None:
    request = soap.parse_envelope(signed_request(user, password, NOW))
    assert request is not None
    assert request.operation == "GetDeviceInformation"
    assert soap.parse_time(request.created) == NOW
    assert soap.digest_ok(request, "admin", "pw") is ok


def test_unsigned_and_garbage_requests() -> None:
    body = (
        f'<s:Envelope xmlns:s="{soap.NS["s"]}"><s:Body><x:GetProfiles xmlns:x="urn:x"/>'
        "</s:Body></s:Envelope>"
    ).encode()
    request = soap.parse_envelope(body)
    assert request is not None and request.operation == "GetProfiles"
    assert not soap.digest_ok(request, "admin", "pw")
    assert soap.parse_envelope(b"<nope") is None
    assert soap.parse_envelope(b"<a/>") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT60S", NOW + timedelta(seconds=60)),
        ("PT1M30S", NOW + timedelta(seconds=90)),
        ("PT1H", NOW + timedelta(hours=1)),
        ("2026-12-01T09:10:00Z", NOW + timedelta(minutes=10)),
        (None, NOW + timedelta(seconds=60)),
        ("soon", NOW + timedelta(seconds=60)),
    ],
)
def test_termination(text: str | None, expected: datetime) -> None:
    assert soap.parse_termination(text, NOW, timedelta(seconds=60)) == expected


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT5S", 5.0), ("PT0.5S", 0.5), ("P1D", 86400.0), ("x", 7.0), (None, 7.0)]
)
def test_duration(text: str | None, seconds: float) -> None:
    assert soap.parse_duration_s(text, 7.0) == seconds


def test_password_text_is_refused_even_when_right() -> None:
    """Digest only, as camera firmware: the clear-text token type never authenticates."""
    envelope = etree.fromstring(
        f'<s:Envelope xmlns:s="{soap.NS["s"]}"><s:Header/><s:Body>'
        f'<tds:GetDeviceInformation xmlns:tds="{soap.NS["tds"]}"/></s:Body></s:Envelope>'
    )
    token = UsernameToken(  # type: ignore[no-untyped-call]
        "admin", "pw", use_digest=False, created=NOW, nonce="bm9uY2Vub25jZQ=="
    )
    envelope, _ = token.apply(envelope, {})  # type: ignore[no-untyped-call]
    request = soap.parse_envelope(bytes(etree.tostring(envelope)))
    assert request is not None and request.password_type is not None
    assert request.password_type.endswith("#PasswordText")
    assert soap.digest_ok(request, "admin", "pw") is False
    digest = soap.parse_envelope(signed_request("admin", "pw", NOW))
    assert digest is not None and digest.password_type == soap.DIGEST_TYPE


MAIN = soap.VirtualProfile("main", "mainStream", "H264", 1920, 1080)


@pytest.mark.parametrize(
    ("types", "source", "encoder"),
    [
        ((), False, False),  # no Type: a bare profile, as firmware answers
        (("All",), True, True),
        (("VideoEncoder",), False, True),
        (("VideoSource",), True, False),
    ],
)
def test_media2_profiles_carry_only_the_configurations_asked(
    types: tuple[str, ...], source: bool, encoder: bool
) -> None:
    xml = soap.profile2_xml(MAIN, types)
    assert 'token="main"' in xml and "<tr2:Name>mainStream</tr2:Name>" in xml
    assert ("<tr2:VideoSource" in xml) is source
    assert ("<tr2:VideoEncoder" in xml) is encoder
    assert ("<tr2:Configurations>" in xml) is (source or encoder)


def test_unable_to_create_pull_point_fault_is_a_soap_fault_with_detail() -> None:
    body = soap.fault("Receiver", None, "no events", soap.unable_to_create_pull_point(NOW))
    root = etree.fromstring(body)
    detail = root.find(f".//{{{soap.NS['s']}}}Detail")
    assert detail is not None
    [child] = list(detail)
    assert child.tag == f"{{{soap.NS['wsnt']}}}UnableToCreatePullPointFault"


def test_header_blocks_are_read_and_reference_parameters_answered() -> None:
    from cameras.simulator import onvif_quirks as quirks

    envelope = (
        f'<s:Envelope xmlns:s="{soap.NS["s"]}"><s:Header>'
        f'<d:SubscriptionId xmlns:d="{quirks.AXIS_EVENT_NS}"> 12 </d:SubscriptionId></s:Header>'
        f'<s:Body><tev:PullMessages xmlns:tev="{soap.NS["tev"]}"/></s:Body></s:Envelope>'
    ).encode()
    req = soap.parse_envelope(envelope)
    assert req is not None and req.header(quirks.SUBSCRIPTION_ID) == "12"
    assert req.header("{urn:other}SubscriptionId") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    created = soap.subscription_created(
        "http://cam/onvif/services", now, now, quirks.reference_parameters_xml(12)
    )
    assert "<wsa:ReferenceParameters><dom0:SubscriptionId" in created and ">12<" in created


def test_analytics_configurations_only_for_the_types_asked() -> None:
    from cameras.simulator import onvif_quirks as quirks

    assert quirks.media2_extra(4, ("VideoEncoder",)) == ""
    everything = quirks.media2_extra(4, ("All",))
    assert everything.count("<tt:Rule ") == 4 and "<tr2:Metadata" in everything
    assert quirks.media2_extra(0, ("All",)) == ""
    assert quirks.media1_extra(2).count("<tt:Rule ") == 2
