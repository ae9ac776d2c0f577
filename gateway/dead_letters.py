"""A bounded record of payloads that could not be decoded. Shell module (a file).

Each entry keeps the topic, the reason, the time and the payload (base64,
first 4 KiB). The newest ``max_entries`` are kept in memory for the API and in
``dead-letters.jsonl`` for the operator; the file is trimmed when it holds
twice that many lines. Counts per topic are kept for metrics.
"""

from __future__ import annotations

import base64
import json
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PAYLOAD_KEEP = 4096


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
    def __init__(self, path: Path, max_entries: int) -> None:
        self.path = path
        self.max_entries = max_entries
        self.recent: deque[DeadLetter] = deque(maxlen=max_entries)
        self.per_topic: Counter[str] = Counter()
        self._lines_in_file = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with self.path.open(encoding="utf-8") as fh:
                self._lines_in_file = sum(1 for _ in fh)

    def record(self, letter: DeadLetter) -> None:
        self.recent.append(letter)
        self.per_topic[letter.topic] += 1
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(letter.to_json() + "\n")
        self._lines_in_file += 1
        if self._lines_in_file > 2 * self.max_entries:
            self._trim()

    @property
    def total(self) -> int:
        return sum(self.per_topic.values())

    def _trim(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()[-self.max_entries :]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.path)
        self._lines_in_file = len(lines)
