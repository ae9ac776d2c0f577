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
