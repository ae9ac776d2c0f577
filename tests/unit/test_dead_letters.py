"""DeadLetters: no I/O per record, one append per flush, bounded counts, queue and file."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

from gateway.dead_letters import PAYLOAD_KEEP, DeadLetter, DeadLetters

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _letter(topic: str, payload: bytes = b"{") -> DeadLetter:
    return DeadLetter(topic, "not JSON", T0, payload, "s1")


def test_record_writes_nothing_until_flush_which_appends_all_at_once(tmp_path: Path) -> None:
    dead = DeadLetters(tmp_path / "dl.jsonl", max_entries=100)
    dead.open()
    for i in range(30):
        dead.record(_letter(f"t/{i}"))
    assert not dead.path.exists() and dead.queued == 30
    assert dead.flush() == 30
    assert dead.flush() == 0  # nothing queued: no write
    lines = dead.path.read_text().splitlines()
    assert [json.loads(x)["topic"] for x in lines] == [f"t/{i}" for i in range(30)]
    assert dead.flushes == 1 and dead.total == 30


def test_counts_per_topic_keep_the_recent_topics_only(tmp_path: Path) -> None:
    dead = DeadLetters(tmp_path / "dl.jsonl", max_entries=10, max_topics=3)
    for topic in ["a", "b", "a", "c", "d"]:
        dead.record(_letter(topic))
    assert dict(dead.per_topic) == {"a": 2, "c": 1, "d": 1}  # b was the least recent
    assert dead.count_for("a") == 2 and dead.count_for("b") == 0
    assert dead.total == 5


def test_a_disk_that_falls_behind_keeps_the_newest_queued_lines(tmp_path: Path) -> None:
    dead = DeadLetters(tmp_path / "dl.jsonl", max_entries=10)
    for i in range(25):
        dead.record(_letter(f"t/{i}"))
    assert dead.queued == 10 and dead.unwritten == 15
    dead.flush()
    topics = [json.loads(x)["topic"] for x in dead.path.read_text().splitlines()]
    assert topics == [f"t/{i}" for i in range(15, 25)]


def test_the_file_is_trimmed_to_the_newest_entries(tmp_path: Path) -> None:
    dead = DeadLetters(tmp_path / "dl.jsonl", max_entries=10)
    dead.open()
    for round_ in range(3):
        for i in range(10):
            dead.record(_letter(f"r{round_}/{i}"))
        dead.flush()
    lines = dead.path.read_text().splitlines()
    assert len(lines) == 10
    assert json.loads(lines[-1])["topic"] == "r2/9"


def test_a_payload_is_kept_up_to_4_kib_with_its_size(tmp_path: Path) -> None:
    dead = DeadLetters(tmp_path / "dl.jsonl", max_entries=10)
    dead.record(_letter("big", b"x" * (PAYLOAD_KEEP * 3)))
    dead.flush()
    entry = json.loads(dead.path.read_text())
    assert entry["payload_bytes"] == PAYLOAD_KEEP * 3
    assert base64.b64decode(entry["payload_b64"]) == b"x" * PAYLOAD_KEEP
