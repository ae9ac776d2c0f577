"""The events a ticket source has settled, kept across restarts. Shell module (a file).

``<state_dir>/ingest/<source>.seen`` holds one JSON line per settled event:
its identity (the SHA-256 key, hex), its fate (stored, ignored, rejected),
when it was first taken (Unix seconds) and, when rejected, the reason. The
ingest loads the lines within its window at its first request and appends
(and fsyncs) a stored event's line before it answers 2xx, so a sender's
retry after a gateway restart is still counted once. Pending events are
never written: after a crash they were not answered 2xx, and the retry
takes them again.

The file is rewritten with only the lines still in the window when it
holds more than twice ``max_lines``. Called from worker threads (one lock).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from gateway.ingest_events import Fate, Seen

_SETTLED = (Fate.STORED, Fate.IGNORED, Fate.REJECTED)


class SeenFile:
    def __init__(self, path: Path, max_lines: int) -> None:
        self.path = path
        self.max_lines = max_lines
        self._lock = threading.Lock()
        self._lines = 0
        self.skipped = 0  # lines that could not be read (a torn last line after a crash)

    def load(self, now: float, window_s: float) -> list[tuple[bytes, Seen]]:
        """The settled events first taken less than ``window_s`` before ``now``, oldest first."""
        with self._lock:
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
            out: list[tuple[bytes, Seen]] = []
            lines = text.splitlines()
            self._lines = len(lines)
            for line in lines:
                entry = _parse(line)
                if entry is None:
                    self.skipped += 1
                elif now - entry[1].at < window_s:
                    out.append(entry)
            return out

    def append(self, entries: list[tuple[bytes, Seen]], now: float, window_s: float) -> None:
        """Add settled events durably (write, fsync); compact when the file has grown."""
        lines = [_line(key, seen) for key, seen in entries if seen.fate in _SETTLED]
        if not lines:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = self._ends_torn()
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(("\n" if torn else "") + "\n".join(lines) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._lines += len(lines)
            if self._lines > 2 * self.max_lines:
                self._compact(now, window_s)

    def _ends_torn(self) -> bool:
        """Whether the file ends inside a line (a crash mid-append): start a new one."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() == 0:
                    return False
                fh.seek(-1, os.SEEK_END)
                return fh.read(1) != b"\n"
        except FileNotFoundError:
            return False

    def _compact(self, now: float, window_s: float) -> None:
        kept: list[str] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            entry = _parse(line)
            if entry is not None and now - entry[1].at < window_s:
                kept.append(line)
        kept = kept[-self.max_lines :]
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write("".join(f"{line}\n" for line in kept))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        self._lines = len(kept)


def _line(key: bytes, seen: Seen) -> str:
    record: dict[str, object] = {"key": key.hex(), "fate": seen.fate.value, "at": seen.at}
    if seen.reason is not None:
        record["reason"] = seen.reason
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _parse(line: str) -> tuple[bytes, Seen] | None:
    try:
        record = json.loads(line)
        key = bytes.fromhex(record["key"])
        fate = Fate(record["fate"])
        at = float(record["at"])
        reason = record.get("reason")
    except (ValueError, KeyError, TypeError):
        return None
    if fate not in _SETTLED or not (reason is None or isinstance(reason, str)):
        return None
    return key, Seen(fate, at, reason)
