"""The ONVIF exchange end to end: the real client library (onvif-zeep-async) against
the virtual camera's SOAP endpoints on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from cameras.onvif_client import OnvifClient
from cameras.onvif_models import CameraError, CameraErrorReason, Encoding, choose_profile
from cameras.onvif_source import resolve_stream
from cameras.simulator.onvif_soap import VirtualProfile
from gateway.peers.process import free_port
from gateway.settings import OnvifEndpoint
from tests.integration.onvif_support import PASSWORD, camera, endpoint, run, virtual_camera

pytestmark = pytest.mark.integration


def test_identity_services_profiles_and_stream_uri() -> None:
    async def main() -> None:
        uris = {"main": "rtsp://127.0.0.1:8554/main", "sub": "rtsp://127.0.0.1:8554/sub"}
        uris["mjpeg"] = "http://127.0.0.1:8081/mjpeg"
        async with virtual_camera(
            stream_uri=uris, snapshot_uri="http://127.0.0.1:8081/snap.jpg"
        ) as cam:
            async with OnvifClient("cam-1", endpoint(cam)) as client:
                device = await client.connect()
                assert device.manufacturer == "Floorwatch"
                assert device.model.startswith("FW-IR4")
                assert device.firmware == "4.3.0-sim"
                names = {s.name for s in client.services()}
                assert {"devicemgmt", "media", "events"} <= names
                profiles = await client.profiles()
                assert [(p.token, p.encoding, p.width, p.height) for p in profiles] == [
                    ("main", Encoding.H264, 1920, 1080),
                    ("sub", Encoding.H264, 640, 480),
                    ("mjpeg", Encoding.JPEG, 640, 480),
                ]
                assert profiles[1].fps == 15
                chosen = choose_profile(profiles, encoding="H264", width=640, height=480)
                assert chosen.token == "sub"
                assert await client.stream_uri(chosen.token) == uris["sub"]
                assert await client.snapshot_uri("sub") == "http://127.0.0.1:8081/snap.jpg"
                assert abs(client.clock_offset.total_seconds()) < 2
            # digest authentication was used and accepted for everything but the clock
            assert cam.auth_failures == 0
            assert cam.requests[0] == "GetSystemDateAndTime"

    run(main())


def test_wrong_password_is_refused_with_a_clear_error() -> None:
    async def main() -> None:
        async with virtual_camera() as cam:
            async with OnvifClient("cam-1", endpoint(cam, password="not-it")) as client:
                with pytest.raises(CameraError) as info:
                    await client.connect()
            assert cam.auth_failures >= 1
        err = info.value
        assert err.reason is CameraErrorReason.WRONG_PASSWORD
        assert "onvif.password" in err.message
        assert "not-it" not in err.message and PASSWORD not in err.message

    run(main())


def test_two_minute_clock_skew_is_corrected() -> None:
    async def main() -> None:
        async with virtual_camera(clock_offset_s=120, auth_window_s=10) as cam:
            async with OnvifClient("cam-1", endpoint(cam)) as client:
                before = datetime.now(UTC)
                await client.connect()
                span = (datetime.now(UTC) - before).total_seconds()
                offset = client.clock_offset.total_seconds()
                # the camera says whole seconds, somewhere within the exchange we timed
                assert 120 - 1 - span <= offset <= 120 + span
                assert len(await client.profiles()) == 3  # signed requests accepted
            assert cam.auth_failures == 0

    run(main())


def test_clock_skew_without_adjustment_is_named_as_such() -> None:
    async def main() -> None:
        async with virtual_camera(clock_offset_s=-120) as cam:
            ep = endpoint(cam, adjust_clock=False)
            async with OnvifClient("cam-1", ep) as client:
                before = datetime.now(UTC)
                with pytest.raises(CameraError) as info:
                    await client.connect()
                span = (datetime.now(UTC) - before).total_seconds()
        assert info.value.reason is CameraErrorReason.CLOCK_SKEW
        said = re.search(r"camera clock is ([+-]\d+) s off", info.value.detail)
        # whole seconds from the camera, rounded by us, within the exchange we timed
        assert said is not None and -120 - 2 - span <= int(said.group(1)) <= -120 + 1 + span

    run(main())


def test_unreachable_camera() -> None:
    async def main() -> None:
        port = free_port()
        ep = endpoint_for_port(port)
        async with OnvifClient("cam-1", ep) as client:
            with pytest.raises(CameraError) as info:
                await client.connect()
        assert info.value.reason is CameraErrorReason.UNREACHABLE
        assert f"127.0.0.1:{port}" in info.value.detail

    run(main())


def test_camera_without_h264_profile() -> None:
    async def main() -> None:
        only_jpeg = (VirtualProfile("jpeg", "jpegStream", "JPEG", 640, 480, 10),)
        async with (
            virtual_camera(profiles=only_jpeg) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            profiles = await client.profiles()
        with pytest.raises(CameraError) as info:
            choose_profile(profiles, encoding="H264")
        assert info.value.reason is CameraErrorReason.NO_H264_PROFILE
        assert choose_profile(profiles, encoding="any").token == "jpeg"

    run(main())


def test_subscription_renew_and_unsubscribe() -> None:
    async def main() -> None:
        async with (
            virtual_camera(clock_offset_s=120) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            sub = await client.subscribe(30)
            assert sub.granted == timedelta(seconds=30)
            initial = await sub.pull(1, 50)  # the camera's current property states
            assert {n.operation for n in initial} == {"Initialized"}
            published = datetime.now(UTC)
            cam.publish_count("queue-a", 12)
            published_by = datetime.now(UTC)
            notes = await sub.pull(2, 50)
            assert [n.data_value("Count") for n in notes] == ["12"]
            assert notes[0].source_value("Rule") == "queue-a"
            assert notes[0].utc_time is not None
            # the camera stamps events on its own (skewed) clock
            # (whole seconds, between the two readings of our clock around the publish)
            stamped = notes[0].utc_time - timedelta(seconds=120)
            assert published - timedelta(seconds=1) <= stamped <= published_by
            assert await sub.renew(60) == timedelta(seconds=60)
            await sub.unsubscribe()
            assert cam.subscriptions == 0

    run(main())


def endpoint_for_port(port: int) -> OnvifEndpoint:
    return OnvifEndpoint(host="127.0.0.1", port=port, password=SecretStr("x"), timeout_s=3)


def test_camera_that_misreads_relative_times_gets_absolute_ones() -> None:
    async def main() -> None:
        async with (
            virtual_camera(broken_relative_times=True, clock_offset_s=120) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            sub = await client.subscribe(60)
            assert client.absolute_times
            assert sub.granted is not None and 55 <= sub.granted.total_seconds() <= 65
            cam.publish_count("q", 1)
            assert [n.data_value("Count") for n in await sub.pull(1, 50) if n.data_value("Count")]

    run(main())


WITH_H265 = (
    VirtualProfile("main265", "mainStream", "H265", 2560, 1440, 25, 4096),
    VirtualProfile("sub", "subStream", "H264", 640, 480, 15, 512),
)


def test_media2_lists_h265_profiles_and_answers_uris() -> None:
    async def main() -> None:
        uris = {"main265": "rtsp://127.0.0.1:8554/h265", "sub": "rtsp://127.0.0.1:8554/sub"}
        async with (
            virtual_camera(
                profiles=WITH_H265, stream_uri=uris, snapshot_uri="http://x/s.jpg"
            ) as cam,
            OnvifClient("cam-1", endpoint(cam, profile={"encoding": "H265"})) as client,
        ):
            await client.connect()
            assert "media2" in {s.name for s in client.services()}
            profiles = await client.profiles()
            assert client.media_version == 2
            assert [(p.token, p.encoding, p.width, p.fps) for p in profiles] == [
                ("main265", Encoding.H265, 2560, 25.0),
                ("sub", Encoding.H264, 640, 15.0),
            ]
            assert await client.stream_uri("main265") == uris["main265"]
            assert await client.snapshot_uri("sub") == "http://x/s.jpg"

    run(main())


def test_media1_only_camera_hides_h265() -> None:
    async def main() -> None:
        async with (
            virtual_camera(profiles=WITH_H265, media2=False) as cam,
            OnvifClient("cam-1", endpoint(cam)) as client,
        ):
            await client.connect()
            profiles = await client.profiles()
            assert client.media_version == 1
            assert [p.token for p in profiles] == ["sub"]

    run(main())


def test_resolve_stream_for_capture() -> None:
    async def main() -> None:
        uris = {"main": "rtsp://h/main", "sub": "rtsp://h/sub", "mjpeg": "http://h/mjpeg"}
        async with virtual_camera(stream_uri=uris, snapshot_uri="http://h/snap.jpg") as cam:
            choice = await resolve_stream(camera(cam))
            assert choice.profile is not None and choice.profile.token == "sub"
            assert (choice.stream_uri, choice.snapshot_uri) == ("rtsp://h/sub", "http://h/snap.jpg")
            pinned = await resolve_stream(camera(cam, profile={"encoding": "JPEG"}))
            assert pinned.stream_uri == "http://h/mjpeg"
        only_jpeg = (VirtualProfile("jpeg", "jpegStream", "JPEG", 640, 480, 10),)
        async with virtual_camera(profiles=only_jpeg) as cam:
            with pytest.raises(CameraError) as info:
                await resolve_stream(camera(cam))
            assert info.value.reason is CameraErrorReason.NO_H264_PROFILE

    run(main())


def test_http_401_refusal_is_a_wrong_password_too() -> None:
    async def main() -> None:
        async with (
            virtual_camera(http_401=True) as cam,
            OnvifClient("cam-1", endpoint(cam, password="nope")) as client,
        ):
            with pytest.raises(CameraError) as info:
                await client.connect()
        assert info.value.reason is CameraErrorReason.WRONG_PASSWORD
        assert "HTTP 401" in info.value.detail

    run(main())
