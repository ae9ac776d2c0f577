"""The hub's size limit is the site's ``validation.max_payload_bytes``, one limit for all.

The hub refuses an oversized payload before any decoder sees it (counted as
``oversized``, dead-lettered with the limit in the reason); a payload at the
limit is parsed and decoded. No peer is needed: a real dead-letter file and a
real InboundBuffer, driven synchronously through ``Hub.process``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter

from gateway.counter_store import CounterStore
from gateway.dead_letters import DeadLetters
from gateway.hub import Hub
from gateway.settings import SensorConfig, ValidationLimits
from sensors.mqtt_source import Inbound, InboundBuffer

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SENSOR = TypeAdapter(SensorConfig).validate_python(
    {
        "id": "airq-hall",
        "kind": "climate",
        "decoder": "generic_json",
        "topic": "site/airq",
        "zone": "hall",
        "fields": {"co2_ppm": {"path": "co2"}},
    }
)


class Sink:
    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None:
        if on_durable is not None:
            on_durable()


def _hub(tmp_path: Path, limit: int) -> tuple[Hub, DeadLetters]:
    dead = DeadLetters(tmp_path / "dead-letters.jsonl", max_entries=100)
    dead.open()
    hub = Hub(
        site_id="hcc",
        timezone="Asia/Ho_Chi_Minh",
        sensors=[SENSOR],
        zones={},
        limits=ValidationLimits(max_payload_bytes=limit),
        stale_factor=3.0,
        buffer=InboundBuffer(10),
        sink=Sink(),
        ack=lambda items: None,
        dead_letters=dead,
        counters=CounterStore(tmp_path / "door-counters.json"),
        clock=lambda: T0,
        health_interval_s=3600,
    )
    return hub, dead


def _padded(size: int) -> bytes:
    """A valid reading of exactly ``size`` bytes (JSON whitespace as padding)."""
    body = b'{"co2": 612}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_the_hub_takes_its_size_limit_from_the_site_file(tmp_path: Path) -> None:
    hub, dead = _hub(tmp_path, limit=1000)
    at_limit = Inbound("site/airq", _padded(1000), T0, mid=1, qos=1, generation=1)
    over = Inbound("site/airq", _padded(1001), T0, mid=2, qos=1, generation=1)
    lines, _ = hub.process([at_limit, over])
    assert hub.stats.oversized == 1
    assert hub.stats.decode_errors == 1
    assert [line for line in lines if line.startswith("climate,")]  # the one at the limit
    dead.flush()
    [letter] = [json.loads(x) for x in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert letter["sensor"] == "airq-hall"
    assert letter["reason"] == "payload of 1001 bytes is over the limit of 1000 (not parsed)"


def test_the_default_limit_is_the_documented_256_kib(tmp_path: Path) -> None:
    hub, _ = _hub(tmp_path, limit=ValidationLimits().max_payload_bytes)
    big = Inbound("site/airq", _padded(256 * 1024), T0, mid=1, qos=1, generation=1)
    bigger = Inbound("site/airq", _padded(256 * 1024 + 1), T0, mid=2, qos=1, generation=1)
    hub.process([big, bigger])
    assert hub.stats.oversized == 1
    assert hub.stats.observations >= 1
