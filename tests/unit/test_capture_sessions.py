"""The per-host session limit and the guard of FFmpeg's process-wide options variable."""

from __future__ import annotations

import os
import threading

from cameras.capture_sessions import FFMPEG_OPTIONS_ENV, SessionLimiter, _FfmpegOptionsGate


def test_session_limit_is_per_host_and_first_limit_holds() -> None:
    limiter = SessionLimiter()
    stop = threading.Event()
    with limiter.slot("cam-a", 1, stop) as a1, limiter.slot("cam-b", 1, stop) as b1:
        assert a1 and b1  # other hosts are not limited by cam-a's session
        stop_soon = threading.Event()
        threading.Timer(0.3, stop_soon.set).start()
        with limiter.slot("cam-a", 5, stop_soon) as a2:  # cam-a's limit stays 1
            assert not a2 and stop_soon.is_set()
    with limiter.slot("cam-a", 1, stop) as again:  # released on exit
        assert again


def test_waiting_session_gets_the_slot_when_it_is_released() -> None:
    limiter = SessionLimiter()
    stop = threading.Event()
    got: list[bool] = []
    release = threading.Event()

    def holder() -> None:
        with limiter.slot("nvr", 1, stop):
            release.wait(5)

    def waiter() -> None:
        with limiter.slot("nvr", 1, stop) as ok:
            got.append(ok)

    t1 = threading.Thread(target=holder)
    t1.start()
    t2 = threading.Thread(target=waiter)
    t2.start()
    t2.join(0.3)
    assert not got  # still waiting
    release.set()
    t1.join(5)
    t2.join(5)
    assert got == [True]


def test_ffmpeg_gate_sets_the_variable_and_lets_equal_values_share() -> None:
    gate = _FfmpegOptionsGate()
    saved = os.environ.get(FFMPEG_OPTIONS_ENV)
    try:
        with gate.options("rtsp_transport;tcp"):
            assert os.environ[FFMPEG_OPTIONS_ENV] == "rtsp_transport;tcp"
            entered = threading.Event()

            def same() -> None:
                with gate.options("rtsp_transport;tcp"):
                    entered.set()

            t = threading.Thread(target=same)
            t.start()
            assert entered.wait(2)  # the same value does not wait
            t.join(2)
            switched = threading.Event()

            def other() -> None:
                with gate.options("rtsp_transport;udp"):
                    switched.set()

            t = threading.Thread(target=other)
            t.start()
            assert not switched.wait(0.3)  # another value waits for the open in flight
            assert os.environ[FFMPEG_OPTIONS_ENV] == "rtsp_transport;tcp"
        assert switched.wait(2)
        t.join(2)
        assert os.environ[FFMPEG_OPTIONS_ENV] == "rtsp_transport;udp"
    finally:
        if saved is None:
            os.environ.pop(FFMPEG_OPTIONS_ENV, None)
        else:
            os.environ[FFMPEG_OPTIONS_ENV] = saved
