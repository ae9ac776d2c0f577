"""The ``floorwatch`` command's entry point: first make sure the packages are floorwatch's.

floorwatch keeps five short top-level package names (``api``, ``cameras``,
``dashboards``, ``gateway``, ``sensors``). Installed into an environment shared
with another project that also ships, say, an ``api`` package, one of them
would be imported in place of the other and fail far from the cause. This
module has a name no other project uses; before anything else is imported it
checks that each of the five packages lies beside it (the same installation)
and carries floorwatch's mark, and otherwise exits 2 naming the intruder and
the fix: its own virtualenv or pipx (docs/deploy.md).

    python -m floorwatch_main --version      # the same as the `floorwatch` command
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

PACKAGES = ("api", "cameras", "dashboards", "gateway", "sensors")
DISTRIBUTION = "floorwatch"


def foreign_packages(home: Path | None = None) -> list[str]:
    """One line per package that is not floorwatch's own; empty when all five are."""
    base = (home or Path(__file__).resolve().parent).resolve()
    problems: list[str] = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            problems.append(f"package '{name}' is missing (floorwatch expects it in {base})")
            continue
        found = Path(locations[0]).resolve()
        if found != base / name:
            problems.append(
                f"package '{name}' is imported from {found}, not floorwatch's {base / name}"
            )
            continue
        module = importlib.import_module(name)
        if getattr(module, "DISTRIBUTION", None) != DISTRIBUTION:
            problems.append(f"package '{name}' in {found} is not floorwatch's (another project's?)")
    return problems


def main() -> None:
    problems = foreign_packages()
    if problems:
        print("floorwatch: error: this Python environment mixes floorwatch with", file=sys.stderr)
        print("another project that uses the same top-level package names:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print(
            "Install floorwatch into its own virtualenv (python3 -m venv /opt/floorwatch)"
            " or with pipx (pipx install ./floorwatch): docs/deploy.md.",
            file=sys.stderr,
        )
        sys.exit(2)
    from gateway.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
