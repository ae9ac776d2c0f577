"""Shared by the decoder tests: sensor configs, messages, and the payload fixtures.

A fixture (tests/fixtures/payloads/<family>/<name>.json) is a captured-style
payload with what it must decode to:

    {"description": "...",
     "sensor": "cl-f2-counters"            (a sensor id of config/demo-site.yaml)
               or {...}                    (an inline sensor config, as in YAML),
     "topic": "airq/cl-f2-counters/data",
     "received_at": "2026-11-22T01:15:05Z",
     "payload": {...}                      (a JSON document, sent compact)
       or "payload_text": "26.4",          (the payload bytes as text, verbatim)
     "expected": [{"type": "Climate", "zone_id": ..., "at": "...", ...}]
       or "error": "co2_ppm 65000 outside"}  (a DecodeError whose reason contains this)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import TypeAdapter

from gateway.observations import (
    Climate,
    DeviceHealth,
    DeviceKind,
    PeopleCount,
    TicketEvent,
    TicketEventKind,
)
from gateway.settings import SensorConfig, ValidationLimits
from sensors.decoders import DecodeContext, decode
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message
from sensors.profiles.expand import profile_context

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "payloads"
DEMO_SITE = ROOT / "config" / "demo-site.yaml"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CTX = DecodeContext(limits=ValidationLimits(), timezone=TZ)
RECEIVED = datetime(2026, 11, 22, 1, 15, 5, tzinfo=UTC)

_SENSOR = TypeAdapter(SensorConfig)
_TYPES: dict[str, type] = {
    "Climate": Climate,
    "PeopleCount": PeopleCount,
    "DeviceHealth": DeviceHealth,
    "TicketEvent": TicketEvent,
    "DoorCounterReading": DoorCounterReading,
}


def sensor(config: dict[str, object]) -> SensorConfig:
    """A sensor config from a mapping written as in the site YAML."""
    return _SENSOR.validate_python(config, context=profile_context())


@cache
def demo_sensors() -> dict[str, SensorConfig]:
    document = yaml.safe_load(DEMO_SITE.read_text(encoding="utf-8"))
    return {raw["id"]: sensor(raw) for raw in document["sensors"]}


def demo(sensor_id: str) -> SensorConfig:
    return demo_sensors()[sensor_id]


def message(payload: bytes | str, received_at: datetime = RECEIVED, topic: str = "t") -> Message:
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return Message(topic=topic, payload=data, received_at=received_at)


def run(
    config: SensorConfig, payload: bytes | str, received_at: datetime = RECEIVED
) -> list[Decoded]:
    return decode(config, CTX, message(payload, received_at))


def reason(config: SensorConfig, payload: bytes | str, received_at: datetime = RECEIVED) -> str:
    with pytest.raises(DecodeError) as caught:
        run(config, payload, received_at)
    return caught.value.reason


def utc(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    assert at.tzinfo is not None, f"fixture time {text} needs an offset"
    return at.astimezone(UTC)


def observation(spec: dict[str, object]) -> Decoded:
    """An expected observation from its fixture form ({"type": "Climate", ...})."""
    fields = dict(spec)
    cls = _TYPES[str(fields.pop("type"))]
    fields["at"] = utc(str(fields["at"]))
    if cls is DeviceHealth:
        fields.setdefault("kind", "sensor")
        fields["kind"] = DeviceKind(str(fields["kind"]))
    if cls is TicketEvent:
        fields["event"] = TicketEventKind(str(fields["event"]))
    decoded: Decoded = cls(**fields)
    return decoded


@dataclass(frozen=True)
class Fixture:
    path: Path
    description: str
    sensor: SensorConfig
    message: Message
    expected: list[Decoded] | None
    error: str | None


def load(path: Path) -> Fixture:
    raw = json.loads(path.read_text(encoding="utf-8"))
    config = demo(raw["sensor"]) if isinstance(raw["sensor"], str) else sensor(raw["sensor"])
    if "payload_text" in raw:
        payload = raw["payload_text"].encode("utf-8")
    else:
        payload = json.dumps(raw["payload"], ensure_ascii=False, separators=(",", ":")).encode()
    msg = Message(raw.get("topic", config.topic), payload, utc(raw["received_at"]))
    expected = [observation(o) for o in raw["expected"]] if "expected" in raw else None
    return Fixture(path, raw["description"], config, msg, expected, raw.get("error"))


def fixture_list(family: str) -> list[Fixture]:
    paths = sorted((FIXTURES / family).glob("*.json"))
    assert paths, f"no payload fixtures for {family}"
    return [load(p) for p in paths]


def fixtures(family: str) -> list[object]:
    """pytest params of the fixtures of one decoder family, with their file name as id."""
    return [pytest.param(f, id=f.path.stem) for f in fixture_list(family)]


def check_fixture(fixture: Fixture) -> None:
    if fixture.error is not None:
        with pytest.raises(DecodeError) as caught:
            decode(fixture.sensor, CTX, fixture.message)
        assert fixture.error in caught.value.reason
    else:
        assert decode(fixture.sensor, CTX, fixture.message) == fixture.expected


# --------------------------------------------------------------------------- device corpus

DEVICES = ROOT / "tests" / "fixtures" / "devices"


@dataclass(frozen=True)
class CorpusCase:
    """One payload of the public device corpus (tests/fixtures/devices/<family>.json).

    A family file: {"family", "received_at", "sensors": {name: config},
    "cases": [{"id", "source" (the public document the payload is from),
    "sensor" (a name of "sensors"), "topic", "payload" | "payload_text",
    "received_at"?, "expected": [observation...] | "error": reason part,
    "profile_sensor"? (a name of "profile_sensors")}]}.
    An expected observation without "at" is at the receipt time.

    "profile_sensors" holds the same sensors written with a device profile
    (sensors/profiles): each case is replayed through ``profile`` too (the
    case's "profile_sensor", else the one named like its sensor) and must give
    the same observations.
    """

    family: str
    id: str
    source: str
    sensor: SensorConfig
    message: Message
    expected: list[Decoded] | None
    error: str | None
    profile: SensorConfig | None = None


def corpus_family(path: Path) -> list[CorpusCase]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    configs = {name: sensor(cfg) for name, cfg in raw["sensors"].items()}
    profiled = {name: sensor(cfg) for name, cfg in raw.get("profile_sensors", {}).items()}
    cases = []
    for case in raw["cases"]:
        config = configs[case["sensor"]]
        received = utc(case.get("received_at", raw["received_at"]))
        if "payload_text" in case:
            payload = case["payload_text"].encode("utf-8")
        else:
            payload = json.dumps(case["payload"], ensure_ascii=False).encode("utf-8")
        expected = None
        if "expected" in case:
            expected = [
                observation({"at": received.isoformat(), **spec}) for spec in case["expected"]
            ]
        cases.append(
            CorpusCase(
                family=raw["family"],
                id=case["id"],
                source=case["source"],
                sensor=config,
                message=Message(case.get("topic", config.topic), payload, received),
                expected=expected,
                error=case.get("error"),
                profile=profiled.get(case.get("profile_sensor", case["sensor"])),
            )
        )
    return cases


def corpus() -> list[CorpusCase]:
    return [case for path in sorted(DEVICES.glob("*.json")) for case in corpus_family(path)]
