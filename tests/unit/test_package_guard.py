"""floorwatch_main: the ``floorwatch`` command refuses to run on another project's ``api``.

The foreign package is a real folder put first on the import path, as a
shared environment or a stray PYTHONPATH would; the command runs in its own
process, as an operator would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import floorwatch_main

ROOT = Path(__file__).resolve().parents[2]


def _floorwatch(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", "import floorwatch_main; floorwatch_main.main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=pythonpath or ROOT,
        check=False,
    )


def test_the_installed_packages_are_floorwatch_s() -> None:
    assert floorwatch_main.foreign_packages() == []
    result = _floorwatch("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("floorwatch ")


def test_a_namesake_package_first_on_the_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "__init__.py").write_text('"""Another project\'s api."""\n')
    result = _floorwatch("--version", pythonpath=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"package 'api' is imported from {tmp_path / 'api'}" in result.stderr
    assert "own virtualenv" in result.stderr and "pipx" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_package_without_the_mark_is_refused(tmp_path: Path) -> None:
    """Beside floorwatch_main, but not carrying the mark: files of another project."""
    home = tmp_path / "site-packages"
    for name in floorwatch_main.PACKAGES:
        (home / name).mkdir(parents=True)
        mark = 'DISTRIBUTION = "floorwatch"\n' if name != "sensors" else ""
        (home / name / "__init__.py").write_text(mark)
    code = (
        "import sys, floorwatch_main; from pathlib import Path;"
        f"sys.path.insert(0, {str(home)!r});"
        "[sys.modules.pop(n, None) for n in floorwatch_main.PACKAGES];"
        f"print('\\n'.join(floorwatch_main.foreign_packages(Path({str(home)!r}))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == (
        f"package 'sensors' in {home / 'sensors'} is not floorwatch's (another project's?)"
    )
