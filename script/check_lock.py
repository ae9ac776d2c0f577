#!/usr/bin/env python3
"""Do requirements/*.lock still match pyproject.toml? Exit 1 naming each difference.

Run by script/bootstrap before it installs, and by tests/unit/test_lock.py.
Each lock's header carries the sha256 of the requirement lists it was compiled
from (``# from-pyproject: sha256=...``): adding, removing or changing a pin in
pyproject.toml changes it. Every pin (``name==version``) of pyproject.toml must
also appear in the lock with that version. The fix is always the same:
``script/lock`` (docs/deploy.md "Dependencies and the lock files").

    python3 script/check_lock.py [ROOT]
"""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from pathlib import Path

LOCKS = {"runtime.lock": ("dependencies",), "dev.lock": ("dependencies", "dev")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
HEADER = re.compile(r"^# from-pyproject: sha256=([0-9a-f]{64})$", re.MULTILINE)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(pyproject: dict[str, object], groups: tuple[str, ...]) -> list[str]:
    project = pyproject["project"]
    if not isinstance(project, dict):
        raise TypeError("pyproject.toml: [project] is not a table")
    found: list[str] = []
    for group in groups:
        if group == "dependencies":
            found += project.get("dependencies", [])
        else:
            found += project.get("optional-dependencies", {}).get(group, [])
    return found


def fingerprint(reqs: list[str]) -> str:
    """The same for the same requirements, whatever their order or spacing."""
    text = "\n".join(sorted(re.sub(r"\s+", "", r) for r in reqs))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def problems(root: Path) -> list[str]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[str] = []
    for lock_name, groups in LOCKS.items():
        path = root / "requirements" / lock_name
        if not path.exists():
            found.append(f"requirements/{lock_name} is missing")
            continue
        text = path.read_text(encoding="utf-8")
        reqs = requirements(pyproject, groups)
        header = HEADER.search(text)
        if header is None:
            found.append(f"requirements/{lock_name}: no '# from-pyproject: sha256=' header")
        elif header.group(1) != fingerprint(reqs):
            found.append(
                f"requirements/{lock_name} was compiled from other requirements than"
                " pyproject.toml's now"
            )
        locked = {
            normalize(m.group(1)): m.group(2)
            for m in (PIN.match(line) for line in text.splitlines())
            if m
        }
        for req in reqs:
            m = PIN.match(req.strip())
            if m is None:
                found.append(f"pyproject.toml: {req!r} is not pinned with ==")
                continue
            name, version = normalize(m.group(1)), m.group(2)
            if name not in locked:
                found.append(f"requirements/{lock_name}: {name} is missing (pyproject: {version})")
            elif locked[name] != version:
                found.append(
                    f"requirements/{lock_name}: {name}=={locked[name]}, pyproject.toml: {version}"
                )
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    found = problems(root)
    for problem in found:
        print(f"lock check: {problem}", file=sys.stderr)
    if found:
        print(
            "lock check: pyproject.toml and requirements/*.lock disagree: run script/lock"
            " and commit pyproject.toml with requirements/ (docs/deploy.md)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
