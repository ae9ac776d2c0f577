"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP server.

Both listen on free loopback ports, record what they receive, and can be stopped
and started again on the same port (a channel that is down for a while).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class HttpReceiver:
    """Answers every request with ``answer(request)`` -> (status, JSON) and records it."""

    port: int = field(default_factory=free_port)
    answer: Callable[[Request], tuple[int, Any]] = lambda r: (200, {"ok": True})
    requests: list[Request] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                status, data = receiver.answer(req)
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with receiver._cond:
                    receiver.requests.append(req)
                    receiver._cond.notify_all()

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate: Callable[[list[Request]], bool], timeout: float = 20) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.requests), timeout)
        assert ok, f"not received in {timeout} s; got {[(r.method, r.path) for r in self.requests]}"


@dataclass
class Mail:
    mail_from: str
    to: list[str]
    subject: str
    text: str


@dataclass
class SmtpReceiver:
    port: int = field(default_factory=free_port)
    mails: list[Mail] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _controller: Controller | None = None

    def start(self) -> SmtpReceiver:
        receiver = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                part = msg.get_body(preferencelist=("plain",))
                text = part.get_content() if part is not None else ""
                with receiver._cond:
                    receiver.mails.append(
                        Mail(envelope.mail_from, list(envelope.rcpt_tos), str(msg["subject"]), text)
                    )
                    receiver._cond.notify_all()
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, to: str = "supervisor@hcc.example.vn") -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?to={to}&from=floorwatch@hcc.example.vn&mode=insecure"
        )

    def wait_for(self, predicate: Callable[[list[Mail]], bool], timeout: float = 20) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.mails), timeout)
        assert ok, f"not received in {timeout} s; got {[m.subject for m in self.mails]}"
