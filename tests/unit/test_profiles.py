"""Device profiles (sensors/profiles): the shipped files, their checks, and a new device.

- every shipped profile is a valid file whose options its parser accepts;
- what a profile declares about availability is what its parser does;
- a profile file with an unknown key or a malformed path is a clear error
  naming the file and the key, and in a site file the sensor's YAML path;
- no bytes on any of a profile's topics make its compiled sensor raise
  anything but DecodeError (hypothesis);
- a new device is a profile file and a site entry, no Python (the walkthrough).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from gateway.config_loader import ConfigError, load_settings, parse_settings
from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.settings import SensorConfig
from sensors.decoders import decode
from sensors.discovery import Discovery, read, sensors_block
from sensors.models import DecodeError, Message
from sensors.profiles.catalog import (
    ProfileError,
    load,
    parse,
    profile_hints,
    shipped,
    shipped_names,
)
from sensors.profiles.cli import details, listing
from tests.unit.decoding_support import CTX, RECEIVED, sensor

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8")
NAMES = shipped_names()


def compiled(name: str, **extra: object) -> SensorConfig:
    """A site sensor of a shipped profile, as few keys as a user writes."""
    profile = shipped(name).profile
    raw: dict[str, object] = {"id": "s1", "profile": name}
    if profile.topic is not None:
        raw["device"] = "dev1"
    else:
        raw["topic"] = "site/dev1/data"
    if profile.kind.value == "door_counter":
        raw["door"] = "d-main"
    elif profile.kind.value != "queue":
        raw["zone"] = "lobby"
    raw.update(extra)
    return sensor(raw)


def test_there_are_profiles_for_every_family_of_the_issue() -> None:
    families = {shipped(n).profile.family for n in NAMES}
    assert families >= {"zigbee2mqtt", "tasmota", "esphome", "homeassistant", "milesight", "axis"}
    assert len(NAMES) >= 35


@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_profile_compiles_into_its_parser_config(name: str) -> None:
    profile = shipped(name).profile
    config = compiled(name)
    assert config.decoder == profile.parser
    assert config.kind is profile.kind
    assert config.profile == name
    for key, value in profile.options.items():
        if key != "fields":
            assert getattr(config, key) == value, key
    if profile.counts is not None:
        assert config.mode == {"period": "delta", "cumulative": "cumulative"}[profile.counts]  # type: ignore[union-attr]


AVAILABILITY = [n for n in NAMES if shipped(n).profile.availability is not None]


@pytest.mark.parametrize("name", AVAILABILITY)
def test_declared_availability_is_what_the_parser_reads(name: str) -> None:
    declared = shipped(name).profile.availability
    assert declared is not None
    topic = declared.topic.replace("{device}", "dev1")
    config = compiled(name)
    for payload, online in [
        *((p, True) for p in declared.online),
        *((p, False) for p in declared.offline),
    ]:
        decoded = decode(config, CTX, Message(topic, payload.encode(), RECEIVED))
        assert [type(d) for d in decoded] == [DeviceHealth], payload
        health = decoded[0]
        assert isinstance(health, DeviceHealth)
        assert health.online is online, payload


# --------------------------------------------------------------------------- bad profile files

GOOD = """\
title: Acme thing
vendor: Acme
family: generic
source: [https://example.org/acme-thing]
kind: door_counter
parser: door_counter
counts: period
options:
  entries_path: data.in
  exits_path: data.out
stores: [entries, exits]
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("vendor: Acme\n", "vendor: Acme\ncolour: red\n", "colour: unknown key"),
        ("  exits_path:", "  exit_path:", "options.exit_path: unknown key"),
        ("data.in", "data..in", "options.entries_path: 'data..in' is not a dotted path"),
        ("data.out", "'data.out '", "options.exits_path: 'data.out ' is not a dotted path"),
        ("counts: period\n", "", "'counts' (period or cumulative) is for door counters"),
        ("parser: door_counter", "parser: door_count", "parser: Input should be"),
        ("https://example.org/acme-thing", "example.org/acme-thing", "a public https:// document"),
        ("  entries_path", "  mode: delta\n  entries_path", "options.mode: set 'counts'"),
        (
            "kind: door_counter\n",
            "kind: door_counter\ntopic: acme/data\n",
            "a template with {device}",
        ),
        ("options:", "options: [", "(line 10): not valid YAML"),
    ],
)
def test_a_bad_profile_file_is_a_clear_error(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(ProfileError) as caught:
        parse(GOOD.replace(old, new), "acme.yaml")
    assert str(caught.value).startswith("acme.yaml")
    assert expected in str(caught.value)


def test_the_good_profile_file_parses() -> None:
    assert parse(GOOD, "acme.yaml").options["entries_path"] == "data.in"


def site_with(sensor_yaml: str) -> str:
    anchor = "sensors:\n"
    assert anchor in DEMO_TEXT
    return DEMO_TEXT.replace(anchor, anchor + sensor_yaml, 1)


def errors_of(text: str, base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, {}, base_dir=base_dir)
    return [str(i) for i in info.value.issues]


def test_a_bad_profile_file_in_a_site_is_an_error_at_the_sensors_yaml_path(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(GOOD.replace("  exits_path:", "  exit_path:"))
    text = site_with("  - {id: dc-acme, profile: acme.yaml, topic: acme/x, door: d-main}\n")
    [error] = errors_of(text, tmp_path)
    assert error.startswith("sensors[0] (line ")
    assert f"{tmp_path / 'acme.yaml'}: options.exit_path: unknown key" in error


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{id: x1, profile: aqara-fp2000, device: a, zone: f1-entrance}",
            "no shipped profile 'aqara-fp2000'",
        ),
        ("{id: x1, profile: aqara-fp1, zone: f1-entrance}", "topic: set topic, or device"),
        (
            "{id: x1, profile: aqara-fp1, device: a, topic: b, zone: f1-entrance}",
            "give topic or device",
        ),
        (
            "{id: x1, profile: milesight-vs133, topic: a, door: d-main, mode: delta}",
            "it is not a choice",
        ),
        ("{id: x1, profile: milesight-vs121, zone: f1-entrance}", "has no topic template"),
        ("{id: x1, profile: aqara-fp1, device: a}", "a presence sensor needs 'zone'"),
    ],
)
def test_site_mistakes_with_profiles(entry: str, expected: str) -> None:
    errors = errors_of(site_with(f"  - {entry}\n"))
    assert any(e.startswith("sensors[0]") and expected in e for e in errors), errors


