"""gateway.logs: structlog's lines and stdlib logging's (uvicorn, paho) never share a line.

A gateway's JSON log once held ``{..."mqtt.subscribed"...}{..."Uvicorn running"...}``
on one line: structlog printed its text and its newline as two writes, and
uvicorn's line, from another thread, landed between them. Each line must reach
the stream as one write, under one lock, for both loggers.
"""

from __future__ import annotations

import io
import json
import logging
import threading

import structlog

from gateway.logs import configure_logging


class Recorder(io.StringIO):
    """A stream that keeps each write() it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)

    def isatty(self) -> bool:
        return False


def test_each_line_of_either_logger_is_one_write() -> None:
    out = Recorder()
    configure_logging(json=True, stream=out)
    structlog.get_logger("floorwatch.test").info("mqtt.subscribed", topics=35)
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:1")
    assert len(out.writes) == 2
    for text in out.writes:
        assert text.endswith("\n") and text.count("\n") == 1, text
        json.loads(text)
    assert [json.loads(t)["event"] for t in out.writes] == [
        "mqtt.subscribed",
        "Uvicorn running on http://127.0.0.1:1",
    ]


def test_lines_from_many_threads_stay_whole() -> None:
    out = Recorder()
    configure_logging(json=True, stream=out)
    log = structlog.get_logger("floorwatch.test")
    stdlib = logging.getLogger("uvicorn.error")

    def both(i: int) -> None:
        for j in range(200):
            log.info("from.structlog", thread=i, j=j)
            stdlib.info("from stdlib %d %d", i, j)

    threads = [threading.Thread(target=both, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 * 200 * 2
    events = [json.loads(line)["event"] for line in lines]  # every line parses alone
    assert events.count("from.structlog") == 800
