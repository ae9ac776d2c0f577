"""The demo's notifications and report: a local webhook receiver and the played day's report.

``floorwatch demo`` sends its alert notifications to a small HTTP receiver on a free
loopback port, which writes each call it receives to ``<state_dir>/notifications/``
(one JSON file per message), and at the end of the run writes the played day's report
to ``<state_dir>/reports/``. Shell module (a thread serving HTTP, files).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.influx_query import HistoryError
from gateway.notify.config import NotificationSettings
from gateway.report.reader import ClosedDay, ReportReader
from gateway.settings import Settings

CHANNEL = "demo-webhook"


class NotificationReceiver:
    """A webhook on 127.0.0.1 writing what it receives to ``folder/NNNN-<kind>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._server: ThreadingHTTPServer | None = None
        self._count = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/notify"

    def start(self) -> NotificationReceiver:
        self.folder.mkdir(parents=True, exist_ok=True)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1_000_000))
                receiver._write(body, self.headers.get("Idempotency-Key") or "")
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet: the files are the record."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="demo-notify", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _write(self, body: bytes, key: str) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            data = {"raw": body.decode(errors="replace")}
        if not isinstance(data, dict):
            data = {"raw": data}
        data["idempotency_key"] = key
        data["received_at"] = datetime.now(UTC).isoformat()
        with self._lock:
            self._count += 1
            kind = str(data.get("kind") or "message").replace("/", "_")[:20]
            path = self.folder / f"{self._count:04d}-{kind}.json"
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def demo_notifications(url: str, language: str) -> NotificationSettings:
    """Every alert transition of the demo to the receiver at once (no quiet hours: the demo
    plays its day at any hour)."""
    return NotificationSettings.model_validate(
        {
            "language": language,
            "channels": [
                {
                    "id": CHANNEL,
                    "type": "http",
                    "name": "demo receiver",
                    "url": url,
                    "json_body": {
                        "title": "{title}",
                        "body": "{body}",
                        "severity": "{severity}",
                        "kind": "{kind}",
                        "alert_ids": "{alert_ids}",
                        "zone": "{zone}",
                    },
                }
            ],
            "roles": {"supervisor": [CHANNEL], "manager": [CHANNEL]},
            "routes": [{"name": "every alert", "notify": ["supervisor"], "quiet_hours": False}],
            "reports": {"notify": ["manager"]},
        }
    )


def write_played_report(settings: Settings, out: Path, now: datetime) -> str:
    """The report of the day the demo played (today, site time: the simulator stamps with the
    wall clock); on a day the center is closed, of the last open day of the history."""
    from gateway.report.model import build_report
    from gateway.report.scheduler import write_daily

    tz = ZoneInfo(settings.site.timezone)
    reader = ReportReader(settings)
    today = now.astimezone(tz).date()
    day: date = today
    note = ""
    while reader.closed_reason(day) is not None and today - day < timedelta(days=14):
        day -= timedelta(days=1)
    if day != today:
        note = f" (today is closed: {reader.closed_reason(today)}; the last open day instead)"
    try:
        report = build_report(reader.figures(day))
        produced = write_daily(report, settings.notifications.language, out, now.astimezone(tz))
    except (ClosedDay, HistoryError, OSError, RuntimeError) as exc:
        return f"demo: no report written: {exc}"
    return f"demo: the report of {day.isoformat()}{note}: {produced.pdf}"
