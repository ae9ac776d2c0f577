"""A virtual camera's HTTP server: an MJPEG stream and a snapshot JPEG. Shell module.

``GET /stream.mjpg`` answers ``multipart/x-mixed-replace`` with one JPEG part per
frame (what OpenCV/FFmpeg, browsers and most NVRs read as "HTTP MJPEG");
``GET /snapshot.jpg`` answers the newest frame as one JPEG (the ONVIF
GetSnapshotUri kind of endpoint). Frames come from ``render(t_s)`` at ``fps``,
rendered and encoded once by a producer thread and shared by every client.

Authentication is optional: HTTP Basic, or HTTP Digest (RFC 7616, MD5,
``qop=auth``), as IP cameras offer. ``hold()`` freezes the stream while the
connections stay open (a hung camera, for stall tests); ``resume()`` ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import cv2
import numpy as np
import structlog
from numpy.typing import NDArray

log = structlog.get_logger("floorwatch.cameras.simulator.mjpeg")

BOUNDARY = "floorwatchframe"
STREAM_PATH = "/stream.mjpg"
SNAPSHOT_PATH = "/snapshot.jpg"

Frame = NDArray[np.uint8]
Render = Callable[[float], Frame]


@dataclass(frozen=True, slots=True)
class HttpAuth:
    """Credentials the server demands, and how (``basic`` or ``digest``)."""

    username: str
    password: str
    scheme: Literal["basic", "digest"] = "digest"
    realm: str = "floorwatch-virtual-camera"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_auth_params(header: str) -> dict[str, str]:
    """``Digest a="1", b=2`` -> {"a": "1", "b": "2"} (quoted values may hold commas)."""
    _, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lstrip(",").strip().lower()
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            end = rest.find('"', i + 1)
            end = len(rest) if end < 0 else end
            params[key] = rest[i + 1 : end]
            i = end + 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
        while i < len(rest) and rest[i] in ", ":
            i += 1
    return params


class _Authenticator:
    """Checks Authorization headers against one set of credentials."""

    def __init__(self, auth: HttpAuth) -> None:
        self.auth = auth
        self._nonces: dict[str, None] = {}
        self._lock = threading.Lock()

    def challenge(self) -> str:
        realm = self.auth.realm
        if self.auth.scheme == "basic":
            return f'Basic realm="{realm}"'
        nonce = secrets.token_hex(16)
        with self._lock:
            self._nonces[nonce] = None
            while len(self._nonces) > 1024:
                self._nonces.pop(next(iter(self._nonces)))
        return f'Digest realm="{realm}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def check(self, header: str | None, method: str) -> bool:
        if not header:
            return False
        if self.auth.scheme == "basic":
            return self._check_basic(header)
        return self._check_digest(header, method)

    def _check_basic(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        expected = f"{self.auth.username}:{self.auth.password}"
        return hmac.compare_digest(decoded, expected)

    def _check_digest(self, header: str, method: str) -> bool:
        if not header.lower().startswith("digest "):
            return False
        p = parse_auth_params(header)
        with self._lock:
            known = p.get("nonce", "") in self._nonces
        if not known or p.get("username") != self.auth.username:
            return False
        ha1 = _md5(f"{self.auth.username}:{self.auth.realm}:{self.auth.password}")
        ha2 = _md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expected = _md5(
                f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}"
            )
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return hmac.compare_digest(expected, p.get("response", ""))


class _FrameBoard:
    """The newest encoded frame, with a sequence number clients wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.seq = 0

    def publish(self, jpeg: bytes) -> None:
        with self.cond:
            self.jpeg = jpeg
            self.seq += 1
            self.cond.notify_all()

    def wait_newer(self, seq: int, timeout_s: float) -> tuple[int, bytes | None]:
        with self.cond:
            self.cond.wait_for(lambda: self.seq != seq, timeout_s)
            return self.seq, self.jpeg


