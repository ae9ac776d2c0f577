"""SOAP 1.2 envelopes of the virtual ONVIF camera: request reading, response writing.

Only what ``cameras.onvif_client`` (through onvif-zeep-async) asks for:
Device, Media (ver10), Media2 (ver20) and Events (PullPoint). No I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET  # noqa: S405 -- see parse_envelope
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tns1": "http://www.onvif.org/ver10/topics",
    "ter": "http://www.onvif.org/ver10/error",
    "wsrf-rw": "http://docs.oasis-open.org/wsrf/rw-2",
    "tr2": "http://www.onvif.org/ver20/media/wsdl",
    "wsrf-bf": "http://docs.oasis-open.org/wsrf/bf-2",
}
TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"  # noqa: S105 -- a URI
DIGEST_TYPE = f"{TOKEN_PROFILE}#PasswordDigest"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
MAX_REQUEST = 256 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    operation: str
    namespace: str
    body: ET.Element
    username: str | None
    password_digest: str | None
    nonce: str | None
    created: str | None
    password_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # (Clark name, text) of the other header blocks

    def header(self, clark_name: str) -> str | None:
        """A SOAP header block's text, e.g. an echoed reference parameter."""
        return next((text for name, text in self.headers if name == clark_name), None)

    def text(self, local_name: str) -> str | None:
        for el in self.body.iter():
            if el.tag.rsplit("}", 1)[-1] == local_name:
                return (el.text or "").strip()
        return None

    def texts(self, local_name: str) -> tuple[str, ...]:
        """Every element of that name (e.g. Media2 GetProfiles' repeated ``Type``)."""
        return tuple(
            (el.text or "").strip()
            for el in self.body.iter()
            if el.tag.rsplit("}", 1)[-1] == local_name
        )


def parse_envelope(data: bytes) -> Request | None:
    """The operation (first element of the body) and the UsernameToken, or None."""
    if len(data) > MAX_REQUEST:
        return None
    try:
        # ElementTree does not resolve external entities; expat >= 2.4.1 stops
        # entity-expansion bombs; requests are bounded above.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError:
        return None
    body = root.find(f"{{{NS['s']}}}Body")
    if body is None or len(body) == 0:
        return None
    op = body[0]
    token = root.find(f"{{{NS['s']}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")

    def field(path: str) -> str | None:
        if token is None:
            return None
        el = token.find(path)
        return (el.text or "").strip() if el is not None else None

    password = token.find(f"{{{WSSE}}}Password") if token is not None else None
    header = root.find(f"{{{NS['s']}}}Header")
    blocks = [] if header is None else [el for el in header if el.tag != f"{{{WSSE}}}Security"]

    return Request(
        operation=op.tag.rsplit("}", 1)[-1],
        namespace=op.tag[1:].split("}", 1)[0] if op.tag.startswith("{") else "",
        body=op,
        username=field(f"{{{WSSE}}}Username"),
        password_digest=field(f"{{{WSSE}}}Password"),
        nonce=field(f"{{{WSSE}}}Nonce"),
        created=field(f"{{{WSU}}}Created") or field(f"{{{WSSE}}}Created"),
        password_type=password.get("Type") if password is not None else None,
        headers=tuple((el.tag, (el.text or "").strip()) for el in blocks),
    )


def digest_ok(req: Request, username: str, password: str) -> bool:
    """WS-UsernameToken PasswordDigest = Base64(SHA-1(nonce + created + password)).

    Digest only, as camera firmware is: a PasswordText token (the password in
    clear) is refused even when the password is right.
    """
    if req.username != username or not req.password_digest or not req.nonce or not req.created:
        return False
    if req.password_type not in (None, DIGEST_TYPE):
        return False
    try:
        nonce = base64.b64decode(req.nonce, validate=True)
    except ValueError:
        return False
    expected = base64.b64encode(
        hashlib.sha1(nonce + req.created.encode() + password.encode()).digest()  # noqa: S324
    ).decode()
    return hmac.compare_digest(expected, req.password_digest)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_termination(text: str | None, now: datetime, default: timedelta) -> datetime:
    """``PT60S`` (relative) or an absolute xs:dateTime; the default when absent or invalid."""
    if not text:
        return now + default
    m = _DURATION.match(text.strip())
    if m and any(m.groups()):
        d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        return now + timedelta(days=d, hours=h, minutes=mi, seconds=s)
    absolute = parse_time(text)
    return absolute if absolute is not None else now + default


def parse_duration_s(text: str | None, default: float) -> float:
    if not text:
        return default
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        return default
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def xml_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(body: str) -> bytes:
    xmlns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {xmlns}><s:Body>{body}'
        "</s:Body></s:Envelope>"
    ).encode()


