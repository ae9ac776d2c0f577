"""A real RTSP server for the virtual camera: GStreamer's RTSP server through python3-gi.

Run by the SYSTEM python (``/usr/bin/python3``, which has python3-gi; the
project's virtualenv has not), as a script; it imports nothing of floorwatch::

    /usr/bin/python3 cameras/simulator/rtsp_server.py --port 8554 \\
        --source http://127.0.0.1:8081/stream.mjpg        # re-encode an MJPEG stream
    /usr/bin/python3 cameras/simulator/rtsp_server.py --port 8554 --pattern   # test pattern

It serves ``rtsp://127.0.0.1:PORT/stream`` (``--path``) as H.264 over RTP
(``x264enc tune=zerolatency`` -> ``rtph264pay``), one shared pipeline for all
clients, TCP or UDP transport as the client asks. ``--source`` pulls the
MJPEG stream with ``souphttpsrc`` (so the RTSP picture is the virtual camera's
scene); ``--pattern`` uses ``videotestsrc``.

Secrets come from the environment, never from argv (which ``ps`` shows):
``RTSP_USERNAME`` / ``RTSP_PASSWORD`` make the server demand them (HTTP Digest
style RTSP authentication, as IP cameras do), ``SOURCE_USERNAME`` /
``SOURCE_PASSWORD`` are sent to the MJPEG source. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

import gi  # type: ignore[import-not-found, unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # type: ignore[import-not-found, unused-ignore]  # noqa: E402, I001


def pipeline(args: argparse.Namespace) -> str:
    """The gst-launch description of one media (``pay0`` is what the server streams)."""
    caps = f"video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1"
    if args.pattern:
        source = f"videotestsrc is-live=true pattern=ball ! {caps}"
    else:
        source = (
            f'souphttpsrc location="{args.source}" is-live=true do-timestamp=true name=src'
            " ! multipartdemux ! jpegdec ! videoconvert ! videoscale ! videorate"
            f" ! {caps}"
        )
    return (
        f"( {source} ! queue leaky=downstream max-size-buffers=2 ! videoconvert"
        f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps}"
        f" bitrate={args.bitrate_kbps} ! video/x-h264,profile=baseline"
        " ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


class Factory(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
    """A media factory that also hands the source's credentials to souphttpsrc."""

    def __init__(self, launch: str, user: str | None, password: str | None) -> None:
        super().__init__()
        self.set_launch(launch)
        self.set_shared(True)
        self._user = user
        self._password = password

    def do_create_element(self, url: Any) -> Any:
        element = GstRtspServer.RTSPMediaFactory.do_create_element(self, url)
        if self._user is not None and element is not None:
            src = element.get_by_name("src")
            if src is not None:
                src.set_property("user-id", self._user)
                src.set_property("user-pw", self._password or "")
        return element


def _auth(user: str, password: str) -> Any:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "viewer")
    auth.add_digest(user, password, token)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    return auth


def _permissions() -> Any:
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("viewer", "media.factory.access", True)
    permissions.add_permission_for_role("viewer", "media.factory.construct", True)
    return permissions


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/stream")
    parser.add_argument("--source", help="MJPEG URL to re-encode")
    parser.add_argument("--pattern", action="store_true", help="a test pattern instead")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--bitrate-kbps", type=int, default=1500)
    args = parser.parse_args(argv)
    if bool(args.source) == bool(args.pattern):
        parser.error("give exactly one of --source URL or --pattern")

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = Factory(
        pipeline(args), os.environ.get("SOURCE_USERNAME"), os.environ.get("SOURCE_PASSWORD")
    )
    user, password = os.environ.get("RTSP_USERNAME"), os.environ.get("RTSP_PASSWORD")
    if user:
        server.set_auth(_auth(user, password or ""))
        factory.set_permissions(_permissions())
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"rtsp_server: cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"rtsp_server: ready rtsp://{args.host}:{args.port}{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
