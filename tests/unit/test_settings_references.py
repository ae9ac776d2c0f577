"""Cross-references beyond ids: zone services, maintenance devices, ONVIF counting rules.

Each class of bad reference is reported with its YAML path and the line it is on;
the demo site has none of them.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from gateway.config_loader import ConfigError, parse_settings
from gateway.settings import Settings, reference_errors
from tests.unit.test_settings import DEMO, demo_data, issues_of


def _line_of(issue: str) -> int:
    return int(issue.split("(line ")[1].split(")")[0])


def _set_zone_services(data: dict[str, Any], services: list[str]) -> None:
    data["zones"][5]["services"] = services  # f2-waiting


def _set_maintenance(data: dict[str, Any], device: str) -> None:
    data["alerts"]["maintenance"][0]["device"] = device


def _set_counting_rules(data: dict[str, Any], rules: dict[str, str]) -> None:
    data["cameras"][0]["onvif"]["events"] = {"counting_rules": rules}


@pytest.mark.parametrize(
    ("edit", "where", "expect", "line_starts"),
    [
        (
            lambda d: _set_zone_services(d, ["land", "lands"]),
            "zones[5].services[1]",
            "unknown service 'lands' (known: business, civil,",
            "- lands",
        ),
        (
            lambda d: _set_maintenance(d, "cl-f1-kitchen"),
            "alerts.maintenance[0].device",
            "unknown device 'cl-f1-kitchen' (known: cam-f1-entrance,",
            "- device:",
        ),
        (
            lambda d: _set_counting_rules(d, {"hall-in": "f2-waiting", "desk": "f2-desks"}),
            "cameras[0].onvif.events.counting_rules.desk",
            "unknown zone 'f2-desks' (known: f1-atm,",
            "desk:",
        ),
    ],
    ids=["zone-service", "maintenance-device", "counting-rule-zone"],
)
def test_bad_reference_names_path_and_line(
    edit: Any, where: str, expect: str, line_starts: str
) -> None:
    data = demo_data()
    edit(data)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    (issue,) = issues_of(text)
    assert issue.startswith(f"{where} (line "), issue
    assert expect in issue
    assert text.splitlines()[_line_of(issue) - 1].strip().startswith(line_starts)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: _set_zone_services(d, ["land", "civil"]),
        lambda d: _set_zone_services(d, []),
        lambda d: _set_maintenance(d, "cam-f2-hall"),
        lambda d: _set_maintenance(d, "gateway"),
        lambda d: _set_counting_rules(d, {"hall-in": "f2-waiting", "desk": "f2-counters"}),
    ],
    ids=["services", "no-services", "camera", "gateway", "counting-rules"],
)
def test_good_references_pass(edit: Any) -> None:
    data = demo_data()
    edit(data)
    parse_settings(yaml.safe_dump(data, allow_unicode=True), {})


def test_demo_site_has_no_reference_errors() -> None:
    settings = Settings.model_validate(yaml.safe_load(DEMO.read_text(encoding="utf-8")))
    assert reference_errors(settings) == []


def test_every_bad_reference_is_reported_at_once() -> None:
    data = demo_data()
    _set_zone_services(data, ["ghost-service"])
    _set_maintenance(data, "ghost-device")
    _set_counting_rules(data, {"r1": "ghost-zone"})
    with pytest.raises(ConfigError) as info:
        parse_settings(yaml.safe_dump(data, allow_unicode=True), {})
    paths = sorted(i.path for i in info.value.issues)
    assert paths == [
        "alerts.maintenance[0].device",
        "cameras[0].onvif.events.counting_rules.r1",
        "zones[5].services[0]",
    ]


def test_direct_construction_checks_the_new_references() -> None:
    data = demo_data()
    _set_maintenance(data, "ghost-device")
    with pytest.raises(ValidationError, match=r"alerts\.maintenance\[0\]\.device: unknown device"):
        Settings.model_validate(data)
