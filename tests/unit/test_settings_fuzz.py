"""No site file makes the loader raise anything but ConfigError (a list of issues).

Hypothesis mutates the demo site: any value replaced by a value of another
shape (numbers, YAML 1.1 base-60 times, strings, nulls, lists, mappings),
keys dropped or added, list items duplicated; and raw YAML text mutated. Each
result loads, or fails with issues that name a path; never a traceback.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli import summary
from gateway.config_loader import ConfigError, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8")
DEMO = yaml.safe_load(DEMO_TEXT)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(0, 24 * 60),  # what YAML makes of an unquoted 07:30
    st.dates(),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["10:00", "07:30", "25:99", "f2-waiting", "mon", "{env: X}", "", "-1"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*here, i))
    return out


ALL_PATHS = paths(DEMO)[1:]
# Opening hours, geometry and counters are where whole-site checks compare values.
HOT = [
    p
    for p in ALL_PATHS
    if p[0] in ("site", "floors", "services") or (p[0] == "zones" and "polygon" in p)
]


def mutate(data: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> None:
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "drop":
        del parent[last]
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif action == "add" and isinstance(parent[last], dict):
        parent[last][str(value)[:10] or "x"] = value


def assert_loads_or_issues(text: str, need_secrets: bool = True) -> None:
    try:
        loaded = parse_settings(text, {}, need_secrets=need_secrets)
    except ConfigError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.path and issue.message
    else:
        assert summary(loaded.settings).endswith("ok: configuration is valid")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(ALL_PATHS), st.sampled_from(HOT)),
            st.sampled_from(["replace", "replace", "drop", "duplicate", "add"]),
            values,
        ),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_mutated_site_files_load_or_list_their_issues(
    edits: list[tuple[tuple[Any, ...], str, Any]], need_secrets: bool
) -> None:
    data = copy.deepcopy(DEMO)
    for path, action, value in edits:
        try:
            mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or reshaped the path
    text = yaml.safe_dump(data, allow_unicode=True)
    assert_loads_or_issues(text, need_secrets)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(DEMO_TEXT) - 1), st.text(max_size=6), st.integers(0, 8))
def test_mutated_yaml_text_loads_or_lists_its_issues(at: int, insert: str, cut: int) -> None:
    text = DEMO_TEXT[:at] + insert + DEMO_TEXT[at + cut :]
    assert_loads_or_issues(text)


@settings(max_examples=30, deadline=None)
@given(values)
def test_any_document_loads_or_lists_its_issues(document: Any) -> None:
    assert_loads_or_issues(yaml.safe_dump(document))


QUOTED = [m.span() for m in re.finditer(r'"[^"\n]*"', DEMO_TEXT)]


@settings(max_examples=80, deadline=None)
@given(st.sets(st.sampled_from(QUOTED), min_size=1, max_size=4))
def test_unquoted_values_load_or_list_their_issues(spans: set[tuple[int, int]]) -> None:
    """The mistake of a hand-written file: quotes left out (times become base-60 numbers)."""
    text = DEMO_TEXT
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[start + 1 : end - 1] + text[end:]
    assert_loads_or_issues(text)


def bomb() -> str:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"\xff\xfe\x00site:",
            "(file) (line 1): not UTF-8 text (byte 0xff): save the file as UTF-8",
        ),
        (b"site: x\n\xe9t\xe9: 1\n", "(file) (line 2): not UTF-8 text (byte 0xe9)"),
        (b"a: &x [*x]\n", "(file): nested too deeply, or an alias (*name) refers to its own"),
        (b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", "(file): nested too deeply"),
        (bomb().encode(), "(file): more than 200000 values once its aliases (*name) are expanded"),
        (
            b"site: !!python/object:os.system {}\n",
            "(file) (line 1): not valid YAML: could not determine a",
        ),
    ],
)
def test_hostile_files_are_issues(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert any(str(i).startswith(expected) for i in info.value.issues), info.value.issues
