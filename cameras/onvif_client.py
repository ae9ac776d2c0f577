"""The ONVIF adapter: the only module that imports onvif (onvif-zeep-async) or zeep.

onvif-zeep-async is asyncio-native (aiohttp transport; WSDL parsing runs in
an executor), so nothing here blocks the event loop. Library objects become
our frozen dataclasses (``cameras.onvif_models``) at this edge, and every
library exception becomes one ``CameraError`` with a reason a person can act
on (unreachable, wrong password, clock skew, no H.264 profile, ...).

Authentication is WS-UsernameToken with PasswordDigest. ONVIF cameras check
the token's ``Created`` time against their own clock, so with
``adjust_clock`` the library first reads GetSystemDateAndTime (allowed
without credentials) and signs every request on the camera's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import aiohttp
import structlog
import zeep.exceptions
from onvif import ONVIFCamera, ONVIFError, ONVIFService
from onvif.definition import SERVICES
from onvif.transport import ASYNC_TRANSPORT
from onvif.util import (
    extract_subcodes_as_strings,
    is_auth_error,
    normalize_url,
    path_isfile,
)

from cameras.onvif_messages import (
    profiles_from_media1,
    profiles_from_media2,
    reference_parameters,
)
from cameras.onvif_models import (
    CameraError,
    CameraErrorReason,
    DeviceInfo,
    MediaProfile,
    ServiceInfo,
)
from cameras.onvif_pullpoint import PullPointSubscription, granted_time
from gateway.logs import scrub_text
from gateway.settings import OnvifEndpoint

log = structlog.get_logger("floorwatch.cameras.onvif")


def _undo_library_side_effects() -> None:
    """onvif.client calls ``logging.basicConfig(level=INFO)`` on import, and zeep's
    module-level transport closes a requests session at interpreter exit (printing
    "Exception ignored" noise). Logging belongs to the composition root: take back
    the root handler it added; close the unused session now."""
    root = logging.getLogger()
    added = [
        h
        for h in root.handlers
        if type(h) is logging.StreamHandler
        and h.formatter is not None
        and h.formatter._fmt == logging.BASIC_FORMAT
    ]
    if added and len(added) == len(root.handlers) and root.level == logging.INFO:
        root.handlers[:] = []
        root.setLevel(logging.WARNING)
    logging.getLogger("onvif").setLevel(logging.WARNING)  # its debug lines carry URLs
    ASYNC_TRANSPORT.session.close()  # loads local WSDL files only; never used for HTTP
    ASYNC_TRANSPORT._close_session = False


_undo_library_side_effects()

T = TypeVar("T")
Clock = Callable[[], datetime]
PULLPOINT_NS = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"
MEDIA2_NS = "http://www.onvif.org/ver20/media/wsdl"
MEDIA1_NS = "http://www.onvif.org/ver10/media/wsdl"
EVENTS_NS = "http://www.onvif.org/ver10/events/wsdl"
NO_PULLPOINT = "UnableToCreatePullPoint"  # the fault of a camera without an event service
MEDIA2_WSDL = str(Path(__file__).with_name("wsdl") / "media2.wsdl")
_NETWORK = (aiohttp.ClientError, TimeoutError, OSError, zeep.exceptions.TransportError)
_BAD_ANSWER = (
    zeep.exceptions.XMLParseError,
    zeep.exceptions.XMLSyntaxError,
    zeep.exceptions.ValidationError,
    AttributeError,
    KeyError,
    TypeError,
    ValueError,
)
_NAMES: dict[str, str] = {}
for _name, _spec in SERVICES.items():
    _NAMES.setdefault(_spec["ns"], _name)
_NAMES[MEDIA2_NS] = "media2"


def utc_now() -> datetime:
    return datetime.now(UTC)


class OnvifClient:
    """One camera's ONVIF control channel. ``async with OnvifClient(...) as c: await c.connect()``."""

    def __init__(self, camera_id: str, endpoint: OnvifEndpoint, *, clock: Clock = utc_now) -> None:
        self.camera_id = camera_id
        self.endpoint = endpoint
        self._clock = clock
        self._camera: ONVIFCamera | None = None
        self.clock_offset = timedelta(0)
        self.absolute_times = False  # set for cameras that misread relative durations
        self.media_version = 1  # 2 once Media2 answered GetProfiles
        self.media_note = ""  # why that media service (for `cameras check` and the log)
        self._media2: ONVIFService | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        media2, self._media2 = self._media2, None
        if media2 is not None:
            with contextlib.suppress(*_NETWORK, ONVIFError, RuntimeError):
                await media2.close()
        camera, self._camera = self._camera, None
        if camera is not None:
            with contextlib.suppress(*_NETWORK, ONVIFError, RuntimeError):
                await camera.close()

    # ------------------------------------------------------------------ calls

    async def _call(
        self, what: str, call: Callable[[], Awaitable[T]], limit_s: float | None = None
    ) -> T:
        """Run one library call with a timeout; translate its failures."""
        try:
            async with asyncio.timeout(limit_s or self.endpoint.timeout_s):
                return await call()
        except CameraError:
            raise
        except zeep.exceptions.Fault as exc:
            if is_auth_error(exc):
                raise await self._auth_failure(what) from exc
            raise CameraError(CameraErrorReason.PROTOCOL, f"{what}: {_fault_text(exc)}") from exc
        except zeep.exceptions.TransportError as exc:
            if exc.status_code in (401, 403):  # refused at the HTTP level, no SOAP fault
                failure = await self._auth_failure(what)
                failure.detail += f" (HTTP {exc.status_code})"
                raise failure from exc
            raise CameraError(
                CameraErrorReason.UNREACHABLE, f"{what}: {self._where()}: HTTP {exc.status_code}"
            ) from exc
        except _NETWORK as exc:
            raise CameraError(
                CameraErrorReason.UNREACHABLE, f"{what}: {self._where()}: {_describe(exc)}"
            ) from exc
        except ONVIFError as exc:
            cause = exc.__cause__
            if isinstance(cause, _NETWORK):
                raise CameraError(
                    CameraErrorReason.UNREACHABLE, f"{what}: {self._where()}: {_describe(cause)}"
                ) from exc
            raise CameraError(
                CameraErrorReason.PROTOCOL, f"{what}: {scrub_text(str(exc))}"
            ) from exc
        except _BAD_ANSWER as exc:
            raise CameraError(CameraErrorReason.PROTOCOL, f"{what}: {_describe(exc)}") from exc

    async def _auth_failure(self, what: str) -> CameraError:
        """Wrong password, or a clock too far off when we do not adjust for it."""
        if not self.endpoint.adjust_clock:
            with contextlib.suppress(CameraError):
                offset = await self._measure_offset()
                if abs(offset.total_seconds()) > self.endpoint.max_clock_skew_s:
                    return CameraError(
                        CameraErrorReason.CLOCK_SKEW,
                        f"{what}: refused; camera clock is {_signed(offset)} off ours",
                    )
        return CameraError(
            CameraErrorReason.WRONG_PASSWORD, f"{what}: user {self.endpoint.username!r} refused"
        )

    def _where(self) -> str:
        return f"{self.endpoint.host}:{self.endpoint.port}"

    def _device(self) -> ONVIFCamera:
        if self._camera is None:
            raise RuntimeError("call connect() first")
        return self._camera

    # ------------------------------------------------------------------ device

    async def connect(self) -> DeviceInfo:
        """Clock handshake, service addresses (GetServices, else GetCapabilities), identity."""
        ep = self.endpoint
        password = ep.password.get_secret_value() if ep.password else None
        await self.close()
        self._camera = ONVIFCamera(
            ep.host, ep.port, ep.username, password, no_cache=True, adjust_time=ep.adjust_clock
        )
        cam = self._camera
        await self._call("GetServices", cam.update_xaddrs)
        if ep.adjust_clock and cam.dt_diff is not None:
            self.clock_offset = cam.dt_diff
        else:
            self.clock_offset = await self._measure_offset()
        devicemgmt = await self._call("device service", cam.create_devicemgmt_service)
        info = await self._call("GetDeviceInformation", devicemgmt.GetDeviceInformation)
        device = DeviceInfo(
            manufacturer=str(info.Manufacturer or ""),
            model=str(info.Model or ""),
            firmware=str(info.FirmwareVersion or ""),
            serial=str(info.SerialNumber or ""),
            hardware_id=str(info.HardwareId or ""),
        )
        skew = abs(self.clock_offset.total_seconds())
        if skew > ep.max_clock_skew_s:
            log.warning(
                "camera.clock_skew",
                camera=self.camera_id,
                offset_s=round(self.clock_offset.total_seconds(), 1),
                adjusted=ep.adjust_clock,
            )
        log.info("camera.connected", camera=self.camera_id, model=device.model)
        return device

    async def _measure_offset(self) -> timedelta:
        """Camera clock minus ours, from GetSystemDateAndTime (sent without credentials)."""
        cam = self._device()
        devicemgmt = await self._call("device service", cam.create_devicemgmt_service)
        before = self._clock()
        answer = await self._call("GetSystemDateAndTime", devicemgmt.authless_GetSystemDateAndTime)
        after = self._clock()
        u = answer.UTCDateTime
        camera = datetime(
            u.Date.Year,
            u.Date.Month,
            u.Date.Day,
            u.Time.Hour,
            u.Time.Minute,
            u.Time.Second,
            tzinfo=UTC,
        )
        return camera - (before + (after - before) / 2)

    def services(self) -> tuple[ServiceInfo, ...]:
        cam = self._device()
        return tuple(
            ServiceInfo(_NAMES.get(ns, ns.rsplit("/", 2)[-2]), ns, str(addr))
            for ns, addr in sorted(cam.xaddrs.items())
            if addr and ns != PULLPOINT_NS
        )

    # ------------------------------------------------------------------ media

    async def profiles(self) -> tuple[MediaProfile, ...]:
        """Video profiles: from Media2 where the camera offers it (H.265 shows only
        there), else from Media (ver10). ``media_version`` says which one answered.

        Media2 ``GetProfiles`` is asked with ``Type=VideoEncoder``: firmware
        returns a profile's configurations only for the types asked (a bare
        profile has no encoder to choose by), and ``All`` also brings every
        analytics and metadata configuration, hundreds of KB on a multi-channel
        camera with rules set (onvif/specs#225). When that yields no usable
        profile, ``All`` is asked once. Media (ver10) is asked whenever Media2
        is absent, fails, or lists no profile with a video encoder.
        """
        cam = self._device()
        why = "the camera has no Media2 service"
        if MEDIA2_NS in cam.xaddrs:
            try:
                media2 = await self._media2_service()
                for types in (["VideoEncoder"], ["All"]):
                    ask = functools.partial(media2.GetProfiles, {"Type": types})
                    answer = await self._call("Media2 GetProfiles", ask)
                    found = profiles_from_media2(answer)
                    if found:
                        break
            except CameraError as exc:
                if exc.reason is not CameraErrorReason.PROTOCOL:
                    raise
                why = f"Media2 failed: {exc.detail}"
            else:
                if found or MEDIA1_NS not in cam.xaddrs:
                    self._media_choice(2, "Media2 (ver20)" if found else "Media2: no video profile")
                    return found
                listed = len(answer or [])
                why = f"Media2 listed {listed} profile(s), none with a video encoder"
        if MEDIA1_NS not in cam.xaddrs and MEDIA2_NS in cam.xaddrs:
            raise CameraError(CameraErrorReason.PROTOCOL, f"Media2 GetProfiles: {why}")
        media = await self._call("media service", cam.create_media_service)
        answer = await self._call("GetProfiles", media.GetProfiles)
        self._media_choice(1, f"Media (ver10): {why}")
        return profiles_from_media1(answer)

    def _media_choice(self, version: int, note: str) -> None:
        self.media_version = version
        self.media_note = note
        log.info("camera.media_service", camera=self.camera_id, version=version, why=note)

    async def _media2_service(self) -> ONVIFService:
        """The library has no Media2 WSDL: ours (cameras/wsdl/media2.wsdl), same transport."""
        if self._media2 is None:
            cam = self._device()
            await asyncio.to_thread(path_isfile, MEDIA2_WSDL)  # warm the library's stat cache
            service = ONVIFService(
                cam.xaddrs[MEDIA2_NS],
                cam.user,
                cam.passwd,
                MEDIA2_WSDL,
                no_cache=True,
                dt_diff=cam.dt_diff,
                binding_name=f"{{{MEDIA2_NS}}}Media2Binding",
            )
            self._media2 = service
            await self._call("Media2 service", service.setup)
        return self._media2

    async def stream_uri(self, profile_token: str, protocol: str = "RTSP") -> str:
        if self.media_version == 2:
            media2 = await self._media2_service()
            request2 = {"Protocol": protocol, "ProfileToken": profile_token}
            answer = await self._call("GetStreamUri", lambda: media2.GetStreamUri(request2))
            uri = str(normalize_url(str(getattr(answer, "Uri", answer))) or "")
        else:
            media = await self._call("media service", self._device().create_media_service)
            request = {
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": protocol}},
                "ProfileToken": profile_token,
            }
            answer = await self._call("GetStreamUri", lambda: media.GetStreamUri(request))
            uri = str(normalize_url(str(answer.Uri)) or "")
        if not uri:
            raise CameraError(CameraErrorReason.PROTOCOL, "GetStreamUri: empty URI")
        return uri

    async def snapshot_uri(self, profile_token: str) -> str | None:
        if self.media_version == 2:
            media2 = await self._media2_service()
            request = {"ProfileToken": profile_token}
            try:
                answer = await self._call("GetSnapshotUri", lambda: media2.GetSnapshotUri(request))
            except CameraError as exc:
                if exc.reason is CameraErrorReason.PROTOCOL:
                    return None  # no snapshots on this camera
                raise
            return str(normalize_url(str(getattr(answer, "Uri", answer))) or "") or None
        cam = self._device()
        uri = await self._call("GetSnapshotUri", lambda: cam.get_snapshot_uri(profile_token))
        return str(uri) if uri else None

    # ------------------------------------------------------------------ events

    def termination(self, seconds: float) -> str:
        """A termination time: ``PT60S``, or absolute on the camera's clock when needed."""
        if not self.absolute_times:
            return f"PT{int(seconds)}S"
        until = self._clock() + self.clock_offset + timedelta(seconds=seconds)
        return until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def subscribe(self, termination_s: float) -> PullPointSubscription:
        """CreatePullPointSubscription; raises SUBSCRIPTION_REFUSED when the camera says no."""
        cam = self._device()
        if EVENTS_NS not in cam.xaddrs:
            raise CameraError(CameraErrorReason.NO_EVENTS, "the camera lists no event service")
        events = await self._call("events service", cam.create_events_service)
        request = {"InitialTerminationTime": self.termination(termination_s)}
        try:
            answer = await self._call(
                "CreatePullPointSubscription", lambda: events.CreatePullPointSubscription(request)
            )
        except CameraError as exc:
            if exc.reason is not CameraErrorReason.PROTOCOL:
                raise
            if NO_PULLPOINT in exc.detail:
                raise CameraError(CameraErrorReason.NO_EVENTS, exc.detail) from exc
            raise CameraError(CameraErrorReason.SUBSCRIPTION_REFUSED, exc.detail) from exc
        address = normalize_url(answer.SubscriptionReference.Address._value_1)
        cam.xaddrs[PULLPOINT_NS] = address
        manager = await self._call(
            "subscription service", lambda: cam.create_subscription_service("PullPointSubscription")
        )
        pullpoint = await self._call("pullpoint service", cam.create_pullpoint_service)
        # The subscription's ReferenceParameters go back as SOAP headers on every call
        # (WS-Addressing SOAP binding 3.4): Axis names the subscription that way and
        # refuses calls without it. onvif-zeep-async 4.3.0 drops them; we set them.
        echoed = reference_parameters(answer.SubscriptionReference)
        for service in (manager, pullpoint):
            service.zeep_client.set_default_soapheaders(echoed)
        sub = PullPointSubscription(self, manager, pullpoint, str(address))
        sub.granted = granted_time(answer)
        if not self.absolute_times and _broken(sub.granted, termination_s):
            # Some firmwares misread relative times (PT60S) and grant ~nothing:
            # from now on ask for absolute times on the camera's clock.
            self.absolute_times = True
            log.info("camera.absolute_termination_times", camera=self.camera_id)
            await sub.renew(termination_s)
        log.info(
            "camera.subscribed",
            camera=self.camera_id,
            granted_s=_seconds(sub.granted),
            reference_parameters=len(echoed),
        )
        return sub


