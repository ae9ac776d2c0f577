"""Profiles as zeep hands them over (attribute objects) -> MediaProfile values.

The shapes are those of real answers: a Dahua-style Media ver10 profile whose
VideoEncoderConfiguration carries only a name and a use count
(cdavis-code/easy_onvif_workspace#20), and Media2 profiles with and without
their configurations (GetProfiles with and without ``Type``).
"""

from __future__ import annotations

from types import SimpleNamespace as Obj

from cameras.onvif_messages import profiles_from_media1, profiles_from_media2
from cameras.onvif_models import Encoding


def encoder(encoding: str, width: int, height: int, fps: int) -> Obj:
    return Obj(
        Encoding=encoding,
        Resolution=Obj(Width=width, Height=height),
        RateControl=Obj(FrameRateLimit=fps, BitrateLimit=2048),
    )


def test_media1_profile_without_encoding_or_resolution_is_skipped_not_fatal() -> None:
    answer = [
        Obj(token="MediaProfile00000", Name="Main", VideoEncoderConfiguration=Obj(UseCount=1)),
        Obj(
            token="MediaProfile00001",
            Name="Sub",
            VideoEncoderConfiguration=encoder("H264", 704, 576, 15),
        ),
        Obj(token="MediaProfile00002", Name="Audio only", VideoEncoderConfiguration=None),
    ]
    [sub] = profiles_from_media1(answer)
    assert (sub.token, sub.encoding, sub.width, sub.height, sub.fps) == (
        "MediaProfile00001",
        Encoding.H264,
        704,
        576,
        15.0,
    )


def test_media2_bare_profiles_yield_nothing_and_full_ones_yield_profiles() -> None:
    bare = [Obj(token="Profile_1", Name="main"), Obj(token="Profile_2", Name="sub")]
    assert profiles_from_media2(bare) == ()
    full = [
        Obj(
            token="Profile_1",
            Name="main",
            Configurations=Obj(VideoSource=Obj(), VideoEncoder=encoder("H265", 2560, 1440, 25)),
        )
    ]
    [main] = profiles_from_media2(full)
    assert (main.token, main.encoding, main.width) == ("Profile_1", Encoding.H265, 2560)
