"""The pure core does no I/O: a scan of every pure module keeps it so (STYLE.md).

A pure module (values in, values out; time and randomness come in as values)
must not

- import a module that does I/O, reads the clock or draws OS randomness
  (``FORBIDDEN``: asyncio, os, socket, http, urllib, ssl, logging, structlog,
  concurrent, time, secrets, importlib, paho, httpx, ...);
- import a module of the project that is not itself pure, by absolute or
  relative import: a pure module importing ``gateway.logs`` (structlog) is as
  impure as one importing structlog. Importing ``a.b.c`` also runs ``a`` and
  ``a.b``, so the packages of pure modules are checked too;
- call ``open()``, ``print()``, ``input()``, ``exec``/``eval``/``__import__``,
  the clock (``datetime.now()``, ``date.today()``, ...), a ``Path`` method that
  touches the file system, or unseeded randomness (``random.random()``,
  ``random.Random()`` without a seed).

Imports under ``if TYPE_CHECKING:`` never run and are not held against a module.
Every module whose docstring says "Pure module" (or "Pure package", "Pure.")
must be in ``PURE``, so a module cannot claim purity without being checked.
The checker itself is tested on synthetic modules with each kind of leak.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("api", "gateway", "sensors", "cameras", "dashboards")

PURE = [
    "gateway/observations.py",
    "gateway/settings.py",
    "gateway/floor_state.py",
    "gateway/throttle.py",
    "gateway/points.py",
    "gateway/influx_query.py",
    "gateway/live.py",
    "gateway/scrub.py",
    *(f"gateway/notify/{m}.py" for m in ("config", "routing", "batching", "texts", "templating")),
    "gateway/vi_text.py",
    *("gateway/geometry.py", "gateway/site_checks.py", "gateway/site_template.py"),
    "gateway/config_reference.py",
    "gateway/fleet/topology.py",
    "gateway/fleet/alert_drops.py",
    *("gateway/fleet/overview.py", "gateway/fleet/month.py", "api/fleet/schemas.py"),
    *("api/auth.py", "api/influxql.py", "api/events.py", "api/ingest_auth.py"),
    "gateway/ingest_events.py",
    *("api/schemas.py", "api/schemas_devices.py", "api/schemas_history.py"),
    *(
        f"gateway/{m}.py"
        for m in [
            *("levels", "zones", "climate", "alerts", "alert_rules", "floor_model"),
            *("outbound", "day_state", "ha_discovery", "seats"),
        ]
    ),
    "sensors/models.py",
    "sensors/topics.py",
    "sensors/backoff.py",
    "sensors/door_counts.py",
    "sensors/staleness.py",
    "sensors/dedup.py",
    "sensors/mqtt_frames.py",
    "sensors/discovery.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sensors" / "decoders").glob("*.py")),
    *(
        f"sensors/simulator/{m}.py"
        for m in ("model", "payloads", "climate", "demand", "devices", "readings")
    ),
    *(
        f"dashboards/{m}.py"
        for m in ("influxql", "common", "control_room", "managers", "facility", "build", "texts")
    ),
    "dashboards/province.py",
    "cameras/capture_core.py",
    "gateway/planning/plan_points.py",
    *(
        f"gateway/planning/{m}.py"
        for m in ("erlang", "forecast", "backtest", "staffing", "report", "hvac", "hvac_rules")
    ),
    *("cameras/models.py", "cameras/geometry.py", "cameras/smoothing.py", "cameras/yolo.py"),
    *("cameras/calibration.py",),
    *("gateway/report/model.py", "gateway/report/texts.py", "gateway/report/weekly.py"),
    "gateway/report/schedule.py",
    *("cameras/onvif_models.py", "cameras/onvif_events.py", "cameras/wsdiscovery.py"),
]

# Modules (and their submodules) a pure module must not import.
FORBIDDEN = frozenset(
    {
        # I/O, processes, threads, signals
        *("asyncio", "socket", "socketserver", "selectors", "select", "ssl"),
        *("http", "urllib", "ftplib", "smtplib", "imaplib", "poplib", "xmlrpc", "webbrowser"),
        *(
            "os",
            "sys",
            "io.open",
            "io.open_code",
            "io.FileIO",
            "shutil",
            "tempfile",
            "glob",
            "fileinput",
            "mmap",
            "fcntl",
        ),
        *("subprocess", "signal", "threading", "_thread", "multiprocessing", "concurrent"),
        *("sqlite3", "dbm", "shelve", "ctypes", "platform", "getpass", "atexit"),
        *("logging", "structlog", "warnings"),
        # loading code by name
        *("importlib", "pkgutil", "runpy", "builtins"),
        # the clock and OS randomness (values come in as arguments)
        *("time", "sched", "secrets", "uuid"),
        # third-party clients and servers
        *("paho", "aiomqtt", "influxdb_client", "urllib3", "httpx", "httpcore", "requests"),
        *("aiohttp", "anyio", "websockets", "fastapi", "starlette", "uvicorn", "cv2"),
        *("onvif", "zeep", "grafana_client", "playwright", "aiofiles"),
    }
)
# Pure parts of forbidden packages.
ALLOWED = frozenset({"urllib.parse"})

BANNED_CALLS = frozenset({"open", "print", "input", "breakpoint", "exec", "eval", "__import__"})
CLOCK_READS = frozenset({"now", "utcnow", "today"})
CLOCK_TYPES = frozenset({"datetime", "date"})
FILE_SYSTEM = frozenset(
    {
        *("read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "rglob"),
        *("mkdir", "rmdir", "unlink", "touch", "exists", "is_file", "is_dir"),
        *("cwd", "home", "expanduser", "chmod"),
    }
)

CLAIM = re.compile(r"\bPure (?:module|package)\b(?!s)|\bPure\.")


@dataclass(frozen=True, slots=True)
class Leak:
    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str) -> Path | None:
    """The project file a dotted module name is, or None (an attribute, or not ours)."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def with_packages(name: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs its packages."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def pure_modules(claimed: Iterable[str] = ()) -> frozenset[str]:
    """The dotted names of the pure modules and of the packages they sit in."""
    names: set[str] = set()
    for rel in (*PURE, *claimed):
        names.update(with_packages(module_name(ROOT / rel)))
    return frozenset(names)


