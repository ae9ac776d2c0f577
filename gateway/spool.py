"""A durable on-disk FIFO of line-protocol batches. Shell module (files, fsync).

Layout of the spool folder::

    00000000000000000042.lp        one batch: its lines, UTF-8, one per line
    00000000000000000043.lp
    00000000000000000044.lp.tmp    an append that was interrupted (removed on open)
    rejected/00000000000000000017.lp          a batch the database refused for good
    rejected/00000000000000000017.lp.reason   why (the server's message), and when

Durability: ``append`` writes the batch to a temp file, fsyncs it, renames it to
the next segment name and fsyncs the folder. A rename is atomic, so a crash or
SIGKILL at any instant leaves either the whole batch under its final name or
only a temp file, which the next ``open`` deletes. ``remove`` does not fsync the
folder: after a power cut a removed segment may come back and be written again,
which InfluxDB absorbs (same series and timestamp overwrite the point).

All methods are thread-safe (one lock); the writer calls them from worker
threads so the event loop never waits for a disk.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".lp"
TMP_SUFFIX = ".tmp"
REASON_SUFFIX = ".reason"
REJECTED = "rejected"
_NAME_DIGITS = 20


class SpoolFull(Exception):
    """Appending the batch would take the spool past its ``max_bytes``."""


@dataclass(frozen=True, slots=True)
class _Segment:
    seq: int
    size: int
    mtime: float


class Spool:
    """A bounded FIFO of batches in ``path``; opened lazily on first use (or by ``open``)."""

    def __init__(self, path: Path, *, max_bytes: int, max_rejected: int = 1000) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_rejected = max_rejected
        self._lock = threading.Lock()
        self._segments: dict[int, _Segment] = {}
        self._size = 0
        self._count = 0
        self._oldest_mtime: float | None = None
        self._next_seq = 1
        self._opened = False

    # ------------------------------------------------------------------ open

    def open(self) -> None:
        """Create the folder, delete leftover temp files, index the segments (idempotent)."""
        with self._lock:
            self._open_locked()

    def _ensure_open(self) -> None:
        if not self._opened:
            self.open()

    def _open_locked(self) -> None:
        if self._opened:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / REJECTED).mkdir(exist_ok=True)
        highest = 0
        for entry in self.path.iterdir():
            if entry.name.endswith(TMP_SUFFIX):
                entry.unlink(missing_ok=True)
                continue
            seq = _seq_of(entry.name)
            if seq is None or not entry.is_file():
                continue
            st = entry.stat()
            self._segments[seq] = _Segment(seq, st.st_size, st.st_mtime)
            highest = max(highest, seq)
        for entry in (self.path / REJECTED).iterdir():
            seq = _seq_of(entry.name)
            if seq is not None:
                highest = max(highest, seq)
        self._segments = dict(sorted(self._segments.items()))
        self._size = sum(s.size for s in self._segments.values())
        self._update_gauges()
        self._next_seq = highest + 1
        _fsync_dir(self.path)
        self._opened = True

    # ------------------------------------------------------------------ queue

    def append(self, lines: list[str]) -> int:
        """Store one batch durably; return its segment id. Raises SpoolFull, OSError."""
        data = _encode(lines)
        with self._lock:
            self._open_locked()
            if self._size + len(data) > self.max_bytes:
                raise SpoolFull(
                    f"spool holds {self._size} of {self.max_bytes} bytes;"
                    f" a batch of {len(data)} bytes does not fit"
                )
            seq = self._next_seq
            self._next_seq += 1
            final = self._segment_path(seq)
            tmp = final.with_name(final.name + TMP_SUFFIX)
            try:
                _write_synced(tmp, data)
                os.replace(tmp, final)
            except OSError:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_dir(self.path)
            self._segments[seq] = _Segment(seq, len(data), final.stat().st_mtime)
            self._size += len(data)
            self._update_gauges()
            return seq

    def peek(self) -> tuple[int, list[str]] | None:
        """The oldest batch as (segment id, lines), or None when the spool is empty."""
        with self._lock:
            self._open_locked()
            while self._segments:
                seq = next(iter(self._segments))
                try:
                    raw = self._segment_path(seq).read_bytes()
                    text = raw.decode("utf-8")
                except FileNotFoundError:
                    self._forget(seq)
                    continue
                except UnicodeDecodeError as exc:
                    self._quarantine_locked(seq, f"segment is not valid UTF-8: {exc}")
                    continue
                return seq, text.splitlines()
            return None

    def remove(self, segment_id: int) -> None:
        """Delete a batch that reached the database."""
        with self._lock:
            self._open_locked()
            self._segment_path(segment_id).unlink(missing_ok=True)
            self._forget(segment_id)

    def quarantine(self, segment_id: int, reason: str) -> Path:
        """Move a batch the database refuses for good into ``rejected/`` with the reason."""
        with self._lock:
            self._open_locked()
            return self._quarantine_locked(segment_id, reason)

    def reject(self, lines: list[str], reason: str) -> Path:
        """Store a refused batch that never was in the queue straight into ``rejected/``."""
        data = _encode(lines)
        with self._lock:
            self._open_locked()
            seq = self._next_seq
            self._next_seq += 1
            target = self.path / REJECTED / _name(seq)
            tmp = target.with_name(target.name + TMP_SUFFIX)
            _write_synced(tmp, data)
            os.replace(tmp, target)
            self._write_reason(target, reason)
            self._trim_rejected()
            return target

    # ------------------------------------------------------------------ gauges

    # Gauges read plain attributes without the lock, so the event loop never waits
    # behind a worker thread's fsync (an int or float read is atomic in CPython).

    @property
    def size_bytes(self) -> int:
        self._ensure_open()
        return self._size

    @property
    def count(self) -> int:
        self._ensure_open()
        return self._count

    @property
    def fill_ratio(self) -> float:
        return self.size_bytes / self.max_bytes

    def oldest_age_s(self, now: float) -> float:
        """Seconds since the oldest batch was spooled (``now``: Unix time); 0 when empty."""
        self._ensure_open()
        oldest = self._oldest_mtime
        return 0.0 if oldest is None else max(0.0, now - oldest)

    def rejected(self) -> list[Path]:
        """The quarantined batches, oldest first."""
        with self._lock:
            self._open_locked()
            return sorted(
                p for p in (self.path / REJECTED).iterdir() if _seq_of(p.name) is not None
            )

    # ------------------------------------------------------------------ internals

    def _segment_path(self, seq: int) -> Path:
        return self.path / _name(seq)

    def _forget(self, seq: int) -> None:
        segment = self._segments.pop(seq, None)
        if segment is not None:
            self._size -= segment.size
            self._update_gauges()

    def _update_gauges(self) -> None:
        self._count = len(self._segments)
        self._oldest_mtime = next(iter(self._segments.values())).mtime if self._segments else None

    def _quarantine_locked(self, seq: int, reason: str) -> Path:
        source = self._segment_path(seq)
        target = self.path / REJECTED / source.name
        with contextlib.suppress(FileNotFoundError):
            os.replace(source, target)
        self._forget(seq)
        self._write_reason(target, reason)
        _fsync_dir(self.path)
        self._trim_rejected()
        return target

    def _write_reason(self, target: Path, reason: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        note = target.with_name(target.name + REASON_SUFFIX)
        _write_synced(note, f"{stamp} {reason}\n".encode())
        _fsync_dir(target.parent)

    def _trim_rejected(self) -> None:
        folder = self.path / REJECTED
        batches = sorted(p for p in folder.iterdir() if _seq_of(p.name) is not None)
        for old in batches[: max(0, len(batches) - self.max_rejected)]:
            old.unlink(missing_ok=True)
            old.with_name(old.name + REASON_SUFFIX).unlink(missing_ok=True)


def _name(seq: int) -> str:
    return f"{seq:0{_NAME_DIGITS}d}{SUFFIX}"


def _seq_of(name: str) -> int | None:
    stem, dot, ext = name.partition(".")
    if not dot or "." + ext != SUFFIX or not stem.isdigit():
        return None
    return int(stem)


def _encode(lines: list[str]) -> bytes:
    for line in lines:
        if "\n" in line or "\r" in line:
            raise ValueError(f"a line-protocol line contains a line break: {line[:80]!r}")
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
