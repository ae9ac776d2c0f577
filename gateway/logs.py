"""structlog set-up: JSON in production, readable on a terminal, secrets scrubbed.

stdlib logging (paho, uvicorn, httpx) is routed into the same stream.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from gateway.scrub import scrub_text as scrub_text  # re-exported: the processors' rule

_SECRET_KEYS = ("password", "token", "secret", "authorization")


def scrub_secrets(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: hide credentials in URLs and values of secret-named keys."""
    for key, value in list(event_dict.items()):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event_dict[key] = "***"
        elif isinstance(value, str):
            event_dict[key] = scrub_text(value)
        elif hasattr(value, "get_secret_value"):
            event_dict[key] = "***"
    return event_dict


class LineWriter:
    """A stream both loggers write to, a whole line per write under one lock.

    structlog's lines and stdlib logging's (uvicorn, paho, httpx) come from
    different threads. structlog's ``PrintLogger`` wrote a line as two writes
    (``print``: the text, then the newline) under a lock of its own, so
    uvicorn's line could land between them: seen in a gateway's JSON log as
    ``{..."mqtt.subscribed"...}{..."Uvicorn running"...}`` on one line, which no
    reader can parse (a test waiting for that event timed out). Here each
    ``write`` is one whole line (``WriteLogger`` and ``StreamHandler`` both
    write the text and its newline as one string), taken under one lock and
    flushed at once.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            written = self._stream.write(text)
            self._stream.flush()
        return written

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def configure_logging(
    *, json: bool | None = None, level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog and stdlib logging once, at the composition root
    (``stream``: standard error unless given)."""
    out = LineWriter(stream if stream is not None else sys.stderr)
    if json is None:
        json = not out.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _scrub_record_message,
                scrub_secrets,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("floorwatch", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(numeric)


def _scrub_record_message(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = scrub_text(event)
    return event_dict