def test_an_override_of_the_profile_names_the_sensor_key() -> None:
    errors = errors_of(
        site_with("  - {id: x1, profile: aqara-fp1, device: a, zone: f1-entrance, region: 2}\n")
    )
    assert any(e.startswith("sensors[0].region") and "unknown key" in e for e in errors), errors


def test_site_keys_override_the_profile() -> None:
    config = compiled("aqara-fp1", ignore=[], occupied_count=3)
    assert config.ignore == [] and config.occupied_count == 3  # type: ignore[union-attr]
    assert config.topic == "zigbee2mqtt/dev1/#"


def test_a_written_out_sensor_with_its_profile_label_validates_again() -> None:
    config = compiled("tasmota-ds18b20", probes={"DS18B20-1": "lobby"})
    again = sensor(config.model_dump(mode="json"))
    assert again == config


# --------------------------------------------------------------------------- properties


def topics_of(name: str) -> list[str]:
    profile = shipped(name).profile
    config = compiled(name)
    concrete = config.topic.replace("+", "x").replace("#", "state")
    topics = [concrete, concrete + "/availability", "tele/dev1/LWT", "dev1/status"]
    if profile.availability is not None:
        topics.append(profile.availability.topic.replace("{device}", "dev1"))
    return topics


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_bytes_make_a_profile_raise_anything_but_decode_error(
    name: str, data: st.DataObject
) -> None:
    config = compiled(name)
    topic = data.draw(st.sampled_from(topics_of(name)))
    payload = data.draw(
        st.binary(max_size=120)
        | JSON.map(lambda d: json.dumps(d).encode())
        | st.sampled_from([b"ON", b"online", b"Offline", b"unavailable", b"21.5 \xc2\xb0C", b"{}"])
    )
    try:
        decoded = decode(config, CTX, Message(topic, payload, RECEIVED))
    except DecodeError as exc:
        assert exc.reason
    else:
        assert isinstance(decoded, list)


# --------------------------------------------------------------------------- a new device, no Python

ACME_PROFILE = """\
# A climate sensor that publishes its own JSON, in °F, with its battery as a fraction.
title: Acme TH-9 climate sensor
vendor: Acme
family: generic
models: [TH-9]
source: [https://example.org/acme/th-9/mqtt]
kind: climate
parser: generic_json
topic: acme/{device}/telemetry
options:
  fields:
    temperature_c: {path: sensors.temp_f, unit: fahrenheit}
    humidity_pct: {path: sensors.rh}
    battery_pct: {path: power.battery, unit: fraction}
  timestamp: {path: ts, format: epoch_s}
stores: [temperature, humidity, battery]
"""


def test_a_new_device_is_a_profile_file_and_a_site_entry(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "acme-th9.yaml").write_text(ACME_PROFILE, encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text(
        site_with(
            "  - {id: cl-acme, profile: profiles/acme-th9.yaml, device: lobby-1,"
            " zone: f1-entrance}\n"
        ),
        encoding="utf-8",
    )
    settings_ = load_settings(site, {}, need_secrets=False).settings
    [acme] = [s for s in settings_.sensors if s.id == "cl-acme"]
    assert acme.topic == "acme/lobby-1/telemetry"
    assert acme.profile == str((tmp_path / "profiles" / "acme-th9.yaml").resolve())
    at = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)
    payload = json.dumps(
        {
            "ts": int(at.timestamp()),
            "sensors": {"temp_f": 80.6, "rh": 61},
            "power": {"battery": 0.82},
        }
    ).encode()
    decoded = decode(acme, CTX, Message("acme/lobby-1/telemetry", payload, RECEIVED))
    assert decoded == [
        Climate("f1-entrance", "cl-acme", at, temperature_c=27.0, humidity_pct=61.0),
        DeviceHealth("cl-acme", DeviceKind.SENSOR, online=True, at=at, battery_pct=82.0),
    ]


