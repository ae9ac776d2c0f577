"""WS-Discovery (2005/04, as ONVIF uses it): Probe and ProbeMatches as bytes. Pure module.

The socket side is ``cameras.discovery`` (client) and the simulator's
responder. ONVIF scopes carry the device's name, hardware and location:
``onvif://www.onvif.org/name/Lobby%20IR``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 -- parses only; see _parse
from urllib.parse import unquote
from xml.sax.saxutils import escape

from cameras.onvif_models import DiscoveredDevice

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
PROBE_ACTION = f"{WSD}/Probe"
MATCHES_ACTION = f"{WSD}/ProbeMatches"
ONVIF_SCOPE = "onvif://www.onvif.org/"
MAX_DATAGRAM = 65507


def build_probe(message_id: str, types: str = "dn:NetworkVideoTransmitter") -> bytes:
    """A Probe for ONVIF video transmitters; ``message_id`` like ``urn:uuid:...``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}">'
        "<s:Header>"
        f"<a:Action>{PROBE_ACTION}</a:Action>"
        f"<a:MessageID>{escape(message_id)}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
        "</s:Header>"
        f"<s:Body><d:Probe><d:Types>{escape(types)}</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


def build_probe_matches(
    *,
    message_id: str,
    relates_to: str,
    endpoint: str,
    xaddrs: tuple[str, ...],
    scopes: tuple[str, ...],
) -> bytes:
    """The answer of a device (the simulator's responder uses it)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:d="{WSD}"'
        f' xmlns:dn="{DN}" xmlns:tds="{TDS}">'
        "<s:Header>"
        f"<a:Action>{MATCHES_ACTION}</a:Action>"
        f"<a:MessageID>{escape(message_id)}</a:MessageID>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        "</s:Header>"
        "<s:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<a:EndpointReference><a:Address>{escape(endpoint)}</a:Address></a:EndpointReference>"
        "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        f"<d:Scopes>{escape(' '.join(scopes))}</d:Scopes>"
        f"<d:XAddrs>{escape(' '.join(xaddrs))}</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


def _parse(data: bytes) -> ET.Element | None:
    # ElementTree does not fetch external entities; expat (>= 2.4.1, as in
    # Python 3.11) refuses entity-expansion bombs. Datagrams are bounded.
    if len(data) > MAX_DATAGRAM:
        return None
    try:
        return ET.fromstring(data)  # noqa: S314
    except ET.ParseError:
        return None


def parse_probe(data: bytes) -> str | None:
    """The MessageID of a Probe for video transmitters (or for anything), else None."""
    root = _parse(data)
    if root is None or root.find(f"{{{SOAP}}}Body/{{{WSD}}}Probe") is None:
        return None
    return _text(root.find(f"{{{SOAP}}}Header/{{{WSA}}}MessageID")) or ""


def parse_probe_matches(
    data: bytes, sender: str, relates_to: str | None = None
) -> list[DiscoveredDevice]:
    """Every ProbeMatch of a datagram; empty for other messages or other probes."""
    root = _parse(data)
    if root is None:
        return []
    if relates_to is not None:
        related = _text(root.find(f"{{{SOAP}}}Header/{{{WSA}}}RelatesTo"))
        if related and related != relates_to:
            return []
    found: list[DiscoveredDevice] = []
    for match in root.iterfind(f"{{{SOAP}}}Body/{{{WSD}}}ProbeMatches/{{{WSD}}}ProbeMatch"):
        endpoint = _text(match.find(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address"))
        scopes = tuple(_text(match.find(f"{{{WSD}}}Scopes")).split())
        found.append(
            DiscoveredDevice(
                endpoint=endpoint,
                xaddrs=tuple(_text(match.find(f"{{{WSD}}}XAddrs")).split()),
                types=tuple(_text(match.find(f"{{{WSD}}}Types")).split()),
                scopes=scopes,
                name=scope_value(scopes, "name"),
                hardware=scope_value(scopes, "hardware"),
                location=scope_value(scopes, "location"),
                profiles=tuple(scope_values(scopes, "Profile")),
                sender=sender,
            )
        )
    return found


def scope_values(scopes: tuple[str, ...], key: str) -> list[str]:
    """Values of ``onvif://www.onvif.org/<key>/<value>`` scopes, percent-decoded."""
    prefix = f"{ONVIF_SCOPE}{key}/"
    return [unquote(s[len(prefix) :]) for s in scopes if s.startswith(prefix)]


def scope_value(scopes: tuple[str, ...], key: str) -> str | None:
    values = scope_values(scopes, key)
    return " ".join(values) if values else None


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""
