"""The key reference in docs/configuration.md and config/site.schema.json are the code's.

When a setting changes, regenerate both:
    floorwatch config reference --write docs/configuration.md
    floorwatch config schema --write config/site.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config_cli import schema_text, with_reference
from gateway.config_reference import BEGIN, END, reference_markdown, reference_rows

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
SCHEMA = ROOT / "config" / "site.schema.json"
REGENERATE = "regenerate: floorwatch config reference --write docs/configuration.md"
runner = CliRunner()


def test_the_documented_keys_are_the_settings() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert with_reference(document) == document, REGENERATE
    assert reference_markdown() in document


def test_the_committed_schema_is_the_settings() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "regenerate: floorwatch config schema --write config/site.schema.json"
    )


@pytest.mark.parametrize(
    ("key", "unit", "default"),
    [
        ("zones[].door_balance", "", "true"),
        ("zones[].door_reset_at_closing", "", "true"),
        ("zones[].services", "", "null"),
        ("zones[].counted", "", "true"),
        ("zones[].crowd.occupancy.busy", "", "0.5"),
        ("zones[].crowd.dwell_s", "s", "60"),
        ("zones[].area_m2", "m²", "required"),
        ("planning.publish_at", "", '"18:00"'),
        ("sensors[].mode (door_counter)", "", "cumulative"),
        ("alerts.capacity_ratio", "", "1"),
    ],
)
def test_keys_once_only_in_other_docs_are_listed(key: str, unit: str, default: str) -> None:
    rows = {r[0]: r for r in reference_rows()}
    assert key in rows
    _, _, got_default, got_unit, _ = rows[key]
    assert (got_unit, got_default) == (unit, default)


@pytest.mark.parametrize("site", ["demo-site.yaml", "commune-center.yaml", "city-center.yaml"])
def test_site_files_validate_against_the_schema(site: str) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    data = yaml.safe_load((ROOT / "config" / site).read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)


def test_the_schema_finds_a_typo_and_an_unquoted_time() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    data = yaml.safe_load((ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8"))
    data["zones"][0]["capcity"] = 150
    data["site"]["opening_hours"][0]["sessions"][0]["start"] = 450  # YAML's 07:30
    data["mqtt"]["password"] = {"env": "MQTT_PASSWORD"}  # a reference is fine
    errors = {
        tuple(e.path): e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)
    }
    assert "'capcity' was unexpected" in errors[("zones", 0)]
    assert errors[("site", "opening_hours", 0, "sessions", 0, "start")] == (
        "450 is not of type 'string'"
    )
    assert len(errors) == 2


def test_reference_write_replaces_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(f"# title\n\n{BEGIN}\nold\n{END}\n\nafter\n", encoding="utf-8")
    result = runner.invoke(app, ["config", "reference", "--write", str(doc)])
    assert result.exit_code == 0, result.output
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# title\n\n" + BEGIN) and text.endswith(END + "\n\nafter\n")
    assert "\nold\n" not in text and "| `site.timezone` |" in text
    doc.write_text("no markers", encoding="utf-8")
    missing = runner.invoke(app, ["config", "reference", "--write", str(doc)])
    assert missing.exit_code == 2 and "markers" in missing.output
