"""What floorwatch knows about an ONVIF camera, as frozen values.

The ONVIF adapter (``cameras.onvif_client``) turns zeep objects into these at
its edge; nothing else in floorwatch sees a zeep object. Pure module: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class CameraErrorReason(StrEnum):
    """Why talking to a camera failed, in terms a person can act on."""

    UNREACHABLE = "unreachable"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 -- a reason, not a secret
    CLOCK_SKEW = "clock_skew"
    NO_H264_PROFILE = "no_h264_profile"
    NO_MATCHING_PROFILE = "no_matching_profile"
    NOT_SUPPORTED = "not_supported"
    SUBSCRIPTION_REFUSED = "subscription_refused"
    NO_EVENTS = "no_events"
    SUBSCRIPTION_LOST = "subscription_lost"
    PROTOCOL = "protocol"


ADVICE: dict[CameraErrorReason, str] = {
    CameraErrorReason.UNREACHABLE: "check the host, the port and the network path to the camera",
    CameraErrorReason.WRONG_PASSWORD: "check onvif.username and onvif.password"
    " (the camera refused the credentials)",
    CameraErrorReason.CLOCK_SKEW: "the camera clock differs from ours; enable NTP on the camera"
    " or set onvif.adjust_clock: true",
    CameraErrorReason.NO_H264_PROFILE: "the camera lists no H.264 video profile: add one in"
    " the camera's web page (Video / Encoding), or allow other codecs with"
    " onvif.profile.encoding: any, or set the camera's stream_uri in the site file",
    CameraErrorReason.NO_MATCHING_PROFILE: "no media profile matches onvif.profile;"
    " relax the preference or check the token",
    CameraErrorReason.NOT_SUPPORTED: "the camera does not offer this ONVIF service",
    CameraErrorReason.SUBSCRIPTION_REFUSED: "the camera refused an event subscription;"
    " most cameras take only one or a few, so another client (an NVR or a second gateway)"
    " may hold it; floorwatch retries once that one expires",
    CameraErrorReason.NO_EVENTS: "the camera offers no ONVIF events (no PullPoint service);"
    " counting does not need them, only motion, tamper and on-camera counts do;"
    " floorwatch asks again once an hour",
    CameraErrorReason.SUBSCRIPTION_LOST: "the event subscription ended (camera reboot?);"
    " floorwatch resubscribes",
    CameraErrorReason.PROTOCOL: "the camera answered something unexpected; see detail",
}


class CameraError(Exception):
    """The one exception of the ONVIF adapter: a reason, its advice, a detail."""

    def __init__(self, reason: CameraErrorReason, detail: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return self.message

    @property
    def advice(self) -> str:
        return ADVICE[self.reason]

    @property
    def message(self) -> str:
        text = f"{self.reason.value}: {self.advice}"
        return f"{text} ({self.detail})" if self.detail else text


class Encoding(StrEnum):
    H264 = "H264"
    H265 = "H265"
    JPEG = "JPEG"
    MPEG4 = "MPEG4"
    OTHER = "OTHER"

    @classmethod
    def parse(cls, value: str | None) -> Encoding:
        text = (value or "").upper().replace(".", "").replace("-", "")
        aliases = {"HEVC": "H265", "MJPEG": "JPEG", "AVC": "H264"}
        text = aliases.get(text, text)
        try:
            return cls(text)
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str


@dataclass(frozen=True, slots=True)
class MediaProfile:
    """One media profile: a video encoder configuration with a token."""

    token: str
    name: str
    encoding: Encoding
    width: int
    height: int
    fps: float | None = None
    bitrate_kbps: int | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def describe(self) -> str:
        fps = f"@{self.fps:g}" if self.fps else ""
        return f"{self.token} {self.encoding.value} {self.width}x{self.height}{fps}"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """An ONVIF service the camera offers (GetServices / GetCapabilities)."""

    name: str
    namespace: str
    xaddr: str


@dataclass(frozen=True, slots=True)
class CameraSummary:
    """Everything ``floorwatch cameras check`` reports about a camera but the stream."""

    camera_id: str
    device: DeviceInfo
    clock_offset: timedelta
    services: tuple[ServiceInfo, ...]
    profiles: tuple[MediaProfile, ...]
    chosen: MediaProfile | None
    stream_uri: str | None
    snapshot_uri: str | None
    problems: tuple[str, ...] = field(default_factory=tuple)
    media_version: int = 1  # 2: profiles and URIs came from Media2
    media_note: str = ""  # which media service answered, and why that one


@dataclass(frozen=True, slots=True)
class StreamChoice:
    """What capture needs from ONVIF: the chosen profile and its URIs (no credentials)."""

    profile: MediaProfile | None  # None when the site file overrides the stream URI
    stream_uri: str
    snapshot_uri: str | None


@dataclass(frozen=True, slots=True)
class SimpleItem:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Notification:
    """One ONVIF event notification, library-neutral.

    ``topic`` is the topic expression with namespace prefixes removed
    (``RuleEngine/CellMotionDetector/Motion``); ``utc_time`` is the camera's
    own clock (not corrected); ``operation`` is Initialized / Changed /
    Deleted or None.
    """

    topic: str
    utc_time: datetime | None
    operation: str | None
    source: tuple[SimpleItem, ...] = ()
    data: tuple[SimpleItem, ...] = ()

    def source_value(self, name: str) -> str | None:
        return _find(self.source, name)

    def data_value(self, name: str) -> str | None:
        return _find(self.data, name)


def _find(items: tuple[SimpleItem, ...], name: str) -> str | None:
    for item in items:
        if item.name == name:
            return item.value
    return None


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One answer to a WS-Discovery probe."""

    endpoint: str
    xaddrs: tuple[str, ...]
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    name: str | None
    hardware: str | None
    location: str | None
    profiles: tuple[str, ...]
    sender: str


