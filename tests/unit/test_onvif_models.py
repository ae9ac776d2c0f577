"""Profile choice, encodings and the one CameraError of the ONVIF adapter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras.onvif_models import (
    ADVICE,
    CameraError,
    CameraErrorReason,
    Encoding,
    MediaProfile,
    choose_profile,
)

MAIN = MediaProfile("main", "main", Encoding.H264, 1920, 1080, 25)
SUB = MediaProfile("sub", "sub", Encoding.H264, 640, 360, 15)
THIRD = MediaProfile("third", "third", Encoding.H264, 1280, 720, 6)
HEVC = MediaProfile("hevc", "hevc", Encoding.H265, 2560, 1440, 20)
JPEG = MediaProfile("jpeg", "jpeg", Encoding.JPEG, 640, 480, 10)
ALL = (MAIN, SUB, THIRD, HEVC, JPEG)


@pytest.mark.parametrize(
    ("kwargs", "token"),
    [
        ({}, "third"),  # smallest H.264 covering 640x480 (sub is only 360 high)
        ({"width": 640, "height": 360}, "sub"),
        ({"width": 3840, "height": 2160}, "main"),  # none covers: the largest
        ({"min_fps": 10}, "main"),  # third is limited to 6 fps
        ({"encoding": "H265"}, "hevc"),
        ({"encoding": "JPEG"}, "jpeg"),
        ({"encoding": "any"}, "third"),  # any still prefers H.264
        ({"token": "jpeg"}, "jpeg"),  # a pinned token wins over everything
    ],
)
def test_choose_profile(kwargs: dict[str, object], token: str) -> None:
    assert choose_profile(ALL, **kwargs).token == token  # type: ignore[arg-type]


def test_any_falls_back_to_other_encodings() -> None:
    assert choose_profile((JPEG, HEVC), encoding="any").token == "hevc"
    assert choose_profile((JPEG,), encoding="any").token == "jpeg"


@pytest.mark.parametrize(
    ("profiles", "kwargs", "reason"),
    [
        ((JPEG,), {}, CameraErrorReason.NO_H264_PROFILE),
        ((), {"encoding": "any"}, CameraErrorReason.NO_H264_PROFILE),
        ((MAIN,), {"encoding": "H265"}, CameraErrorReason.NO_MATCHING_PROFILE),
        ((MAIN,), {"token": "nope"}, CameraErrorReason.NO_MATCHING_PROFILE),
        ((SUB,), {"min_fps": 20}, CameraErrorReason.NO_H264_PROFILE),
    ],
)
def test_choose_profile_errors(
    profiles: tuple[MediaProfile, ...], kwargs: dict[str, object], reason: CameraErrorReason
) -> None:
    with pytest.raises(CameraError) as info:
        choose_profile(profiles, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason is reason
    assert info.value.detail  # says what the camera has


@given(
    st.lists(
        st.builds(
            MediaProfile,
            token=st.text(min_size=1, max_size=4),
            name=st.just("p"),
            encoding=st.sampled_from(list(Encoding)),
            width=st.integers(16, 4000),
            height=st.integers(16, 3000),
            fps=st.none() | st.floats(1, 60),
        ),
        max_size=6,
    )
)
def test_a_chosen_profile_has_the_wanted_encoding(profiles: list[MediaProfile]) -> None:
    try:
        chosen = choose_profile(tuple(profiles))
    except CameraError as exc:
        assert exc.reason is CameraErrorReason.NO_H264_PROFILE
        assert not any(p.encoding is Encoding.H264 for p in profiles)
    else:
        assert chosen.encoding is Encoding.H264 and chosen in profiles


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("H264", Encoding.H264),
        ("h.264", Encoding.H264),
        ("H265", Encoding.H265),
        ("HEVC", Encoding.H265),
        ("JPEG", Encoding.JPEG),
        ("MJPEG", Encoding.JPEG),
        ("MPEG4", Encoding.MPEG4),
        ("VP9", Encoding.OTHER),
        (None, Encoding.OTHER),
    ],
)
def test_encoding_parse(text: str | None, encoding: Encoding) -> None:
    assert Encoding.parse(text) is encoding


def test_every_reason_has_advice() -> None:
    assert set(ADVICE) == set(CameraErrorReason)


def test_error_message_names_reason_advice_and_detail() -> None:
    err = CameraError(CameraErrorReason.WRONG_PASSWORD, "GetServices: user 'admin' refused")
    assert str(err).startswith("wrong_password: ")
    assert "onvif.password" in str(err)
    assert str(err).endswith("(GetServices: user 'admin' refused)")
    assert str(CameraError(CameraErrorReason.UNREACHABLE)).startswith("unreachable: check the host")