class _Scan(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, pure: frozenset[str]) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.pure = pure
        self.leaks: list[Leak] = []

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":  # never runs: only the else branch counts
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(node.lineno, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")[: len(self.package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if base.split(".")[0] in PROJECT:
                self._imported(node.lineno, full if module_file(full) else base)
            elif _forbidden(full):
                self.leaks.append(Leak(node.lineno, f"imports {full} (I/O, clock or OS entropy)"))

    def _imported(self, line: int, name: str) -> None:
        if _forbidden(name):
            self.leaks.append(Leak(line, f"imports {name} (I/O, clock or OS entropy)"))
        elif name.split(".")[0] in PROJECT:
            for part in with_packages(name):
                if module_file(part) is not None and part not in self.pure:
                    self.leaks.append(Leak(line, f"imports {part}, which is not pure"))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in BANNED_CALLS:
            self.leaks.append(Leak(node.lineno, f"calls {func.id}()"))
        elif isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            if func.attr in CLOCK_READS and receiver.rpartition(".")[2] in CLOCK_TYPES:
                self.leaks.append(Leak(node.lineno, f"reads the clock: {receiver}.{func.attr}()"))
            elif _forbidden(f"{receiver}.{func.attr}"):
                self.leaks.append(Leak(node.lineno, f"calls {receiver}.{func.attr}()"))
            elif func.attr in FILE_SYSTEM:
                self.leaks.append(Leak(node.lineno, f"touches files: .{func.attr}()"))
            elif receiver == "random" and (func.attr != "Random" or not node.args):
                self.leaks.append(
                    Leak(node.lineno, f"draws unseeded randomness: random.{func.attr}")
                )
        if isinstance(func, ast.Name) and func.id == "Random" and not node.args:
            self.leaks.append(Leak(node.lineno, "draws unseeded randomness: Random()"))
        self.generic_visit(node)


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN) and not any(
        name == a or name.startswith(a + ".") for a in ALLOWED
    )


