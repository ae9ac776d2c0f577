"""A virtual camera: the synthetic scene served as HTTP MJPEG and snapshots. Shell module.

``counts_at(t_s)`` says how many people are in each zone at ``t_s`` seconds
after start; ``night_at(t_s)`` whether the camera is in infrared mode. Each
frame is ``Scene.render(counts_at(t), t, night=night_at(t))``; the counts of
the newest frame are the ground truth (``truth``). For RTSP, put
``gateway.peers.rtsp.RtspServer(source_url=camera.stream_url)`` in front.

    cam = VirtualCamera.for_camera(camera_config, counts_at=lambda t: {"waiting": 12})
    cam.start()          # cam.stream_url, cam.snapshot_url
    ...
    cam.stop()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from cameras.simulator.mjpeg import Frame, HttpAuth, MjpegServer
from cameras.simulator.scene import Scene, SceneRoi
from gateway.settings import CameraConfig

CountsAt = Callable[[float], Mapping[str, int]]
NightAt = Callable[[float], bool]


def _day(_t_s: float) -> bool:
    return False


class VirtualCamera:
    """Scene + MJPEG server; see the module doc."""

    def __init__(
        self,
        rois: Sequence[SceneRoi],
        counts_at: CountsAt,
        *,
        night_at: NightAt = _day,
        width: int = 640,
        height: int = 480,
        seed: int = 0,
        fps: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: HttpAuth | None = None,
    ) -> None:
        self._scene = Scene(rois, width=width, height=height, seed=seed)
        self._counts_at = counts_at
        self._night_at = night_at
        self._lock = threading.Lock()
        self._truth: dict[str, int] = {}
        self.server = MjpegServer(self._render, host=host, port=port, fps=fps, auth=auth)

    @classmethod
    def for_camera(
        cls,
        camera: CameraConfig,
        counts_at: CountsAt,
        *,
        night_at: NightAt = _day,
        seed: int = 0,
        fps: float = 10.0,
        port: int = 0,
        auth: HttpAuth | None = None,
    ) -> VirtualCamera:
        """A virtual camera whose scene has the ROIs of ``camera`` (image coordinates 0..1)."""
        rois = [SceneRoi(r.zone, tuple(r.polygon)) for r in camera.rois]
        return cls(rois, counts_at, night_at=night_at, seed=seed, fps=fps, port=port, auth=auth)

    @property
    def stream_url(self) -> str:
        return self.server.stream_url

    @property
    def snapshot_url(self) -> str:
        return self.server.snapshot_url

    @property
    def truth(self) -> dict[str, int]:
        """People per zone in the newest frame served."""
        with self._lock:
            return dict(self._truth)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> VirtualCamera:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _render(self, t_s: float) -> Frame:
        frame = self._scene.render(self._counts_at(t_s), t_s, night=self._night_at(t_s))
        with self._lock:
            self._truth = dict(frame.truth)
        return frame.image


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cameras.simulator.virtual_camera``: one virtual camera, until Ctrl-C."""
    import argparse
    import signal
    import tempfile
    from pathlib import Path

    from gateway.peers.rtsp import RtspServer

    parser = argparse.ArgumentParser(description="a virtual camera: MJPEG, snapshots, RTSP")
    parser.add_argument("--port", type=int, default=0, help="HTTP port (default: a free one)")
    parser.add_argument("--people", type=int, default=8, help="people in view")
    parser.add_argument("--night", action="store_true", help="infrared (grayscale) frames")
    parser.add_argument("--rtsp", action="store_true", help="also serve RTSP (GStreamer)")
    args = parser.parse_args(argv)
    roi = SceneRoi("view", ((0.05, 0.45), (0.95, 0.45), (0.95, 0.98), (0.05, 0.98)))
    people, night = args.people, args.night
    cam = VirtualCamera(
        [roi], lambda _t: {"view": people}, night_at=lambda _t: night, port=args.port
    )
    with cam, tempfile.TemporaryDirectory() as folder:
        print(f"MJPEG     {cam.stream_url}\nsnapshot  {cam.snapshot_url}", flush=True)
        rtsp = RtspServer(Path(folder), source_url=cam.stream_url) if args.rtsp else None
        if rtsp is not None:
            rtsp.start()
            print(f"RTSP      {rtsp.url}", flush=True)
        done = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: done.set())
        try:
            done.wait()
        finally:
            if rtsp is not None:
                rtsp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
