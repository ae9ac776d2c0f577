"""The hub at the edge: size limit, duplicates, implausible values.

- The size limit is the site's ``validation.max_payload_bytes``, one limit for
  all: an oversized payload is refused before any decoder sees it (counted as
  ``oversized``, dead-lettered with the limit in the reason); a payload at the
  limit is parsed and decoded.
- A good payload repeated by its sensor on the same topic within
  ``validation.duplicate_window_s`` is one reading (counted as a duplicate);
  a bad one is dead-lettered every time (nothing is lost).
- A value outside its plausibility bounds is a dead letter naming the bounds.

No peer is needed: a real dead-letter file and a real InboundBuffer, driven
synchronously through ``Hub.process``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
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
        "fields": {"co2_ppm": {"path": "co2"}, "temperature_c": {"path": "t"}},
    }
)


class Sink:
    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None:
        if on_durable is not None:
            on_durable()


def _hub(tmp_path: Path, limit: int = 262144, window_s: float = 2.0) -> tuple[Hub, DeadLetters]:
    dead = DeadLetters(tmp_path / "dead-letters.jsonl", max_entries=100)
    dead.open()
    hub = Hub(
        site_id="hcc",
        timezone="Asia/Ho_Chi_Minh",
        sensors=[SENSOR],
        zones={},
        limits=ValidationLimits(max_payload_bytes=limit, duplicate_window_s=window_s),
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


def _at(i: int, seconds: float, payload: bytes) -> Inbound:
    return Inbound(
        "site/airq", payload, T0 + timedelta(seconds=seconds), mid=i, qos=1, generation=1
    )


def test_four_identical_payloads_within_a_second_are_one_point(tmp_path: Path) -> None:
    hub, dead = _hub(tmp_path)
    same = b'{"co2": 612}'
    lines, _ = hub.process([_at(i + 1, i * 0.25, same) for i in range(4)])
    assert [line for line in lines if line.startswith("climate,")] == [
        next(line for line in lines if line.startswith("climate,"))
    ]
    assert hub.stats.duplicates == 3
    # a minute later the same value is a reading again (a room that stays at 612 ppm)
    later, _ = hub.process([_at(9, 60, same)])
    assert [line for line in later if line.startswith("climate,")]
    # with the window off, every one is stored
    hub_off, _ = _hub(tmp_path / "off", window_s=0)
    off, _ = hub_off.process([_at(i + 1, i * 0.25, same) for i in range(4)])
    assert len([line for line in off if line.startswith("climate,")]) == 4
    assert dead.total == 0


def test_identical_bad_payloads_are_each_dead_lettered(tmp_path: Path) -> None:
    hub, dead = _hub(tmp_path)
    hub.process([_at(i + 1, i * 0.1, b"{not json") for i in range(3)])
    assert dead.total == 3 and hub.stats.duplicates == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"t": -3.8}', "temperature_c -3.8 outside [0, 50]"),  # a fault, not a room
        (b'{"t": 61}', "temperature_c 61 outside [0, 50]"),
        (b'{"co2": 120}', "co2_ppm 120 outside [250, 10000]"),  # below outdoor air
    ],
)
def test_implausible_values_are_dead_letters_naming_the_bounds(
    tmp_path: Path, payload: bytes, reason: str
) -> None:
    hub, dead = _hub(tmp_path)
    lines, _ = hub.process([_at(1, 0, payload)])
    assert not [line for line in lines if line.startswith("climate,")]
    dead.flush()
    [letter] = [json.loads(x) for x in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert (letter["sensor"], letter["reason"]) == ("airq-hall", reason)