def leaks(
    source: str, module: str, *, is_package: bool = False, pure: frozenset[str]
) -> list[Leak]:
    """What in ``source`` (the module ``module``) breaks purity."""
    scan = _Scan(module, is_package, pure)
    scan.visit(ast.parse(source))
    return scan.leaks


def claims_purity(path: Path) -> bool:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return CLAIM.search(" ".join(doc.split())) is not None


def project_files() -> Iterator[Path]:
    for package in PROJECT:
        yield from sorted((ROOT / package).rglob("*.py"))


CLAIMED = sorted(str(p.relative_to(ROOT)) for p in project_files() if claims_purity(p))
PURE_MODULES = pure_modules(CLAIMED)
# Every module checked: those listed, those that say they are pure, and their packages.
PURE_FILES = sorted(
    str(path.relative_to(ROOT))
    for path in (module_file(name) for name in PURE_MODULES)
    if path is not None
)


@pytest.mark.parametrize("module", PURE_FILES)
def test_pure_module_does_no_io(module: str) -> None:
    path = ROOT / module
    found = leaks(
        path.read_text(encoding="utf-8"),
        module_name(path),
        is_package=path.name == "__init__.py",
        pure=PURE_MODULES,
    )
    assert not found, f"{module} is pure but:\n" + "\n".join(map(str, found))


def test_every_listed_pure_module_exists() -> None:
    missing = [m for m in PURE if not (ROOT / m).is_file()]
    assert not missing, f"listed as pure but missing: {missing}"


def test_a_module_that_calls_itself_pure_is_checked() -> None:
    checked = set(PURE_FILES)
    for module in ("sensors/simulator/demand.py", "sensors/simulator/climate.py", "api/events.py"):
        assert claims_purity(ROOT / module)
        assert module in checked
    assert not claims_purity(ROOT / "gateway" / "engine.py")  # "the pure ``FloorModel``"
    assert "gateway/engine.py" not in checked


# ---------------------------------------------------------------- the checker, on synthetic modules

LEAKY = [
    ("import os\n", "imports os"),
    ("import os.path\n", "imports os.path"),
    ("from os import environ\n", "imports os"),
    ("import urllib.request\n", "imports urllib.request"),
    ("from urllib import request\n", "imports urllib.request"),
    ("import http.client\n", "imports http.client"),
    ("import ssl\n", "imports ssl"),
    ("import logging\n", "imports logging"),
    ("import structlog\n", "imports structlog"),
    ("from concurrent.futures import ThreadPoolExecutor\n", "imports concurrent.futures"),
    ("import importlib\n", "imports importlib"),
    ("from importlib import import_module\n", "imports importlib"),
    ("import asyncio\n", "imports asyncio"),
    ("import time\n", "imports time"),
    ("import secrets\n", "imports secrets"),
    ("import paho.mqtt.client as mqtt\n", "imports paho.mqtt.client"),
    ("from io import open as io_open\n", "imports io.open"),
    ("import io\nF = io.open('x')\n", "calls io.open()"),
    ("from gateway.logs import scrub_text\n", "imports gateway.logs, which is not pure"),
    ("import gateway.logs\n", "imports gateway.logs, which is not pure"),
    ("from gateway import logs\n", "imports gateway.logs, which is not pure"),
    ("from .. import logs\n", "imports gateway.logs, which is not pure"),
    ("from ..logs import scrub_text\n", "imports gateway.logs, which is not pure"),
    ("from .. import hub\n", "imports gateway.hub, which is not pure"),
    ("from . import history\n", "imports gateway.planning.history, which is not pure"),
    ("from .history import HistoryReader\n", "imports gateway.planning.history, which is not pure"),
    ("from ..planning import service\n", "imports gateway.planning.service, which is not pure"),
    ("from ...sensors import mqtt_source\n", "imports sensors.mqtt_source, which is not pure"),
    ("text = open('site.yaml').read()\n", "calls open()"),
    ("print('hello')\n", "calls print()"),
    ("mod = __import__('socket')\n", "calls __import__()"),
    ("eval('1 + 1')\n", "calls eval()"),
    ("from datetime import datetime\nNOW = datetime.now()\n", "reads the clock: datetime.now()"),
    ("import datetime\nTODAY = datetime.date.today()\n", "reads the clock: datetime.date.today()"),
    ("from pathlib import Path\nTEXT = Path('x').read_text()\n", "touches files: .read_text()"),
    ("from pathlib import Path\nOK = Path('x').exists()\n", "touches files: .exists()"),
    ("import random\nX = random.random()\n", "unseeded randomness: random.random"),
    ("import random\nR = random.Random()\n", "unseeded randomness: random.Random"),
    ("from random import Random\nR = Random()\n", "unseeded randomness: Random()"),
]