def choose_profile(
    profiles: tuple[MediaProfile, ...],
    *,
    encoding: str = "H264",
    width: int = 640,
    height: int = 480,
    min_fps: float = 0,
    token: str | None = None,
) -> MediaProfile:
    """The profile to stream: pinned token, else by encoding and resolution.

    Among profiles of the wanted encoding (and at least ``min_fps`` where the
    camera states a frame-rate limit), the smallest one covering the target
    resolution wins (less to decode); when none covers it, the largest. With
    ``encoding="any"`` H.264 is still preferred, then H.265, then JPEG.
    Raises CameraError(NO_H264_PROFILE / NO_MATCHING_PROFILE).
    """
    if token is not None:
        for p in profiles:
            if p.token == token:
                return p
        known = ", ".join(p.token for p in profiles) or "none"
        raise CameraError(
            CameraErrorReason.NO_MATCHING_PROFILE, f"no profile {token!r} (camera has: {known})"
        )
    usable = [p for p in profiles if p.fps is None or p.fps >= min_fps]
    if encoding == "any":
        order = (Encoding.H264, Encoding.H265, Encoding.JPEG, Encoding.MPEG4)
        for enc in order:
            candidates = [p for p in usable if p.encoding is enc]
            if candidates:
                return _by_resolution(candidates, width, height)
    else:
        candidates = [p for p in usable if p.encoding is Encoding.parse(encoding)]
        if candidates:
            return _by_resolution(candidates, width, height)
    seen = ", ".join(p.describe() for p in profiles) or "no profiles"
    reason = (
        CameraErrorReason.NO_H264_PROFILE
        if encoding in ("H264", "any")
        else CameraErrorReason.NO_MATCHING_PROFILE
    )
    return _raise(reason, f"wanted {encoding}, min {min_fps:g} fps; camera has: {seen}")


def _by_resolution(candidates: list[MediaProfile], width: int, height: int) -> MediaProfile:
    covering = [p for p in candidates if p.width >= width and p.height >= height]
    if covering:
        return min(covering, key=lambda p: (p.pixels, p.token))
    return max(candidates, key=lambda p: (p.pixels, p.token))


def _raise(reason: CameraErrorReason, detail: str) -> MediaProfile:
    raise CameraError(reason, detail)
