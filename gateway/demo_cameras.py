"""The demo's virtual ONVIF infrared cameras, filming the sensor simulator's truth. Shell module.

For each camera of the site file: a synthetic scene served as MJPEG
(``cameras.simulator.virtual_camera``), in front of it a real GStreamer RTSP
server for the first camera (the path real cameras use), and a virtual ONVIF
device (``cameras.simulator.onvif_server``) that hands out the stream URI. The
gateway then finds the stream over ONVIF with a per-run random password, as it
would on site. People in each view follow the simulated center's occupancy of
the zone; the scene turns infrared (grayscale) outside 06:00-18:00 local.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from pydantic import SecretStr

from cameras.simulator.onvif_server import OnvifCameraServer
from cameras.simulator.virtual_camera import VirtualCamera
from gateway.peers.process import PeerError
from gateway.peers.rtsp import RtspServer
from gateway.settings import CameraConfig

log = structlog.get_logger("floorwatch.demo")

FPS = 5.0  # a frame of the synthetic scene costs ~15-19 ms of CPU at 640x480


class DemoCameras:
    def __init__(
        self,
        cameras: Sequence[CameraConfig],
        truth: Callable[[], Mapping[str, int]],
        sim_now: Callable[[], datetime | None],
        *,
        folder: Path,
        timezone: str,
        rtsp: bool = True,
    ) -> None:
        self._cameras = cameras
        self._truth = truth
        self._sim_now = sim_now
        self._folder = folder
        self._tz = ZoneInfo(timezone)
        self._rtsp = rtsp
        self._virtual: list[VirtualCamera] = []
        self._onvif: list[OnvifCameraServer] = []
        self._rtsp_servers: list[RtspServer] = []
        self.transport: dict[str, str] = {}  # camera id -> "rtsp" | "mjpeg"

    async def start(self) -> list[CameraConfig]:
        """Start every virtual camera; the site's camera configs, pointed at them."""
        configured: list[CameraConfig] = []
        for index, cam in enumerate(self._cameras):
            vcam = VirtualCamera.for_camera(
                cam, self._counts_for(cam), night_at=self._night, seed=index, fps=FPS
            )
            vcam.start()
            self._virtual.append(vcam)
            stream = vcam.stream_url
            self.transport[cam.id] = "mjpeg"
            if self._rtsp and index == 0:
                stream = await self._rtsp_in_front(cam, vcam) or stream
            password = secrets.token_urlsafe(12)
            server = OnvifCameraServer(
                username=cam.onvif.username,
                password=password,
                stream_uri=stream,
                snapshot_uri=vcam.snapshot_url,
            )
            await server.start()
            self._onvif.append(server)
            onvif = cam.onvif.model_copy(
                update={"host": server.host, "port": server.port, "password": SecretStr(password)}
            )
            configured.append(cam.model_copy(update={"onvif": onvif, "stream_uri": None}))
        return configured

    async def _rtsp_in_front(self, cam: CameraConfig, vcam: VirtualCamera) -> str | None:
        rtsp = RtspServer(self._folder / f"rtsp-{cam.id}", source_url=vcam.stream_url, fps=int(FPS))
        try:
            rtsp.launch()  # from the loop's (main) thread: it dies with the demo
            await asyncio.to_thread(rtsp.wait_ready)
        except PeerError as exc:
            log.warning("demo.rtsp_unavailable", camera=cam.id, reason=str(exc))
            return None
        self._rtsp_servers.append(rtsp)
        self.transport[cam.id] = "rtsp"
        return rtsp.url

    async def stop(self) -> None:
        for server in self._onvif:
            with contextlib.suppress(Exception):
                await server.stop()
        for rtsp in self._rtsp_servers:
            await asyncio.to_thread(rtsp.stop)
        for vcam in self._virtual:
            await asyncio.to_thread(vcam.stop)

    def _counts_for(self, cam: CameraConfig) -> Callable[[float], Mapping[str, int]]:
        zones = [roi.zone for roi in cam.rois]

        def counts(_t_s: float) -> Mapping[str, int]:
            truth = self._truth()
            return {zone: truth.get(zone, 0) for zone in zones}

        return counts

    def _night(self, _t_s: float) -> bool:
        now = self._sim_now()
        if now is None:
            return False
        hour = now.astimezone(self._tz).hour
        return not 6 <= hour < 18