@pytest.mark.parametrize(("source", "expected"), LEAKY)
def test_the_checker_flags_each_kind_of_leak(source: str, expected: str) -> None:
    # A pure module one level down, so that relative imports reach up to other packages.
    found = leaks(source, "gateway.planning.synthetic", pure=pure_modules())
    assert any(expected in str(leak) for leak in found), (source, [str(x) for x in found])


def test_relative_imports_resolve_from_a_package_init() -> None:
    found = leaks(
        "from . import history\n", "gateway.planning", is_package=True, pure=pure_modules()
    )
    assert [str(x) for x in found] == [
        "line 1: imports gateway.planning.history, which is not pure"
    ]


def test_a_pure_package_is_not_imported_through_an_impure_one() -> None:
    # cameras.simulator's __init__ imports the scene module; neither is pure, so both count.
    found = leaks("from cameras.simulator import scene\n", "gateway.x", pure=pure_modules())
    assert {str(x) for x in found} == {
        "line 1: imports cameras.simulator, which is not pure",
        "line 1: imports cameras.simulator.scene, which is not pure",
    }


CLEAN = [
    "from urllib.parse import quote\n",
    "import urllib.parse\n",
    "from io import StringIO\n",
    "import io\nOUT = io.StringIO()\n",
    "from gateway.observations import Climate\n",
    "from . import erlang\n",
    "from .forecast import forecast_day\n",
    "from ..points import to_line\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncio\n    from gateway.hub import Hub\n",
    "import random\nR = random.Random('7:visitors')\n",
    "from random import Random\nR = Random(7)\n",
    "def f(clock):\n    return clock.now()\n",
    "from pathlib import Path\nP = Path('state') / 'spool'\n",
    "from datetime import datetime, timedelta\nT = datetime(2026, 12, 4) + timedelta(hours=1)\n",
]


@pytest.mark.parametrize("source", CLEAN)
def test_the_checker_lets_pure_code_pass(source: str) -> None:
    found = leaks(source, "gateway.planning.synthetic", pure=pure_modules())
    assert not found, [str(x) for x in found]


def test_a_pure_module_importing_io_fails_the_real_test(tmp_path: Path) -> None:
    """The mutation: one pure module of the project gets one I/O import, and is flagged."""
    path = ROOT / "gateway" / "points.py"
    source = path.read_text(encoding="utf-8")
    assert not leaks(source, "gateway.points", pure=pure_modules())
    mutated = source.replace(
        "from __future__ import annotations\n", "from __future__ import annotations\nimport os\n", 1
    )
    assert mutated != source
    assert [str(x) for x in leaks(mutated, "gateway.points", pure=pure_modules())] == [
        f"line {_line_of(mutated, 'import os')}: imports os (I/O, clock or OS entropy)"
    ]


def _line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


@pytest.mark.parametrize(
    ("doc", "claims"),
    [
        ('"""Crowd levels. Pure module."""\n', True),
        ('"""Climate per zone. Pure.\n\nMore."""\n', True),
        ('"""Payload decoders. Pure\npackage."""\n', True),
        ('"""Planning.\n\nPure modules: ``erlang``, ``forecast``."""\n', False),
        ('"""The composition root. Shell module."""\n', False),
    ],
)
def test_a_claim_of_purity_is_read_from_the_docstring(
    tmp_path: Path, doc: str, claims: bool
) -> None:
    path = tmp_path / "m.py"
    path.write_text(doc, encoding="utf-8")
    assert claims_purity(path) is claims
