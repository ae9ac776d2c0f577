"""Durable state of the door counters (their last totals). Shell module (a file).

Saved, fsynced, right before the messages that moved the counters are
acknowledged: after a crash, the broker redelivers exactly the messages after
the saved state, so no door passage is counted twice or lost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class CounterStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: str | None = None

    def load(self) -> Any | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        self._last = text
        return json.loads(text)

    def save(self, snapshot: object) -> None:
        text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
        if text == self._last:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._last = text
