"""floorwatch against the virtual camera behaving as makers' firmware does
(docs/cameras.md, "What real cameras do"): Hanwha's large GetProfiles answers,
Axis' subscription reference parameters, Hikvision's Zulu-only token times. The
client is the real library over HTTP.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from datetime import UTC, datetime

import aiohttp
import pytest
from lxml import etree  # type: ignore[import-untyped]
from zeep.wsse.username import UsernameToken

from cameras.onvif_client import OnvifClient
from cameras.onvif_models import CameraError, CameraErrorReason, Encoding
from cameras.onvif_source import OnvifEventSource, resolve_stream
from cameras.simulator import onvif_soap as soap
from cameras.simulator.onvif_quirks import multi_channel_profiles
from gateway.observations import DeviceHealth, Observation
from tests.integration.onvif_support import (
    PASSWORD,
    camera,
    endpoint,
    run,
    until,
    virtual_camera,
)

pytestmark = pytest.mark.integration

HANWHA = {"profiles": multi_channel_profiles(4), "analytics_rules": 24}  # 16 profiles


def _answered(cam: object, operation: str) -> list[int]:
    return [size for op, size in cam.answers if op == operation]  # type: ignore[attr-defined]


def test_large_media_profiles_answer_still_gives_the_right_h264_profile() -> None:
    """Media (ver10) cannot filter: 12 profiles, each with 24 analytics rules and a
    metadata configuration, about 350 KB. floorwatch parses it within its default
    10 s request timeout, picks the smallest H.264 profile covering 640x480
    (channel 1's sub stream, not the MJPEG or a main stream), and a pinned token of
    another channel is found too; the parse holds a bounded multiple of the answer."""

    async def main() -> None:
        async with virtual_camera(media2=False, **HANWHA) as cam:
            choice = await resolve_stream(camera(cam))
            assert choice.profile is not None and choice.profile.token == "1_sub"
            assert choice.profile.encoding is Encoding.H264 and choice.profile.width == 800
            [size] = _answered(cam, "GetProfiles")
            assert size > 300_000
            pinned = await resolve_stream(camera(cam, profile={"token": "3_main"}))
            assert pinned.profile is not None and pinned.profile.width == 1920
            async with OnvifClient("cam-1", endpoint(cam, timeout_s=60)) as client:
                await client.connect()
                tracemalloc.start()
                try:
                    profiles = await client.profiles()
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
            assert len(profiles) == 12  # H.265 lives in Media2 only
            # measured 5.8 MB for 348 KB (server's copy included): linear, well under 64 MB
            assert peak < 64 * 1024 * 1024

    run(main())


def test_media2_asks_for_encoder_configurations_only() -> None:
    """Media2 filters by Type: floorwatch asks VideoEncoder, so the same camera answers
    about 10 KB instead of the 450 KB that Type=All brings (onvif/specs#225)."""

    async def main() -> None:
        async with (
            virtual_camera(**HANWHA) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            profiles = await client.profiles()
            assert client.media_version == 2 and len(profiles) == 16
            assert {p.encoding for p in profiles} == {Encoding.H265, Encoding.H264, Encoding.JPEG}
            [asked] = _answered(cam, "GetProfiles")
            assert asked < 20_000
            media2 = await client._media2_service()
            everything = await media2.GetProfiles({"Type": ["All"]})  # what it asked before
            assert len(everything) == 16
            assert _answered(cam, "GetProfiles")[-1] > 20 * asked

    run(main())


def test_axis_subscription_id_is_echoed_on_every_subscription_call() -> None:
    """One shared subscription address, the subscription named by a SubscriptionId
    reference parameter: pull, renew, synchronise and unsubscribe carry it back, and
    two clients' subscriptions stay apart."""

    async def main() -> None:
        async with (
            virtual_camera(reference_parameters=True) as cam,
            OnvifClient("nvr", endpoint(cam)) as nvr,
            OnvifClient("cam-1", endpoint(cam)) as ours,
        ):
            await nvr.connect()
            theirs = await nvr.subscribe(30)
            await ours.connect()
            sub = await ours.subscribe(30)
            assert sub.address.endswith("/onvif/services") and theirs.address == sub.address
            initial = await sub.pull(0.2, 10)
            assert {n.operation for n in initial} == {"Initialized"}
            cam.set_motion(True)
            [motion] = await sub.pull(2, 10)
            assert motion.topic.endswith("MotionAlarm") and motion.data_value("State") == "true"
            assert await sub.renew(30) is not None
            await sub.synchronize()
            assert len(await sub.pull(0.2, 10)) == 3  # every property again
            await sub.unsubscribe()
            assert cam.subscriptions == 1  # the NVR's is still there
            assert [n.data_value("State") for n in await theirs.pull(0.2, 10)][-1] == "true"
            assert "PullMessages" in cam.requests

    run(main())


def test_axis_refuses_subscription_calls_without_the_reference_parameter() -> None:
    """What the camera answers a client that drops the header (the library alone does)."""

    async def main() -> None:
        async with (
            virtual_camera(reference_parameters=True) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            sub = await client.subscribe(30)
            for service in (sub._manager, sub._pullpoint):
                service.zeep_client.set_default_soapheaders([])  # as onvif-zeep-async sends
            with pytest.raises(CameraError) as info:
                await sub.pull(0.2, 10)
            assert info.value.reason is CameraErrorReason.SUBSCRIPTION_LOST
            assert "InvalidArgs" in info.value.detail and "<Element" not in info.value.detail
            with pytest.raises(CameraError) as renewing:
                await sub.renew(30)
            assert "InvalidArgs" in renewing.value.detail
            assert cam.subscriptions == 1

    run(main())


def test_axis_camera_events_arrive_through_the_event_loop() -> None:
    async def main() -> None:
        got: list[Observation] = []
        async with virtual_camera(reference_parameters=True) as cam:
            source = OnvifEventSource(camera(cam), got.append)
            task = asyncio.create_task(source.run())
            try:
                await until(lambda: cam.subscriptions == 1 and "PullMessages" in cam.requests)
                cam.set_tamper(True)
                await until(lambda: "tampered" in _details(got))
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        assert cam.requests.count("CreatePullPointSubscription") == 1  # never lost, no resubscribe

    run(main())


def _details(got: list[Observation]) -> list[str]:
    return [o.detail for o in got if isinstance(o, DeviceHealth) and o.detail]


def test_hikvision_refuses_a_created_time_with_an_offset() -> None:
    """The token's Created time must end in Z; floorwatch's (the library's) does."""

    async def main() -> None:
        async with virtual_camera(zulu_only=True) as cam:
            async with OnvifClient("cam-1", endpoint(cam)) as client:
                await client.connect()
                assert await client.profiles()
            assert cam.auth_failures == 0
            for zulu, status in ((True, 200), (False, 400)):
                assert await _post_signed(cam.device_url, zulu) == status
            assert cam.auth_failures == 1

    run(main())


async def _post_signed(url: str, zulu: bool) -> int:
    """A right digest whose Created is written ...Z (zulu) or ...+00:00."""
    envelope = etree.fromstring(
        f'<s:Envelope xmlns:s="{soap.NS["s"]}"><s:Header/><s:Body>'
        f'<tds:GetDeviceInformation xmlns:tds="{soap.NS["tds"]}"/></s:Body></s:Envelope>'
    )
    token = UsernameToken(  # type: ignore[no-untyped-call]
        "admin", PASSWORD, use_digest=True, created=datetime.now(UTC), zulu_timestamp=zulu
    )
    envelope, _ = token.apply(envelope, {})  # type: ignore[no-untyped-call]
    body = bytes(etree.tostring(envelope))
    assert (b"+00:00</" in body) is not zulu
    async with aiohttp.ClientSession() as http, http.post(url, data=body) as resp:
        return resp.status
