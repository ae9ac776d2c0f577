"""The config topics the gateway has announced to Home Assistant, kept in the state directory.

``<state_dir>/ha-discovery.json`` is a JSON list of every discovery config topic
this gateway announced and has not forgotten. At start, the topics in it that
the site file no longer produces (a deleted zone; every one when discovery is
switched off) are cleared with an empty retained message at each connect
(``gateway.ha_discovery.removals``), and the record becomes the union of both,
written before anything is published: a crash between the two loses no removal.
Shell module (reads and writes a file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import structlog

from gateway.ha_discovery import DiscoveryMessage, removals

log = structlog.get_logger("floorwatch.ha_discovery")
RECORD = "ha-discovery.json"


def announce(state_dir: Path, current: Sequence[DiscoveryMessage]) -> list[DiscoveryMessage]:
    """What to publish at every connect: the clears of what is gone, then ``current``."""
    path = state_dir / RECORD
    announced = _read(path)
    gone = removals(announced, current)
    every = sorted(set(announced) | {m.topic for m in current})
    if every != sorted(announced):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(every, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    if gone:
        log.info("ha_discovery.removing", topics=len(gone))
    return [*gone, *current]


def _read(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ha_discovery.record_unreadable", path=str(path), reason=str(exc))
        return []
    if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
        log.warning("ha_discovery.record_unreadable", path=str(path), reason="not a list of topics")
        return []
    return data