class MjpegServer:
    """An HTTP MJPEG + snapshot server on ``host:port`` (port 0: a free one)."""

    def __init__(
        self,
        render: Render,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fps: float = 10.0,
        quality: int = 80,
        auth: HttpAuth | None = None,
    ) -> None:
        self._render = render
        self._host = host
        self._port = port
        self._fps = fps
        self._quality = quality
        self._auth = _Authenticator(auth) if auth is not None else None
        self._board = _FrameBoard()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._clients = 0
        self._max_clients = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public

    @property
    def port(self) -> int:
        if self._httpd is None:
            return self._port
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def stream_url(self) -> str:
        return self.base_url + STREAM_PATH

    @property
    def snapshot_url(self) -> str:
        return self.base_url + SNAPSHOT_PATH

    @property
    def stream_clients(self) -> int:
        """Stream connections open now."""
        with self._lock:
            return self._clients

    @property
    def max_stream_clients(self) -> int:
        """The most stream connections that were open at once."""
        with self._lock:
            return self._max_clients

    def start(self) -> None:
        """Bind, render a first frame, then serve in background threads."""
        if self._httpd is not None:
            return
        self._stop.clear()
        self._board.publish(self._encode(0.0))
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((self._host, self._port), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._port = int(httpd.server_address[1])
        self._threads = [
            threading.Thread(target=httpd.serve_forever, name="mjpeg-http", daemon=True),
            threading.Thread(target=self._produce, name="mjpeg-producer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("mjpeg.started", url=self.base_url, fps=self._fps)

    def stop(self) -> None:
        """Stop serving; open stream connections end within a second."""
        self._stop.set()
        self._running.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for thread in self._threads:
            thread.join(5)
        self._threads = []

    def hold(self) -> None:
        """Stop sending frames, keep connections open: a hung camera."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def __enter__(self) -> MjpegServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _encode(self, t_s: float) -> bytes:
        ok, buf = cv2.imencode(".jpg", self._render(t_s), [cv2.IMWRITE_JPEG_QUALITY, self._quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return bytes(buf.tobytes())

    def _produce(self) -> None:
        period = 1.0 / self._fps
        t0 = time.monotonic()
        next_at = t0
        while not self._stop.is_set():
            next_at += period
            if self._running.is_set():
                try:
                    self._board.publish(self._encode(time.monotonic() - t0))
                except Exception as exc:  # per-frame guard: log and go on
                    log.warning("mjpeg.render_failed", error=repr(exc))
            delay = next_at - time.monotonic()
            if delay < -period:  # fell behind: do not try to catch up
                next_at = time.monotonic()
            self._stop.wait(max(0.0, delay))

    def _client_delta(self, delta: int) -> None:
        with self._lock:
            self._clients += delta
            self._max_clients = max(self._max_clients, self._clients)


def _make_handler(server: MjpegServer) -> type[BaseHTTPRequestHandler]:
    board = server._board  # the handler is part of the server
    auth = server._auth
    stop = server._stop
    running = server._running

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "floorwatch-virtual-camera/1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # request lines may carry a query with credentials: never log them

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if auth is not None and not auth.check(self.headers.get("Authorization"), "GET"):
                self.send_response(401)
                self.send_header("WWW-Authenticate", auth.challenge())
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = self.path.split("?", 1)[0]
            if path == SNAPSHOT_PATH:
                self._snapshot()
            elif path == STREAM_PATH:
                self._stream()
            else:
                self.send_error(404)

        def _snapshot(self) -> None:
            _, jpeg = board.wait_newer(-1, 0)
            body = jpeg or b""
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            server._client_delta(+1)
            try:
                self._stream_parts()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass
            finally:
                server._client_delta(-1)

        def _stream_parts(self) -> None:
            sent = -1
            while not stop.is_set():
                seq, jpeg = board.wait_newer(sent, 0.5)
                if jpeg is None or seq == sent or not running.is_set():
                    continue
                sent = seq
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode()
                self.wfile.write(head + jpeg + b"\r\n")
                self.wfile.flush()

    return Handler
