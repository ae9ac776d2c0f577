"""floorwatch against the virtual camera in its strict modes: what camera firmware does
that a lenient simulator would hide (docs/cameras.md, "What real cameras do").

Each test names the mode; the client is the real library (onvif-zeep-async) over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from datetime import UTC, datetime

import aiohttp
import pytest
import structlog

from cameras.onvif_client import OnvifClient
from cameras.onvif_messages import profiles_from_media2
from cameras.onvif_models import CameraError, CameraErrorReason, Encoding
from cameras.onvif_source import OnvifEventSource, resolve_stream
from cameras.simulator import onvif_soap as soap
from cameras.simulator.onvif_soap import VirtualProfile
from gateway.observations import DeviceHealth, Observation
from tests.integration.onvif_support import PASSWORD, camera, endpoint, run, until, virtual_camera

pytestmark = pytest.mark.integration

URIS = {
    "main": "rtsp://127.0.0.1:8554/main",
    "sub": "rtsp://127.0.0.1:8554/sub",
    "mjpeg": "http://127.0.0.1:8081/mjpeg",
}


def test_media2_only_camera_answers_bare_profiles_unless_type_is_asked() -> None:
    async def main() -> None:
        async with (
            virtual_camera(media1=False, stream_uri=URIS) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            names = {s.name for s in client.services()}
            assert "media2" in names and "media" not in names
            # what floorwatch asked before: GetProfiles without Type -> bare profiles
            media2 = await client._media2_service()
            bare = await media2.GetProfiles()
            assert [p.token for p in bare] == ["main", "sub", "mjpeg"]
            assert profiles_from_media2(bare) == ()
            # what it asks now: Type=VideoEncoder (All would add analytics and metadata)
            profiles = await client.profiles()
            assert client.media_version == 2
            assert [(p.token, p.encoding, p.width) for p in profiles] == [
                ("main", Encoding.H264, 1920),
                ("sub", Encoding.H264, 640),
                ("mjpeg", Encoding.JPEG, 640),
            ]
            assert await client.stream_uri("sub") == URIS["sub"]
            choice = await resolve_stream(camera(cam))  # what capture asks before connecting
            assert choice.profile is not None and choice.profile.token == "sub"
            assert choice.stream_uri == URIS["sub"]

    run(main())


def test_media2_without_usable_profiles_falls_back_to_media() -> None:
    async def main() -> None:
        with structlog.testing.capture_logs() as logs:
            async with (
                virtual_camera(media2_bare=True, stream_uri=URIS) as cam,
                OnvifClient("cam-1", endpoint(cam)) as client,
            ):
                await client.connect()
                profiles = await client.profiles()
                assert client.media_version == 1
                assert [p.token for p in profiles] == ["main", "sub", "mjpeg"]
                assert "none with a video encoder" in client.media_note
                assert await client.stream_uri("sub") == URIS["sub"]  # through Media (ver10)
                # Media2 was asked (Type=VideoEncoder, then Type=All), then Media
                assert cam.requests.count("GetProfiles") == 3
        [choice] = [e for e in logs if e["event"] == "camera.media_service"]
        assert choice["version"] == 1 and "Media2 listed 3 profile(s)" in choice["why"]

    run(main())


def test_media_only_camera() -> None:
    async def main() -> None:
        async with (
            virtual_camera(media2=False, stream_uri=URIS) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            profiles = await client.profiles()
            assert client.media_version == 1
            assert client.media_note == "Media (ver10): the camera has no Media2 service"
            assert [p.token for p in profiles] == ["main", "sub", "mjpeg"]
            assert await client.stream_uri("main") == URIS["main"]

    run(main())


@pytest.mark.parametrize("mode", ["refused", "absent"])
def test_camera_without_events_is_said_in_words(mode: str) -> None:
    async def main() -> None:
        async with (
            virtual_camera(events=mode) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            with pytest.raises(CameraError) as info:
                await client.subscribe(30)
        err = info.value
        assert err.reason is CameraErrorReason.NO_EVENTS
        assert "no ONVIF events" in err.message and "asks again once an hour" in err.message
        assert "<Element" not in err.message and " at 0x" not in err.message
        if mode == "refused":
            assert "UnableToCreatePullPointFault" in err.detail

    run(main())


def test_camera_without_events_is_reported_once_and_asked_again_rarely() -> None:
    """One health report, one log line; the next attempt waits the no-events interval
    (an hour by default, here 0.5 s) instead of the 0.1-0.5 s retry backoff."""

    async def main() -> None:
        got: list[Observation] = []
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(0.01)

        async with virtual_camera(events="refused") as cam:
            source = OnvifEventSource(camera(cam), got.append, no_events_retry_s=0.5, sleep=sleep)
            with structlog.testing.capture_logs() as logs:
                task = asyncio.create_task(source.run())
                try:
                    await until(lambda: cam.requests.count("CreatePullPointSubscription") >= 3)
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        # between the three attempts, each wait was the no-events interval, never the backoff
        assert len(waits) >= 2 and set(waits) == {0.5}
        health = [o for o in got if isinstance(o, DeviceHealth)]
        assert [(h.device_id, h.online, h.detail) for h in health] == [
            ("cam-lobby/onvif", True, "no_events")
        ]
        said = [e for e in logs if e["event"] == "camera.no_events"]
        assert len(said) == 1 and "no ONVIF events" in said[0]["advice"]
        assert not [e for e in logs if e.get("log_level") == "warning"]

    run(main())


def test_digest_only_camera_refuses_a_clear_text_password() -> None:
    async def main() -> None:
        async with virtual_camera() as cam:
            async with OnvifClient("cam-1", endpoint(cam)) as client:
                await client.connect()  # digest: accepted
                assert await client.profiles()
            assert cam.auth_failures == 0
            status, body = await _post_password_text(cam.device_url, "admin", PASSWORD)
            assert status == 400 and b"NotAuthorized" in body
            assert cam.auth_failures == 1

    run(main())


async def _post_password_text(url: str, user: str, password: str) -> tuple[int, bytes]:
    """A GetDeviceInformation with a right password sent as PasswordText."""
    nonce = base64.b64encode(os.urandom(16)).decode()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text_type = soap.DIGEST_TYPE.replace("#PasswordDigest", "#PasswordText")
    envelope = (
        f'<s:Envelope xmlns:s="{soap.NS["s"]}"><s:Header>'
        f'<wsse:Security xmlns:wsse="{soap.WSSE}" xmlns:wsu="{soap.WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{text_type}">{password}</wsse:Password>'
        f"<wsse:Nonce>{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security></s:Header><s:Body>"
        f'<tds:GetDeviceInformation xmlns:tds="{soap.NS["tds"]}"/></s:Body></s:Envelope>'
    )
    assert hashlib.sha1(password.encode()).hexdigest() not in envelope  # noqa: S324
    async with aiohttp.ClientSession() as http, http.post(url, data=envelope.encode()) as resp:
        return resp.status, await resp.read()


def test_second_subscription_is_refused_with_advice() -> None:
    async def main() -> None:
        async with (
            virtual_camera(max_subscriptions=1) as cam,
            OnvifClient("nvr", endpoint(cam)) as nvr,
            OnvifClient("cam-1", endpoint(cam)) as ours,
        ):
            await nvr.connect()
            held = await nvr.subscribe(30)
            await ours.connect()
            with pytest.raises(CameraError) as info:
                await ours.subscribe(30)
            err = info.value
            assert err.reason is CameraErrorReason.SUBSCRIPTION_REFUSED
            assert "another client" in err.message and "TooManySubscriptions" in err.detail
            assert "<Element" not in err.message
            await held.unsubscribe()  # the NVR lets go: ours is taken
            sub = await ours.subscribe(30)
            assert cam.subscriptions == 1
            await sub.unsubscribe()

    run(main())


VENDOR_TOKENS = (
    VirtualProfile("MediaProfile00000", "MainStream", "H264", 2560, 1440, 25),  # Dahua style
    VirtualProfile("Profile_1 sub", "SubStream", "H264", 704, 576, 15),  # a space, echoed as is
)


def test_profile_tokens_are_echoed_exactly_and_uris_carry_no_credentials() -> None:
    async def main() -> None:
        uris = {
            "MediaProfile00000": "rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0",
            "Profile_1 sub": "rtsp://127.0.0.1:554/Streaming/Channels/102",
        }
        async with virtual_camera(profiles=VENDOR_TOKENS, stream_uri=uris) as cam:
            choice = await resolve_stream(camera(cam))
            assert choice.profile is not None and choice.profile.token == "Profile_1 sub"
            assert choice.stream_uri == uris["Profile_1 sub"]
            assert "@" not in choice.stream_uri  # the camera hands no credentials out
            async with OnvifClient("cam-1", endpoint(cam)) as client:
                await client.connect()
                await client.profiles()
                with pytest.raises(CameraError) as info:
                    await client.stream_uri("profile_1 sub")  # not the token it gave
            assert info.value.reason is CameraErrorReason.PROTOCOL
            assert "NoProfile" in info.value.detail and "<Element" not in info.value.detail

    run(main())
