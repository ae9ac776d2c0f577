"""The public device corpus, end to end: mosquitto -> ``floorwatch run`` -> InfluxDB 1.x.

Every case of tests/fixtures/devices/ (the same 180-odd payloads the decoders
are table-tested with) is published to a real mosquitto; the real gateway
process, configured with every sensor of the corpus, decodes them and writes
to a real InfluxDB 1.x. Then:

- every value a good case must produce is read back from InfluxDB (its
  measurement, tags and fields; its time too when the payload carries one);
- every bad case is in the dead-letter file, with its topic, its sensor and
  the reason the decoder test expects;
- the bad cases are published FIRST, so every good message stored was
  published after all of them.

Each sensor of the corpus gets a topic prefix of its own (``e2e/<n>/`` before
its topic filter and before its cases' topics): several corpus sensors read
the same topic in different ways (region 1 and region 2 of one Milesight
counter), and the decoder test gives each case to one sensor only. Two corpus
sensors sharing an id (one device over two topics) get distinct ids here.

What a good case stores is computed from its expected observations: a door
counter's readings through ``DoorCounterTracker`` (the hub turns readings into
traffic with it, in publish order) and every observation through
``gateway.points.to_lines`` (the storage format, tested in test_points). A
case without a time of its own is stored at its receipt time, which this test
does not know to the nanosecond: those are matched by series and fields, as
a multiset. The corpus's payloads carry times from years ago: the gateway is
told to accept readings that old (``max_age_s``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gateway.observations import Climate, DeviceHealth, PeopleCount, TicketEvent
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.points import to_lines
from sensors.door_counts import DoorCounterTracker
from sensors.models import Decoded, DoorCounterReading
from sensors.profiles.expand import expand_sensor
from tests.integration.gateway_proc import DEMO, GatewayProcess, site_file, wait_until
from tests.unit.decoding_support import CorpusCase, corpus

pytestmark = pytest.mark.integration

SITE = yaml.safe_load(DEMO.read_text(encoding="utf-8"))["site"]["id"]
DB = "corpus"
ANY_PAST = 50 * 366 * 86400  # validation.max_age_s: the corpus's payloads are years old
TOKEN_ENV, TOKEN = "FW_CORPUS_TOKEN", "corpus-e2e-supervisor-token"
# Published after the corpus: once it is stored, every message before it was
# processed (one publisher, QoS 1: mosquitto and the hub keep the order).
SENTINEL = {
    "id": "e2e-sentinel",
    "kind": "climate",
    "decoder": "generic_json",
    "topic": "e2e/sentinel",
    "zone": "lobby",
    "fields": {"temperature_c": {"path": "t"}},
}


@dataclass(frozen=True)
class Replayed:
    """A corpus case as published here: its own topic, its sensor under a unique id."""

    case: CorpusCase
    topic: str
    sensor_id: str
    expected: list[Decoded] | None
    timed: bool  # the payload carries its own time (the stored point's time is known)


def _renamed(obs: Decoded, old: str, new: str) -> Decoded:
    def swap(value: str) -> str:
        if value == old:
            return new
        if value.startswith(old + "."):  # a wildcard sensor's device: <id>.<device>
            return new + value[len(old) :]
        return value

    if isinstance(obs, Climate):
        return replace(obs, sensor_id=swap(obs.sensor_id))
    if isinstance(obs, PeopleCount):
        return replace(obs, source_id=swap(obs.source_id))
    if isinstance(obs, DeviceHealth):
        return replace(obs, device_id=swap(obs.device_id))
    if isinstance(obs, DoorCounterReading):
        return replace(obs, sensor_id=swap(obs.sensor_id))
    if isinstance(obs, TicketEvent):
        return obs
    raise AssertionError(f"unexpected observation {obs!r}")


def replay_plan(profiles: bool = True) -> tuple[list[Replayed], list[dict[str, Any]]]:
    """Every case with its topic, and the sensor configs of the site file.

    ``profiles``: the site's sensors are written with their device profile
    (the family file's "profile_sensors", as a user writes them); else with
    their decoder and its options ("sensors"). Both read the same payloads
    into the same observations (tests/unit/test_profiles_corpus.py).
    """
    cases = corpus()
    raw_sensors: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for path in sorted((Path(__file__).parents[1] / "fixtures" / "devices").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        for name, config in raw["sensors"].items():
            key = (raw["family"], config["id"], config["topic"], name)
            if profiles:  # its topic from the profile's template (the cases' topics match it)
                written = raw["profile_sensors"][name]
                topic = expand_sensor(written, None)["topic"]
                config = {k: v for k, v in written.items() if k != "device"} | {"topic": topic}
            raw_sensors[key] = config
    ids = Counter(config["id"] for config in raw_sensors.values())
    by_config: dict[tuple[str, str, str], tuple[str, str, dict[str, Any]]] = {}
    configs: list[dict[str, Any]] = []
    for n, ((family, sid, topic, name), config) in enumerate(sorted(raw_sensors.items())):
        prefix = f"e2e/{n}/"
        new_id = sid if ids[sid] == 1 else f"{sid}-{name.replace('_', '-')}"
        configs.append({**config, "id": new_id, "topic": prefix + config["topic"]})
        assert (family, sid, topic) not in by_config, "two corpus sensors alike"
        by_config[(family, sid, topic)] = (prefix, new_id, config)
    replayed = []
    for case in cases:
        prefix, new_id, _ = by_config[(case.family, case.sensor.id, case.sensor.topic)]
        expected = None
        if case.expected is not None:
            expected = [_renamed(o, case.sensor.id, new_id) for o in case.expected]
        replayed.append(
            Replayed(
                case=case,
                topic=prefix + case.message.topic,
                sensor_id=new_id,
                expected=expected,
                timed=_timed(case),
            )
        )
    return replayed, configs


def _timed(case: CorpusCase) -> bool:
    """Whether the case's expected observations carry a time other than the receipt."""
    return any(o.at != case.message.received_at for o in case.expected or [])


def corpus_site(
    tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxDB1Server, **overrides: Any
) -> Path:
    """A site file with every corpus sensor (and the sentinel); ``overrides`` by section."""
    _, sensors = replay_plan()
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    zones = list(demo["zones"])
    known = {z["id"] for z in zones}
    doors = list(demo["doors"])
    door_ids = {d["id"] for d in doors}
    wanted_zones: set[str] = set()
    for s in sensors:
        if s.get("zone"):
            wanted_zones.add(s["zone"])
        for mapping in ("devices", "probes"):
            wanted_zones.update(str(z) for z in (s.get(mapping) or {}).values())
    floors = [
        *demo["floors"],
        {
            "id": "fc",
            "name": "corpus",
            "level": 9,
            "area_m2": 50,
            "plan": {"width_m": 20, "depth_m": 2},
        },
    ]
    for i, zone in enumerate(sorted(wanted_zones - known)):
        x = 1.0 + i
        zones.append(
            {
                "id": zone,
                "name": zone,
                "floor": "fc",
                "kind": "other",
                "area_m2": 1,
                "capacity": 10,
                "polygon": [[x, 0.5], [x + 0.9, 0.5], [x + 0.9, 1.5], [x, 1.5]],
            }
        )
    for s in sensors:
        door = s.get("door")
        if door and door not in door_ids:
            doors.append({"id": door, "name": door, "floor": "f1", "into_zone": "f1-entrance"})
            door_ids.add(door)
    sections: dict[str, Any] = {
        "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "client_id": "fw-corpus-e2e"},
        "influxdb": {"url": influx.url, "protocol": "v1", "database": DB},
        "gateway": {"state_dir": str(tmp_path / "state"), "dead_letter_size": 5000},
        "validation": {"max_age_s": ANY_PAST},
    }
    for section, values in overrides.items():
        sections[section] = {**sections.get(section, {}), **values}
    return site_file(
        tmp_path,
        **sections,
        alerts={"maintenance": []},  # the demo's windows name its own sensors
        api={
            "port": 0,
            "tokens": [{"name": "e2e", "role": "supervisor", "token": {"env": TOKEN_ENV}}],
        },
        floors=floors,
        zones=zones,
        doors=doors,
        sensors=[*sensors, SENTINEL],
    )


# --------------------------------------------------------------------------- expected points


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: dict[str, Any]
    time_ns: int


def _split(text: str, sep: str) -> list[str]:
    """``text`` split on ``sep`` where it is not backslash-escaped (escapes removed)."""
    parts, current, i = [], "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i + 1]
            i += 2
            continue
        if ch == sep:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def _fields(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    i = 0
    while i < len(text):
        eq = text.index("=", i)
        key = text[i:eq]
        j = eq + 1
        if text[j] == '"':
            k, value = j + 1, ""
            while text[k] != '"':
                if text[k] == "\\":
                    k += 1
                value += text[k]
                k += 1
            fields[key] = value
            i = k + 2  # past the quote and the comma
            continue
        comma = text.find(",", j)
        raw = text[j:] if comma < 0 else text[j:comma]
        if raw.endswith("i"):
            fields[key] = int(raw[:-1])
        elif raw in ("true", "false"):
            fields[key] = raw == "true"
        else:
            fields[key] = float(raw)
        i = len(text) if comma < 0 else comma + 1
    return fields


def _parse(line: str) -> Point:
    """A line of gateway.points: series, fields (strings may hold spaces), time."""
    head_end = 0
    while not (line[head_end] == " " and line[head_end - 1] != "\\"):
        head_end += 1
    series, rest = line[:head_end], line[head_end + 1 :]
    fields_text, stamp = rest.rsplit(" ", 1)
    measurement, *tag_parts = _split(series, ",")
    pairs = [_split(t, "=") for t in tag_parts]
    tags = tuple(sorted((k, v) for k, v in pairs))
    return Point(measurement, tags, _fields(fields_text), int(stamp))


def _expected_points(replayed: list[Replayed]) -> tuple[dict[Any, Point], list[Point]]:
    """(points with a known time, keyed by series and time; points at receipt time)."""
    tracker = DoorCounterTracker()
    timed: dict[Any, Point] = {}
    untimed: list[Point] = []
    for r in replayed:
        for obs in r.expected or []:
            stored: Any = obs
            if isinstance(obs, DoorCounterReading):
                stored = tracker.update(obs)
                if stored is None:  # a duplicate or a baseline: no traffic
                    continue
            for line in to_lines(SITE, stored, {}):
                point = _parse(line)
                if r.timed:
                    key = (point.measurement, point.tags, point.time_ns)
                    if key in timed:  # a later write of the same point merges its fields
                        point = replace(point, fields={**timed[key].fields, **point.fields})
                    timed[key] = point
                else:
                    untimed.append(point)
    return timed, untimed


# --------------------------------------------------------------------------- InfluxDB


def _stored(url: str, measurements: set[str]) -> list[Point]:
    points: list[Point] = []
    for measurement in sorted(measurements):
        r = httpx.get(
            f"{url}/query",
            params={"db": DB, "q": f'SELECT * FROM "{measurement}"', "epoch": "ns"},  # noqa: S608
            timeout=30,
        )
        r.raise_for_status()
        result = r.json()["results"][0]
        if "error" in result:
            if result["error"].startswith("database not found"):
                return []
            raise AssertionError(result["error"])
        tag_keys = _tag_keys(url, measurement)
        for series in result.get("series", []):
            columns = series["columns"]
            for row in series["values"]:
                values = dict(zip(columns, row, strict=True))
                stamp = values.pop("time")
                tags = tuple(
                    sorted((k, str(values.pop(k))) for k in tag_keys if values.get(k) is not None)
                )
                for k in tag_keys:
                    values.pop(k, None)
                fields = {k: v for k, v in values.items() if v is not None}
                points.append(Point(measurement, tags, fields, int(stamp)))
    return points


def _tag_keys(url: str, measurement: str) -> set[str]:
    r = httpx.get(
        f"{url}/query",
        params={"db": DB, "q": f'SHOW TAG KEYS FROM "{measurement}"'},
        timeout=30,
    )
    r.raise_for_status()
    series = r.json()["results"][0].get("series", [])
    return {row[0] for s in series for row in s["values"]}


def _same(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    for key, value in expected.items():
        got = actual.get(key)
        if isinstance(value, float) and isinstance(got, int | float):
            if abs(got - value) > 1e-9 * max(1.0, abs(value)):
                return False
        elif got != value:
            return False
    return True


def _missing(
    timed: dict[Any, Point], untimed: list[Point], stored: list[Point], since_ns: int
) -> list[Point]:
    """The expected points InfluxDB does not hold (extra stored points are fine)."""
    at = {(p.measurement, p.tags, p.time_ns): p for p in stored}
    missing = [
        p
        for key, p in timed.items()
        if key not in at or not _same(p.fields, at[key].fields)  # fields: a subset
    ]
    pool = [p for p in stored if p.time_ns >= since_ns]
    for p in untimed:
        match = next(
            (
                i
                for i, s in enumerate(pool)
                if s.measurement == p.measurement and s.tags == p.tags and _same(p.fields, s.fields)
            ),
            None,
        )
        if match is None:
            missing.append(p)
        else:
            pool.pop(match)  # each stored point answers for one expected point
    return missing


# --------------------------------------------------------------------------- the test


def _publish(broker: MosquittoServer, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="corpus-publisher")
    client.max_inflight_messages_set(100)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(60)
    finally:
        client.loop_stop()
        client.disconnect()


def _dead_letters(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_every_corpus_payload_end_to_end(
    mosquitto: MosquittoServer, influxdb1: InfluxDB1Server, tmp_path: Path
) -> None:
    replayed, _ = replay_plan()
    bad = [r for r in replayed if r.case.error is not None]
    good = [r for r in replayed if r.case.error is None]
    assert len(bad) >= 30 and len(good) >= 140, (len(bad), len(good))
    timed, untimed = _expected_points(good)
    untimed.append(
        Point(
            "climate",
            (("sensor", "e2e-sentinel"), ("site", SITE), ("zone", "lobby")),
            {"temperature": 21.25},
            0,
        )
    )
    measurements = {p.measurement for p in [*timed.values(), *untimed]}

    gw = GatewayProcess(
        corpus_site(tmp_path, mosquitto, influxdb1),
        tmp_path / "gateway.log",
        env={TOKEN_ENV: TOKEN},
    )
    gw.start()
    try:
        wait_until(
            lambda: (
                "mqtt.subscribed" in gw.log_events()
                or gw.proc is None
                or gw.proc.poll() is not None
            ),
            60,
            "the gateway subscribed",
        )
        assert "mqtt.subscribed" in gw.log_events(), gw.log_path.read_text()[-3000:]
        since_ns = time.time_ns()  # the receipt times of this run come after this
        messages = [(r.topic, r.case.message.payload) for r in bad + good]
        _publish(mosquitto, [*messages, ("e2e/sentinel", b'{"t": 21.25}')])
        dead_path = tmp_path / "state" / "dead-letters.jsonl"
        wait_until(lambda: len(_dead_letters(dead_path)) >= len(bad), 60, "every bad case")
        missing: list[Point] = []

        def all_stored() -> bool:
            nonlocal missing
            missing = _missing(timed, untimed, _stored(influxdb1.url, measurements), since_ns)
            return not missing

        try:
            wait_until(all_stored, 60, "every expected point in InfluxDB")
        except AssertionError:
            stored = _stored(influxdb1.url, measurements)
            first = missing[0]
            alike = [
                p for p in stored if (p.measurement, p.tags) == (first.measurement, first.tags)
            ]
            pytest.fail(
                f"{len(missing)} of {len(timed) + len(untimed)} expected points not stored"
                f" ({len(stored)} stored), e.g. {missing[:5]}; stored {alike[:10]}"
            )
        # the same dead letters through the API and /metrics of the running gateway
        [started] = [
            json.loads(line)
            for line in gw.log_path.read_text().splitlines()
            if '"api.started"' in line
        ]
        api = f"http://127.0.0.1:{started['port']}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        served = httpx.get(f"{api}/api/v1/dead-letters?limit=1000", headers=auth, timeout=10)
        assert served.status_code == 200
        body = served.json()
        assert body["total"] == len(bad) == len(body["letters"])
        per_sensor = Counter(r.sensor_id for r in bad)
        assert {c["sensor"]: c["count"] for c in body["per_sensor"]} == per_sensor
        metrics = httpx.get(f"{api}/metrics", headers=auth, timeout=10).text
        for sensor_id, n in per_sensor.items():
            line = f'floorwatch_sensor_decode_errors_total{{sensor="{sensor_id}"}} {float(n)}'
            assert line in metrics
    finally:
        assert gw.stop() == 0

    [stopped] = [
        json.loads(line)
        for line in gw.log_path.read_text().splitlines()
        if '"gateway.stopped"' in line
    ]
    assert stopped["messages"] == len(replayed) + 1  # every one reached the hub
    assert stopped["decode_errors"] == len(bad)
    assert stopped["internal_errors"] == 0
    letters = _dead_letters(dead_path)
    for r in bad:
        assert r.case.error is not None
        found = [
            d
            for d in letters
            if d["topic"] == r.topic and d["sensor"] == r.sensor_id and r.case.error in d["reason"]
        ]
        assert found, (r.case.family, r.case.id, r.case.error, r.topic)
    # nothing good went to the dead letters: one letter per bad case
    assert len(letters) == len(bad), [d["reason"] for d in letters][len(bad) :]
    # the corpus's good cases make this many points (door baselines and ignored
    # topics make none): a floor, so that an emptied corpus cannot pass
    assert len(timed) + len(untimed) >= 100
