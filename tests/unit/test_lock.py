"""requirements/*.lock: pinned with hashes, in step with pyproject.toml, and only what is used.

script/check_lock.py is what script/bootstrap runs before installing; here it
runs on the repository (must pass) and on copies with a pin changed, added or
removed (must fail, naming the package).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_lock", ROOT / "script" / "check_lock.py")
assert _spec and _spec.loader
check_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_lock)

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = ("api", "cameras", "dashboards", "gateway", "sensors")


def test_the_locks_match_pyproject() -> None:
    assert check_lock.problems(ROOT) == []
    run = subprocess.run(
        [sys.executable, str(ROOT / "script" / "check_lock.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_changed_pin_is_named(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '"PyYAML==6.0.3"', '"PyYAML==6.0.2"')
    found = check_lock.problems(copy)
    assert "requirements/runtime.lock: pyyaml==6.0.3, pyproject.toml: 6.0.2" in found
    assert "requirements/dev.lock: pyyaml==6.0.3, pyproject.toml: 6.0.2" in found
    run = subprocess.run(
        [sys.executable, str(ROOT / "script" / "check_lock.py"), str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert "run script/lock" in run.stderr


def test_a_new_pin_is_named(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '    "pytest==', '    "left-pad-py==1.0.0",\n    "pytest==')
    found = check_lock.problems(copy)
    assert "requirements/dev.lock: left-pad-py is missing (pyproject: 1.0.0)" in found
    assert not any(p.startswith("requirements/runtime.lock") for p in found)


def test_a_removed_pin_is_seen_by_the_fingerprint(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '    "holidays==0.108",\n', "")
    assert check_lock.problems(copy) == [
        "requirements/runtime.lock was compiled from other requirements than pyproject.toml's now",
        "requirements/dev.lock was compiled from other requirements than pyproject.toml's now",
    ]


def test_an_unpinned_requirement_is_refused(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '"PyYAML==6.0.3"', '"PyYAML>=6"')
    assert "pyproject.toml: 'PyYAML>=6' is not pinned with ==" in check_lock.problems(copy)


@pytest.mark.parametrize("name", ["runtime.lock", "dev.lock"])
def test_every_locked_package_is_pinned_with_hashes(name: str) -> None:
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 7)[-1])
    assert len(entries) > 40
    for entry in entries:
        first = entry.splitlines()[0]
        assert check_lock.PIN.match(first), first
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{first}: no hash"
    assert "script/lock" in text.split("\n", 7)[2]  # the header says how to regenerate


def test_python_311_to_313() -> None:
    assert PYPROJECT["project"]["requires-python"] == ">=3.11,<3.14"
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py311"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == "3.11"


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    for path in [*files, ROOT / "floorwatch_main.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_every_runtime_dependency_is_imported() -> None:
    """A dependency nothing imports (pydantic-settings was one) is dropped, not carried."""
    imported = _imported_top_levels()
    by_distribution: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            by_distribution.setdefault(check_lock.normalize(dist), set()).add(module)
    unused = []
    for req in PYPROJECT["project"]["dependencies"]:
        m = check_lock.PIN.match(req)
        assert m, req
        modules = by_distribution.get(check_lock.normalize(m.group(1)), set())
        assert modules, f"{req} is not installed in this environment"
        if not modules & imported:
            unused.append(req)
    assert unused == []