def fault(code: str, subcode: str | None, reason: str, detail: str = "") -> bytes:
    """A SOAP 1.2 fault, e.g. Sender / ter:NotAuthorized; ``detail`` is XML for s:Detail."""
    sub = f"<s:Subcode><s:Value>{subcode}</s:Value></s:Subcode>" if subcode else ""
    return envelope(
        f"<s:Fault><s:Code><s:Value>s:{code}</s:Value>{sub}</s:Code>"
        f'<s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text></s:Reason>'
        f"{f'<s:Detail>{detail}</s:Detail>' if detail else ''}</s:Fault>"
    )


def unable_to_create_pull_point(now: datetime) -> str:
    """The s:Detail a camera without an event service sends to CreatePullPointSubscription."""
    return (
        f"<wsnt:UnableToCreatePullPointFault><wsrf-bf:Timestamp>{xml_time(now)}"
        "</wsrf-bf:Timestamp></wsnt:UnableToCreatePullPointFault>"
    )


def date_and_time(camera_now: datetime) -> str:
    t = camera_now.astimezone(UTC)
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>ICT-7</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
        f"<tt:Second>{t.second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{t.year}</tt:Year><tt:Month>{t.month}</tt:Month>"
        f"<tt:Day>{t.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def device_information(
    manufacturer: str, model: str, firmware: str, serial: str, hardware: str
) -> str:
    return (
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{escape(manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{escape(model)}</tds:Model>"
        f"<tds:FirmwareVersion>{escape(firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{escape(serial)}</tds:SerialNumber>"
        f"<tds:HardwareId>{escape(hardware)}</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def services(xaddrs: dict[str, str]) -> str:
    """GetServices: namespace -> XAddr."""
    items = "".join(
        f"<tds:Service><tds:Namespace>{escape(ns)}</tds:Namespace>"
        f"<tds:XAddr>{escape(addr)}</tds:XAddr>"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
        for ns, addr in xaddrs.items()
    )
    return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"


def capabilities(device: str, media: str | None, events: str | None) -> str:
    """GetCapabilities (the pre-GetServices way); services the camera lacks are left out."""
    events_xml = (
        f"<tt:Events><tt:XAddr>{escape(events)}</tt:XAddr>"
        "<tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>"
        "<tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
        "<tt:WSPausableSubscriptionManagerInterfaceSupport>false"
        "</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>"
        if events
        else ""
    )
    media_xml = (
        f"<tt:Media><tt:XAddr>{escape(media)}</tt:XAddr><tt:StreamingCapabilities>"
        "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
        "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
        if media
        else ""
    )
    return (
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{escape(device)}</tt:XAddr></tt:Device>{events_xml}{media_xml}"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


@dataclass(frozen=True, slots=True)
class VirtualProfile:
    token: str
    name: str
    encoding: str
    width: int
    height: int
    fps: int = 25
    bitrate_kbps: int = 2048


def profile_xml(p: VirtualProfile, tag: str = "trt:Profiles", extra: str = "") -> str:
    """A Media (ver10) profile; ``extra``: configurations after the encoder (analytics...)."""
    codec = (
        "<tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>"
        if p.encoding == "H264"
        else ""
    )
    return (
        f'<{tag} token={quoteattr(p.token)} fixed="true"><tt:Name>{escape(p.name)}</tt:Name>'
        '<tt:VideoSourceConfiguration token="vsc1"><tt:Name>IR sensor</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:SourceToken>vs1</tt:SourceToken>"
        '<tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>'
        f"<tt:VideoEncoderConfiguration token={quoteattr('vec-' + p.token)}>"
        f"<tt:Name>{escape(p.name)}</tt:Name><tt:UseCount>1</tt:UseCount>"
        f"<tt:Encoding>{escape(p.encoding)}</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{p.width}</tt:Width><tt:Height>{p.height}</tt:Height>"
        "</tt:Resolution><tt:Quality>5</tt:Quality>"
        f"<tt:RateControl><tt:FrameRateLimit>{p.fps}</tt:FrameRateLimit>"
        "<tt:EncodingInterval>1</tt:EncodingInterval>"
        f"<tt:BitrateLimit>{p.bitrate_kbps}</tt:BitrateLimit></tt:RateControl>{codec}"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
        "</tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
        f"</tt:VideoEncoderConfiguration>{extra}</{tag}>"
    )


MEDIA2_TYPES = ("VideoSource", "VideoEncoder")  # the configuration types the camera has


def profile2_xml(p: VirtualProfile, types: tuple[str, ...] = ("All",), extra: str = "") -> str:
    """A Media2 profile: tr2:Configurations with the configuration ``types`` asked.

    ONVIF Media2 GetProfiles returns a profile's configurations only for the
    types in the request (``All``: every type); without ``Type`` a profile is
    its token and name, bare, as camera firmware answers.
    """
    wanted = set(MEDIA2_TYPES) if "All" in types else set(types)
    source = (
        '<tr2:VideoSource token="vsc1"><tt:Name>IR sensor'
        "</tt:Name><tt:UseCount>2</tt:UseCount><tt:SourceToken>vs1</tt:SourceToken>"
        '<tt:Bounds x="0" y="0" width="1920" height="1080"/></tr2:VideoSource>'
        if "VideoSource" in wanted
        else ""
    )
    encoder = _encoder2_xml(p) if "VideoEncoder" in wanted else ""
    configurations = f"<tr2:Configurations>{source}{encoder}{extra}</tr2:Configurations>"
    return (
        f'<tr2:Profiles token={quoteattr(p.token)} fixed="true"><tr2:Name>{escape(p.name)}'
        f"</tr2:Name>{configurations if wanted else ''}</tr2:Profiles>"
    )


def _encoder2_xml(p: VirtualProfile) -> str:
    return (
        f'<tr2:VideoEncoder token={quoteattr("vec-" + p.token)} GovLength="50"'
        f' Profile="Main"><tt:Name>{escape(p.name)}</tt:Name><tt:UseCount>1</tt:UseCount>'
        f"<tt:Encoding>{escape(p.encoding)}</tt:Encoding><tt:Resolution><tt:Width>{p.width}"
        f"</tt:Width><tt:Height>{p.height}</tt:Height></tt:Resolution>"
        f'<tt:RateControl ConstantBitRate="false"><tt:FrameRateLimit>{p.fps}'
        f"</tt:FrameRateLimit><tt:BitrateLimit>{p.bitrate_kbps}</tt:BitrateLimit>"
        "</tt:RateControl><tt:Quality>5</tt:Quality></tr2:VideoEncoder>"
    )


def profiles2(
    items: tuple[VirtualProfile, ...], types: tuple[str, ...] = ("All",), extra: str = ""
) -> str:
    body = "".join(profile2_xml(p, types, extra) for p in items)
    return f"<tr2:GetProfilesResponse>{body}</tr2:GetProfilesResponse>"


def media2_uri(operation: str, uri: str) -> str:
    return f"<tr2:{operation}Response><tr2:Uri>{escape(uri)}</tr2:Uri></tr2:{operation}Response>"


def profiles(items: tuple[VirtualProfile, ...], extra: str = "") -> str:
    body = "".join(profile_xml(p, extra=extra) for p in items)
    return f"<trt:GetProfilesResponse>{body}</trt:GetProfilesResponse>"


def media_uri(operation: str, uri: str) -> str:
    return (
        f"<trt:{operation}Response><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{operation}Response>"
    )


def subscription_created(
    address: str, now: datetime, until: datetime, reference_parameters: str = ""
) -> str:
    return (
        "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
        f"<wsa:Address>{escape(address)}</wsa:Address>{reference_parameters}"
        "</tev:SubscriptionReference>"
        f"<wsnt:CurrentTime>{xml_time(now)}</wsnt:CurrentTime>"
        f"<wsnt:TerminationTime>{xml_time(until)}</wsnt:TerminationTime>"
        "</tev:CreatePullPointSubscriptionResponse>"
    )


def renewed(now: datetime, until: datetime) -> str:
    return (
        f"<wsnt:RenewResponse><wsnt:TerminationTime>{xml_time(until)}</wsnt:TerminationTime>"
        f"<wsnt:CurrentTime>{xml_time(now)}</wsnt:CurrentTime></wsnt:RenewResponse>"
    )


@dataclass(frozen=True, slots=True)
class EventMessage:
    topic: str  # with the tns1: prefix
    utc_time: datetime
    operation: str  # Initialized | Changed | Deleted
    source: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


def notification(m: EventMessage) -> str:
    def items(pairs: tuple[tuple[str, str], ...]) -> str:
        return "".join(
            f"<tt:SimpleItem Name={quoteattr(k)} Value={quoteattr(v)}/>" for k, v in pairs
        )

    return (
        "<wsnt:NotificationMessage><wsnt:Topic"
        ' Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
        f"{escape(m.topic)}</wsnt:Topic><wsnt:Message>"
        f'<tt:Message UtcTime="{xml_time(m.utc_time)}" PropertyOperation="{m.operation}">'
        f"<tt:Source>{items(m.source)}</tt:Source><tt:Data>{items(m.data)}</tt:Data>"
        "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
    )


def pulled(now: datetime, until: datetime, messages: list[EventMessage]) -> str:
    return (
        f"<tev:PullMessagesResponse><tev:CurrentTime>{xml_time(now)}</tev:CurrentTime>"
        f"<tev:TerminationTime>{xml_time(until)}</tev:TerminationTime>"
        f"{''.join(notification(m) for m in messages)}</tev:PullMessagesResponse>"
    )
