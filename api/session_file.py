"""Login sessions saved across gateway restarts. Shell module (one JSON file).

The file holds, per session, the SHA-256 hash of its id (never the id itself,
so the file cannot be turned into a cookie), the token holder's name and role,
the expiry (epoch seconds) and a seal that ties it to the token it was made
with (api.auth.seal; never the token). It is rewritten atomically (fsync and rename,
mode 0600) when someone logs in or out. A file that cannot be read is logged
and ignored: everyone logs in again, nothing else is lost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import structlog

from api.auth import Principal, SavedSession
from gateway.settings import Role

log = structlog.get_logger("floorwatch.api")


class SessionFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[SavedSession]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [
                SavedSession(
                    str(e["key"]),
                    Principal(str(e["name"]), Role(e["role"])),
                    float(e["expires_at"]),
                    str(e["seal"]),
                )
                for e in data["sessions"]
            ]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("api.sessions_unreadable", path=str(self.path), reason=str(exc))
            return []

    def write(self, entries: list[SavedSession]) -> None:
        body = {
            "sessions": [
                {
                    "key": e.key,
                    "name": e.principal.name,
                    "role": e.principal.role.value,
                    "expires_at": e.expires_at,
                    "seal": e.seal,
                }
                for e in entries
            ]
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
