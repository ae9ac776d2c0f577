"""The mistakes a new site file makes: each one a clear error or warning with its YAML path.

Table-driven: each row edits the demo site's YAML text (so YAML's own reading,
unquoted times included, is part of the test) and names the issue expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config_loader import ConfigError, parse_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8")
WEEKDAY_MORNING = '- {start: "07:30", end: "11:30"}\n        - {start: "13:30"'


def edited(old: str, new: str) -> str:
    assert DEMO_TEXT.count(old) >= 1, old
    return DEMO_TEXT.replace(old, new, 1)


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, {})
    return [str(i) for i in info.value.issues]


def warnings_of(text: str) -> list[str]:
    return [str(w) for w in parse_settings(text, {}).warnings]


SESSION = "site.opening_hours[0].sessions[0]"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (  # YAML 1.1 base 60: 10:00 is the number 600
            WEEKDAY_MORNING,
            '- {start: 10:00, end: "11:30"}\n        - {start: "13:30"',
            f'{SESSION}.start (line 18): write the time quoted: "10:00"'
            " (YAML reads an unquoted 10:00 as the number 600)",
        ),
        (  # mixed quoted and unquoted: was a traceback (naive vs aware times)
            WEEKDAY_MORNING,
            '- {start: "07:00", end: 11:30}\n        - {start: "13:30"',
            f'{SESSION}.end (line 18): write the time quoted: "11:30"'
            " (YAML reads an unquoted 11:30 as the number 690)",
        ),
        (
            WEEKDAY_MORNING,
            '- {start: "07:30+07:00", end: "11:30"}\n        - {start: "13:30"',
            f'{SESSION}.start (line 18): expected a time of day "HH:MM" (24-hour clock),'
            " not '07:30+07:00'",
        ),
        (
            WEEKDAY_MORNING,
            '- {start: "7h30", end: "11:30"}\n        - {start: "13:30"',
            f'{SESSION}.start (line 18): expected a time of day "HH:MM" (24-hour clock),'
            " not '7h30'",
        ),
        (
            WEEKDAY_MORNING,
            '- {start: 2026-01-05, end: "11:30"}\n        - {start: "13:30"',
            f'{SESSION}.start (line 18): expected a time of day in quotes, e.g. "07:30", not date',
        ),
        (
            WEEKDAY_MORNING,
            '- {start: "11:30", end: "07:30"}\n        - {start: "13:30"',
            f"{SESSION} (line 18): end 07:30 must be after start 11:30",
        ),
        (
            WEEKDAY_MORNING,
            '- {start: "07:30", end: "14:00"}\n        - {start: "13:30"',
            "site.opening_hours[0] (line 16): sessions 07:30-14:00 and 13:30-17:00 overlap",
        ),
    ],
)
def test_opening_hours_mistakes(old: str, new: str, expected: str) -> None:
    assert expected in errors_of(edited(old, new))


def test_opening_hours_unquoted_single_digit_hour_is_read_right_when_quoted() -> None:
    text = edited(WEEKDAY_MORNING, '- {start: "7:30", end: "11:30"}\n        - {start: "13:30"')
    s = parse_settings(text, {}).settings
    assert s.site.opening_hours[0].sessions[0].start.hour == 7
    assert s.site.opening_hours[0].sessions[0].start.minute == 30


# --------------------------------------------------------------------------- geometry, counters, credentials

F2_WAITING_POLYGON = "polygon: [[0, 0], [26, 0], [26, 12], [0, 12]]"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (  # a corner past the 32.5 x 20 m plan
            F2_WAITING_POLYGON,
            "polygon: [[0, 0], [36, 0], [36, 12], [0, 12]]",
            "zones[5].polygon[1] (line 86): point (36, 0) is outside the plan of floor 'f2'"
            " (x 0..32.5 m, y 0..20 m)",
        ),
        (  # reaching into the counters' band
            F2_WAITING_POLYGON,
            "polygon: [[0, 0], [26, 0], [26, 14], [0, 14]]",
            "zones[6].polygon (line 99): overlaps zone 'f2-waiting' (zones[5]) by 52 m2: zones of"
            " a floor must not overlap (people there would be counted in both)",
        ),
        (
            F2_WAITING_POLYGON,
            "polygon: [[0, 0], [26, 12], [26, 0], [0, 12]]",
            "zones[5].polygon (line 86): the outline crosses itself (edges 1 and 3): list the"
            " corners in order around the zone",
        ),
        (
            F2_WAITING_POLYGON,
            "polygon: [[0, 0], [13, 6], [26, 12]]",
            "zones[5].polygon (line 86): the outline encloses no area",
        ),
        (  # the same counter in two service groups
            "counters: [5, 6, 7]",
            "counters: [4, 6, 7]",
            "services[1].counters[0] (line 121): counter 4 is also in service 'land'"
            " (services[0]): a counter belongs to one service group (its capacity would count"
            " twice in the expected waits)",
        ),
        (
            "counters: [5, 6, 7]",
            "counters: [5, 6, 5]",
            "services[1].counters[2] (line 121): counter 5 is listed twice",
        ),
        (  # a user name without a password
            "onvif: {host: 127.0.0.1, port: 8021}",
            "onvif: {host: 127.0.0.1, port: 8021, username: operator}",
            "cameras[0].onvif.password (line 225): user 'operator' has no password: add password:"
            " {env: NAME} or {file: PATH}, or leave out username for a camera without login",
        ),
        (  # an InfluxDB 1.x user without a password
            "  database: floorwatch\n",
            "  database: floorwatch\n  username: writer\n",
            "influxdb.password (line 263): user 'writer' has no password: add password:"
            " {env: NAME} or {file: PATH}, or leave out username when InfluxDB has no"
            " authentication",
        ),
    ],
)
def test_site_mistakes_are_errors(old: str, new: str, expected: str) -> None:
    assert any(issue.startswith(expected) for issue in errors_of(edited(old, new))), expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (  # the stated area is more than the outline
            "area_m2: 312",
            "area_m2: 400",
            "zones[5].area_m2 (line 83): 400 m2 is more than its polygon outlines (312 m2):"
            " density would read too low; check the area or the corners",
        ),
        (
            "area_m2: 650, plan: {width_m: 32.5, depth_m: 20}}\n  - {id: f2",
            "area_m2: 900, plan: {width_m: 32.5, depth_m: 20}}\n  - {id: f2",
            "floors[0].area_m2 (line 25): 900 m2 is more than its plan holds (32.5 x 20 m ="
            " 650 m2)",
        ),
        (
            "area_m2: 650, plan: {width_m: 32.5, depth_m: 20}}\n  - {id: f2",
            "area_m2: 300, plan: {width_m: 32.5, depth_m: 20}}\n  - {id: f2",
            "floors[0].area_m2 (line 25): its zones outline 650 m2, more than its 300 m2",
        ),
        (  # nobody counts the ATM corner: says so, unless counted: false
            "    counted: false  # no people source on purpose: an ATM corner\n",
            "",
            "zones[2] (line 50): zone 'f1-atm' has no people source (no camera ROI or counting"
            " rule, presence sensor, door counter with door_balance, or queue tickets): the"
            " control room shows it as 'no data' and its crowd and capacity alerts cannot fire;"
            " write counted: false if that is meant",
        ),
        (  # an MQTT user without a password: some brokers take it, most refuse
            "  client_id: floorwatch-demo-hcc\n",
            "  client_id: floorwatch-demo-hcc\n  username: gw\n",
            "mqtt.password (line 237): user 'gw' has no password: a broker with accounts"
            " refuses the connection; add password: {env: MQTT_PASSWORD}",
        ),
    ],
)
def test_site_mistakes_are_warnings(old: str, new: str, expected: str) -> None:
    assert any(w.startswith(expected) for w in warnings_of(edited(old, new))), expected


def test_a_zone_counted_only_from_tickets_is_a_warning() -> None:
    text = edited("zone: f2-waiting, interval_s: 30}", "zone: f2-counters, interval_s: 30}")
    text = text.replace("{zone: f2-waiting, polygon: [[0.02", "{zone: f2-counters, polygon: [[0.02")
    assert (
        "zones[5] (line 79): zone 'f2-waiting' is counted only from waiting tickets, a lower"
        " bound (not everybody holds a ticket): add a camera ROI or a presence sensor for a true"
        " count"
    ) in warnings_of(text)


def test_a_small_overlap_is_found_too() -> None:
    triangle = (
        "  - {id: f2-x, name: X, floor: f2, area_m2: 0.5, capacity: 1, counted: false,"
        " polygon: [[0, 19], [1, 19], [1, 20]]}\n\ndoors:"
    )
    text = edited("\ndoors:", "\n" + triangle)
    assert any(
        e.startswith("zones[8].polygon (line ")
        and "overlaps zone 'f2-counters' (zones[6]) by 0.5 m2" in e
        for e in errors_of(text)
    )


def test_a_counted_false_zone_with_a_source_is_a_warning() -> None:
    text = edited(
        "    counted: false  # no camera or presence sensor on the landing\n",
        "    counted: false\n",
    ).replace("zone: f2-landing, interval_s: 60}", "zone: f2-landing, interval_s: 60}", 1)
    text = text.replace(
        "  - {id: pc-f2-counters,",
        "  - {id: pc-f2-landing, kind: presence, decoder: presence, topic: presence/f2-landing,\n"
        "     zone: f2-landing, interval_s: 30}\n  - {id: pc-f2-counters,",
    )
    assert any(
        w.startswith("zones[7].counted") and "presence pc-f2-landing" in w
        for w in warnings_of(text)
    )


def test_the_demo_site_has_no_error_and_no_warning() -> None:
    assert warnings_of(DEMO_TEXT) == []


def test_a_counting_rule_is_a_people_source() -> None:
    text = edited(
        "    counted: false  # no camera or presence sensor on the landing\n", ""
    ).replace(
        "onvif: {host: 127.0.0.1, port: 8021}",
        "onvif: {host: 127.0.0.1, port: 8021, events: {counting_rules: {Landing: f2-landing}}}",
    )
    assert not any("f2-landing" in w for w in warnings_of(text))


# --------------------------------------------------------------------------- secrets not needed

PRODUCTION_SECRETS = (
    "mqtt:\n  host: 127.0.0.1\n",
    "api:\n  tokens:\n    - {name: room, role: supervisor, token: {env: ROOM_TOKEN}}\n"
    "mqtt:\n  username: gw\n  password: {env: MQTT_PASSWORD}\n  host: 127.0.0.1\n",
)


def production_text() -> str:
    text = edited(*PRODUCTION_SECRETS)
    return text.replace(
        "onvif: {host: 127.0.0.1, port: 8021}",
        "onvif: {host: 127.0.0.1, port: 8021, username: op, password: {env: CAM_PASSWORD}}",
    )


def test_unset_secrets_are_errors_when_needed() -> None:
    errors = errors_of(production_text())
    assert any(e.startswith("mqtt.password (line ") for e in errors)
    assert any("environment variable CAM_PASSWORD is not set" in e for e in errors)


def test_unset_secrets_are_left_out_when_not_needed() -> None:
    loaded = parse_settings(production_text(), {}, need_secrets=False)
    s = loaded.settings
    assert s.mqtt.username == "gw" and s.mqtt.password is None
    assert s.cameras[0].onvif.password is None, "no camera-credential error: left out on purpose"
    assert s.api.tokens == []
    warnings = [str(w) for w in loaded.warnings]
    assert any(
        w.startswith("mqtt.password (line ")
        and w.endswith(
            "environment variable MQTT_PASSWORD is not set: left out (this command needs no"
            " secrets)"
        )
        for w in warnings
    )
    assert "api.tokens: 1 token(s) without secret left out" in warnings


def test_set_secrets_are_used_when_not_needed_too() -> None:
    env = {"MQTT_PASSWORD": "m" * 16, "ROOM_TOKEN": "t" * 16, "CAM_PASSWORD": "c"}
    s = parse_settings(production_text(), env, need_secrets=False).settings
    assert s.mqtt.password is not None and s.mqtt.password.get_secret_value() == "m" * 16
    assert [t.name for t in s.api.tokens] == ["room"]
