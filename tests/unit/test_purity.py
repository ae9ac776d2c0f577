"""The pure core imports no I/O: a scan of imports keeps it so (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "gateway/observations.py",
    "gateway/settings.py",
    "gateway/floor_state.py",
    "gateway/throttle.py",
    "gateway/points.py",
    "gateway/influx_query.py",
    "gateway/live.py",
    *("api/auth.py", "api/influxql.py", "api/events.py"),
    *("api/schemas.py", "api/schemas_devices.py", "api/schemas_history.py"),
    *(
        f"gateway/{m}.py"
        for m in [
            *("levels", "zones", "climate", "alerts", "alert_rules", "floor_model"),
            *("outbound", "day_state"),
        ]
    ),
    "sensors/models.py",
    "sensors/topics.py",
    "sensors/backoff.py",
    "sensors/door_counts.py",
    "sensors/staleness.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sensors" / "decoders").glob("*.py")),
    "sensors/simulator/model.py",
    "sensors/simulator/payloads.py",
    *(
        f"dashboards/{m}.py"
        for m in ("influxql", "common", "control_room", "managers", "facility", "build")
    ),  # noqa: E501
    "cameras/capture_core.py",
    "gateway/planning/plan_points.py",
    *(
        f"gateway/planning/{m}.py"
        for m in ("erlang", "forecast", "backtest", "staffing", "report", "hvac", "hvac_rules")
    ),
    *("cameras/models.py", "cameras/geometry.py", "cameras/smoothing.py", "cameras/yolo.py"),
    *("cameras/calibration.py",),
    *("cameras/onvif_models.py", "cameras/onvif_events.py", "cameras/wsdiscovery.py"),
]
FORBIDDEN = {
    "asyncio",
    "socket",
    "threading",
    "subprocess",
    "paho",
    "influxdb_client",
    "httpx",
    "fastapi",
    "cv2",
    "onvif",
    "zeep",
    "sqlite3",
    "time",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str) -> None:
    path = ROOT / module
    assert path.exists(), f"{module} is listed as pure but missing"
    bad = imported_roots(path) & FORBIDDEN
    assert not bad, f"{module} imports {sorted(bad)}"
