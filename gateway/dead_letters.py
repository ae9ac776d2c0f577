"""A bounded record of payloads that could not be decoded. Shell module (a file).

Each entry keeps the topic, the reason, the time and the payload (base64,
first 4 KiB). The newest ``max_entries`` are kept in memory for the API and in
``dead-letters.jsonl`` for the operator; the file is trimmed when it holds
twice that many lines.

``record`` runs on the event loop and only touches memory: it queues the
entry's JSON line, and ``flush`` (called from a worker thread by the hub,
a few times a second) appends what is queued in one write. A flood of bad
messages is one write per flush, not one open/write/close per message; if the
disk falls behind, only the newest ``max_entries`` queued lines are kept (the
file keeps no more than that anyway) and the rest are counted in
``unwritten``.

Counts: ``total`` since start, and per topic and per sensor for the
``max_topics`` topics (sensors) seen most recently (LRU): a wildcard
subscription receiving 50,000 topics of garbage does not grow a table of
50,000 counters. The per-sensor counts are the decode errors per sensor of
``/metrics`` and the counts of the dead-letters API and the device list.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PAYLOAD_KEEP = 4096
MAX_TOPICS = 1000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    reason: str
    at: datetime
    payload: bytes
    sensor_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "topic": self.topic,
                "sensor": self.sensor_id,
                "reason": self.reason,
                "payload_b64": base64.b64encode(self.payload[:PAYLOAD_KEEP]).decode("ascii"),
                "payload_bytes": len(self.payload),
            },
            ensure_ascii=False,
        )


class DeadLetters:
    def __init__(self, path: Path, max_entries: int, max_topics: int = MAX_TOPICS) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_topics = max_topics
        self.recent: deque[DeadLetter] = deque(maxlen=max_entries)
        self.per_topic: OrderedDict[str, int] = OrderedDict()  # newest topics last, bounded
        self.per_sensor: OrderedDict[str, int] = OrderedDict()  # the same, by sensor id
        self.total = 0
        self.unwritten = 0  # lines dropped from the queue because the disk fell behind
        self.flushes = 0
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()  # the queue, between the loop and the flushing thread
        self._file_lock = threading.Lock()  # one flush at a time
        self._lines_in_file = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with self.path.open(encoding="utf-8") as fh:
                self._lines_in_file = sum(1 for _ in fh)

    def record(self, letter: DeadLetter) -> None:
        """Keep the letter in memory and queue its line for the file; no I/O."""
        self.recent.append(letter)
        self.total += 1
        count = self.per_topic.pop(letter.topic, 0) + 1
        self.per_topic[letter.topic] = count
        if len(self.per_topic) > self.max_topics:
            self.per_topic.popitem(last=False)
        if letter.sensor_id is not None:
            self.per_sensor[letter.sensor_id] = self.per_sensor.pop(letter.sensor_id, 0) + 1
            if len(self.per_sensor) > self.max_topics:
                self.per_sensor.popitem(last=False)
        line = letter.to_json()
        with self._lock:
            self._queue.append(line)
            if len(self._queue) > self.max_entries:
                self._queue.popleft()
                self.unwritten += 1

    def count_for(self, topic: str) -> int:
        """Dead letters of ``topic`` while it is among the recently seen topics."""
        return self.per_topic.get(topic, 0)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Append the queued lines to the file in one write (a worker thread); return them."""
        with self._file_lock:
            with self._lock:
                lines = list(self._queue)
                self._queue.clear()
            if not lines:
                return 0
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            self.flushes += 1
            self._lines_in_file += len(lines)
            if self._lines_in_file > 2 * self.max_entries:
                self._trim()
            return len(lines)

    def _trim(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()[-self.max_entries :]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.path)
        self._lines_in_file = len(lines)