def test_a_site_profile_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD)
    assert load("acme.yaml", tmp_path).profile.options["entries_path"] == "data.in"
    path.write_text(GOOD.replace("data.in", "data.entries") + "\n")
    assert load("acme.yaml", tmp_path).profile.options["entries_path"] == "data.entries"


# --------------------------------------------------------------------------- CLI text, discovery


def test_the_listing_names_every_profile_and_show_gives_a_site_entry() -> None:
    text = listing()
    assert all(f"\n{name} " in text for name in NAMES)
    shown = details(shipped("milesight-vs133"))
    assert "counts:   cumulative" in shown
    assert "https://github.com/Milesight-IoT/SensorDecoders" in shown
    entry = shown.split("\n\n", 1)[1]
    assert entry == (
        "sensors:\n  - {id: <sensor id>, profile: milesight-vs133, topic: <topic>,"
        " door: <door id>}\n"
    )


def test_discover_suggests_the_profile_of_a_known_model() -> None:
    result = Discovery()
    devices = [
        {
            "friendly_name": "seat 7",
            "definition": {
                "vendor": "Aqara",
                "model": "RTCZCGQ11LM",
                "exposes": [{"property": "presence"}, {"property": "temperature"}],
            },
        },
        {
            "friendly_name": "hall t",
            "definition": {
                "vendor": "Acme",
                "model": "X1",
                "exposes": [{"property": "temperature"}],
            },
        },
    ]
    read(result, "zigbee2mqtt/bridge/devices", json.dumps(devices).encode())
    block = yaml.safe_load(sensors_block(result, profile_hints()))
    by_id = {e["id"]: e for e in block["sensors"]}
    assert by_id["seat-7"] == {
        "id": "seat-7",
        "profile": "aqara-fp1",
        "device": "seat 7",
        "zone": None,
    }
    assert by_id["hall-t"]["decoder"] == "zigbee2mqtt"  # no profile for its model
    pasted = sensor({**by_id["seat-7"], "zone": "lobby"})
    assert pasted.topic == "zigbee2mqtt/seat 7/#" and pasted.ignore == ["temperature"]  # type: ignore[union-attr]


def test_without_the_loaders_context_a_profile_sensor_is_an_error_not_a_file_read() -> None:
    # gateway.settings is pure: the profile files are read by the resolver the loader passes
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(SensorConfig).validate_python({"id": "x", "profile": "aqara-fp1"})
    assert "read through the config loader" in str(caught.value)


VALUE_MAP_PROFILE = """\
title: Acme seat radar
vendor: Acme
family: generic
source: [https://example.org/acme/seat-radar]
kind: presence
parser: generic_json
topic: acme/{device}/state
options:
  fields:
    count: {path: state, values: {none: 0, presence: 1, moving: 1, "true": 1, "false": 0}}
stores: [people count]
"""


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"state": "presence"}', 1),
        ('{"state": "None"}', 0),
        ('{"state": "moving"}', 1),
        ('{"state": true}', 1),
        ('{"state": false}', 0),
        ('{"state": 0}', 0),  # a number not in the map is itself
    ],
)
def test_a_value_map_in_a_profile(tmp_path: Path, payload: str, expected: int) -> None:
    (tmp_path / "radar.yaml").write_text(VALUE_MAP_PROFILE)
    radar = str(tmp_path / "radar.yaml")
    config = sensor({"id": "pr-r", "profile": radar, "device": "s1", "zone": "lobby"})
    assert config.topic == "acme/s1/state"
    [count] = decode(config, CTX, Message("acme/s1/state", payload.encode(), RECEIVED))
    assert count == PeopleCount("lobby", "pr-r", expected, RECEIVED)


def test_a_value_outside_the_value_map_is_a_decode_error(tmp_path: Path) -> None:
    (tmp_path / "radar.yaml").write_text(VALUE_MAP_PROFILE)
    radar = str(tmp_path / "radar.yaml")
    config = sensor({"id": "pr-r", "profile": radar, "device": "s1", "zone": "lobby"})
    with pytest.raises(DecodeError) as caught:
        decode(config, CTX, Message("acme/s1/state", b'{"state": "asleep"}', RECEIVED))
    assert caught.value.reason == (
        "count: 'asleep' is not in the value map (false, moving, none, presence, true)"
    )


@settings(max_examples=200, deadline=None)
@given(state=JSON)
def test_no_value_makes_a_value_map_raise_anything_but_decode_error(state: object) -> None:
    radar = parse(VALUE_MAP_PROFILE, "radar.yaml")
    fields = radar.options["fields"]
    assert isinstance(fields, dict)
    config = sensor(
        {"id": "pr-r", "kind": "presence", "decoder": "generic_json", "topic": "t", "zone": "z"}
        | {"fields": fields}
    )
    payload = json.dumps({"state": state}).encode()
    try:
        decode(config, CTX, Message("t", payload, RECEIVED))
    except DecodeError as exc:
        assert exc.reason
