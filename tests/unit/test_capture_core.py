"""The pure part of capture: URLs and credentials, FFmpeg options, schedules, health."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cameras.capture_core import (
    CaptureState,
    FrameRate,
    HealthTracker,
    ffmpeg_options,
    next_due,
    redact_url,
    source_kind,
    split_credentials,
    stream_due,
    url_host,
    with_credentials,
)
from gateway.logs import scrub_text


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://cam/stream", "rtsp"),
        ("RTSPS://cam:322/x", "rtsp"),
        ("http://cam/video.mjpg", "http"),
        ("https://cam/snap.jpg", "http"),
        ("/var/recordings/lobby.mp4", "file"),
        ("file:///tmp/a.avi", "file"),
    ],
)
def test_source_kind(url: str, kind: str) -> None:
    assert source_kind(url) == kind


@pytest.mark.parametrize(
    ("url", "user", "password", "expected"),
    [
        ("rtsp://cam:554/s", "admin", "pw", "rtsp://admin:pw@cam:554/s"),
        ("rtsp://old:x@cam/s", "admin", "pw", "rtsp://admin:pw@cam/s"),
        ("rtsp://cam/s", "admin", "p@ss:w/rd", "rtsp://admin:p%40ss%3Aw%2Frd@cam/s"),
        ("rtsp://cam/s", "ad:min", None, "rtsp://ad%3Amin@cam/s"),
        ("http://cam/v.mjpg?ch=1", "u", "", "http://u:@cam/v.mjpg?ch=1"),
        ("rtsp://cam/s", None, "pw", "rtsp://cam/s"),
        ("/tmp/a.mp4", "admin", "pw", "/tmp/a.mp4"),
    ],
)
def test_with_credentials(url: str, user: str | None, password: str | None, expected: str) -> None:
    assert with_credentials(url, user, password) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:pw@cam:554/s", "rtsp://cam:554/s"),
        ("rtsp://admin@cam/s", "rtsp://cam/s"),
        ("http://cam/snap.jpg?user=admin&pwd=x", "http://cam/snap.jpg?***"),
        ("rtsp://cam/s", "rtsp://cam/s"),
        ("/tmp/a.mp4", "/tmp/a.mp4"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_split_credentials_decodes() -> None:
    assert split_credentials("rtsp://a%40b:p%2Fw@cam/s") == ("rtsp://cam/s", "a@b", "p/w")
    assert split_credentials("rtsp://cam/s") == ("rtsp://cam/s", None, None)


_text = st.text(min_size=1, max_size=20)


@given(user=_text, password=_text)
def test_credentials_round_trip_and_never_survive_redaction(user: str, password: str) -> None:
    url = with_credentials("rtsp://10.0.0.5:554/Streaming/Channels/101", user, password)
    assert split_credentials(url) == ("rtsp://10.0.0.5:554/Streaming/Channels/101", user, password)
    assert redact_url(url) == "rtsp://10.0.0.5:554/Streaming/Channels/101"
    assert url_host(url) == "10.0.0.5"
    # the log scrubber (gateway.logs) catches the injected form too
    assert scrub_text(f"opening {url} now") == (
        "opening rtsp://***:***@10.0.0.5:554/Streaming/Channels/101 now"
    )


def test_url_host_is_the_session_key() -> None:
    assert url_host("rtsp://u:p@CAM.local:554/a") == "cam.local"
    assert url_host("http://cam.local/b") == "cam.local"
    assert url_host("/tmp/x.mp4") == "file"


def test_ffmpeg_options() -> None:
    assert ffmpeg_options("tcp", stall_s=5) == (
        "rtsp_transport;tcp|timeout;5000000|analyzeduration;1000000"
    )
    assert ffmpeg_options("udp", stall_s=0.5).startswith("rtsp_transport;udp|timeout;500000|")


@pytest.mark.parametrize(
    ("previous", "period", "now", "expected"),
    [
        (10.0, 0.5, 10.1, 10.5),  # on time
        (10.0, 0.5, 10.5, 10.5),  # exactly due
        (10.0, 0.5, 13.2, 13.2),  # fell behind: no catch-up burst
    ],
)
def test_next_due(previous: float, period: float, now: float, expected: float) -> None:
    assert next_due(previous, period, now) == expected


@given(
    start=st.floats(0, 1e6),
    period=st.floats(0.01, 10),
    lags=st.lists(st.floats(0, 30), min_size=1, max_size=50),
)
def test_next_due_never_in_the_past_and_never_bunches(
    start: float, period: float, lags: list[float]
) -> None:
    due, now = start, start
    for lag in lags:
        now = max(now, due) + lag
        new = next_due(due, period, now)
        assert new >= now or new == due + period
        assert new >= due + period or new == now
        due = new


def test_stream_due() -> None:
    assert not stream_due(100.0, 159.9, 60)
    assert stream_due(100.0, 160.0, 60)


def test_health_online_until_stall_then_outage_reported() -> None:
    t = HealthTracker(stall_s=2.0, window_s=5.0)
    t.started(0.0)
    h = t.health(1.0)
    assert not h.online and h.offline_for_s == 1.0 and h.frame_age_s is None
    t.state(CaptureState.STREAMING, 1.0, mode="rtsp")
    for i in range(11):  # 10 fps for one second
        assert t.frame(1.0 + i / 10, (640, 480)) is None
    h = t.health(2.0)
    assert h.online and h.fps == pytest.approx(10.0) and h.resolution == (640, 480)
    assert (
        h.detail()
        == "status=streaming state=streaming mode=rtsp frame_age_s=0.0 resolution=640x480"
    )
    t.state(CaptureState.RECONNECTING, 3.0, reason="open_failed", retry_in_s=1.5)
    h = t.health(4.5)
    assert not h.online and h.fps == 0.0
    assert h.offline_for_s == pytest.approx(2.5) and h.reason == "open_failed"
    assert h.retry_in_s == pytest.approx(0.0)
    assert "offline_for_s=2.5" in h.detail() and "reason=open_failed" in h.detail()
    assert t.frame(7.0) == pytest.approx(5.0)  # the outage it ends
    assert t.health(7.0).online and t.health(7.0).reason is None


def test_health_fps_forgets_old_frames() -> None:
    t = HealthTracker(stall_s=10.0, window_s=2.0)
    for i in range(20):
        t.frame(i * 0.1)  # 10 fps
    for i in range(5):
        t.frame(5.0 + i * 0.5)  # 2 fps
    assert t.health(7.0).fps == pytest.approx(2.0)


def feed(rate: FrameRate, times: list[float]) -> None:
    for t in times:
        rate.frame(t)


def opening(burst: int, fps: float, seconds: float, start: float = 0.0) -> list[float]:
    """What a capture sees after an open: ``burst`` frames out of FFmpeg's buffer at
    decode speed (2 ms each), then one frame every 1/fps on the injected clock."""
    backlog = [start + 0.002 * i for i in range(burst)]
    live_from = start + 0.002 * burst
    live = [live_from + i / fps for i in range(int(seconds * fps) + 1)]
    return backlog + live


def test_frames_buffered_while_opening_are_not_counted() -> None:
    """The case of issue 12: 25 buffered frames read as 18.4 fps over 3 s of a 10 fps stream."""
    times = opening(burst=25, fps=10, seconds=3.0)
    naive = (len(times) - 1) / (times[-1] - times[0])
    assert naive > 15  # what counting every frame said
    rate = FrameRate(window_s=5.0, settle_s=1.0)
    rate.opened(0.0)
    feed(rate, times)
    assert rate.fps(times[-1]) == pytest.approx(10.0, rel=1e-6)
    assert rate.buffered == 25 + 10  # the backlog and the live frames of the settle time
    assert rate.live == len(times) - rate.buffered


@given(
    fps=st.floats(1.0, 30.0),
    burst=st.integers(0, 120),
    seconds=st.floats(2.0, 10.0),
)
def test_measured_rate_is_the_stream_rate_whatever_the_backlog(
    fps: float, burst: int, seconds: float
) -> None:
    rate = FrameRate(window_s=5.0, settle_s=1.0)
    rate.opened(0.0)
    times = opening(burst, fps, seconds + 1.0 + 1.0 / fps)  # live frames span >= 1 s
    feed(rate, times)
    measured = rate.fps(times[-1])
    assert measured is not None and measured == pytest.approx(fps, rel=1e-6)


def test_rate_is_unknown_until_measured_never_a_burst_or_zero() -> None:
    rate = FrameRate(window_s=5.0, settle_s=1.0, min_span_s=1.0)
    rate.opened(100.0)
    assert rate.fps(100.0) is None
    feed(rate, [100.0 + 0.001 * i for i in range(40)])  # the backlog only
    assert rate.fps(100.1) is None
    feed(rate, [101.0, 101.5])  # live, but half a second
    assert rate.fps(101.5) is None
    rate.frame(102.0)
    assert rate.fps(102.0) == pytest.approx(2.0)


def test_health_after_a_reconnect_reports_no_rate_until_measured() -> None:
    t = HealthTracker(stall_s=2.0, window_s=5.0, settle_s=1.0)
    t.started(0.0)
    t.opened(0.0)
    feed_tracker(t, opening(burst=30, fps=10, seconds=4.0))
    first = t.health(4.1)
    assert first.online and first.fps == pytest.approx(10.0)
    # the stream is lost at 4.06 and reopened at 10.0: a backlog, then 10 fps again
    assert not t.health(9.0).online and t.health(9.0).fps == 0.0
    t.opened(10.0)
    times = opening(burst=30, fps=10, seconds=3.0, start=10.0)
    t.frame(times[0])
    back = t.health(times[0])
    assert back.online and back.fps is None  # online, rate being measured: not 0.0
    for at in times[1:]:
        t.frame(at)
        fps = t.health(at).fps
        assert fps is None or fps == pytest.approx(10.0)  # never the burst's rate
    assert t.health(times[-1]).fps == pytest.approx(10.0)


def feed_tracker(t: HealthTracker, times: list[float]) -> None:
    for at in times:
        t.frame(at, (640, 480))