def _broken(granted: timedelta | None, requested_s: float) -> bool:
    """A camera that granted less than half of a relative request misread it."""
    return granted is not None and granted.total_seconds() < requested_s / 2


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _signed(offset: timedelta) -> str:
    seconds = offset.total_seconds()
    return f"{'+' if seconds >= 0 else '-'}{abs(seconds):.0f} s"


def _fault_text(exc: zeep.exceptions.Fault) -> str:
    """A SOAP fault in words: its reason, subcodes and the names in its detail.

    Never the library's ``str(detail)``, which is an lxml repr
    (``<Element {...}Detail at 0x...>``) for most faults.
    """
    parts = [str(exc.message or "").strip() or "SOAP fault"]
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        if exc.subcodes is not None:
            parts.append("subcode " + ", ".join(extract_subcodes_as_strings(exc.subcodes)))
    named = _detail_names(exc.detail)
    if named:
        parts.append("detail " + ", ".join(named))
    return scrub_text("; ".join(parts))


def _detail_names(detail: object) -> list[str]:
    """The local names of a fault detail's elements (e.g. UnableToCreatePullPointFault)."""
    if detail is None:
        return []
    if isinstance(detail, bytes):
        return [detail.decode("utf-8", "replace")[:200]]
    if isinstance(detail, str):
        return [detail[:200]]
    children = getattr(detail, "iterchildren", None)
    if children is None:
        return []
    names = []
    for child in children():
        tag = str(getattr(child, "tag", ""))
        if tag and not tag.startswith("<"):
            names.append(tag.rsplit("}", 1)[-1])
    return names


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return scrub_text(f"{type(exc).__name__}: {text}" if str(exc) else text)
