"""schemathesis, the CLI, against the API on a real uvicorn: every phase, every default check.

The API runs in this process (``serve_api`` on a free loopback port) over the
in-memory floor, a HistoryReader and a PlanningService on the real InfluxDB 1.x
fixture; ``schemathesis run`` (the venv's own CLI, over requests and urllib3)
tests it from a subprocess with an admin token, reading the project's
``schemathesis.toml``. The CI profile is derandomized and bounded: a fixed
seed, ``--generation-deterministic`` (no example database, the same cases on
every run) and 5 examples per operation in the fuzzing phase (plus the
examples, coverage and stateful phases), about 20 s. A deeper run by hand:
docs/api.md, "Tests". The live stream is read up to its first event
(``schemathesis.toml``); its behaviour is tests/integration/test_api_stream.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.history import HistoryReader
from api.routes.ingest import attach_ingest
from gateway.dead_letters import DeadLetter, DeadLetters
from gateway.influx_writer import InfluxWriter
from gateway.live import Severity
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.planning.service import PlanningService
from gateway.settings import InfluxConfig, IngestConfig, Role, TicketSource
from gateway.spool import Spool
from gateway.ticket_ingest import TicketIngest
from tests.api_support import ROOT, TOKENS, LiveServer, api_config, build_app, demo_settings

pytestmark = pytest.mark.integration
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CI_PROFILE = ["--seed", "0", "--generation-deterministic", "--max-examples", "5"]


@pytest.fixture
def server(
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=influxdb1_database)
    site = demo_settings().model_copy(update={"influxdb": influx})
    config = api_config(auth_max_failures=1_000_000)  # schemathesis sends wrong tokens on purpose
    app, floor, _ = build_app(site=site, history=HistoryReader(influx, site.site.id), config=config)
    app.state.planning = PlanningService.from_settings(site)
    app.state.dead_letters = DeadLetters(tmp_path_factory.mktemp("dead") / "d.jsonl", 100)
    app.state.dead_letters.record(
        DeadLetter("airq/x", "not JSON", datetime.now(UTC), b"{", "cl-f1-canteen")
    )
    # a ticket source (its own token, which schemathesis does not have: 403 to the admin)
    ingest = IngestConfig(
        tickets=[TicketSource(id="qms", token=SecretStr("qms-ingest-token-0123456789"))]
    )
    spool = Spool(tmp_path_factory.mktemp("spool"), max_bytes=10**6)
    attach_ingest(
        app,
        TicketIngest(
            ingest,
            site_id=site.site.id,
            timezone=site.site.timezone,
            limits=site.validation,
            sink=InfluxWriter(influx, spool),
            dead_letters=app.state.dead_letters,
            clock=lambda: datetime.now(UTC),
        ),
    )
    with LiveServer(app, config, floor) as live:
        live.call(floor.set_count, "f2-waiting", 170)
        live.call(
            lambda: floor.raise_alert(
                "co2_high:f2-waiting",
                rule="co2_high",
                severity=Severity.WARNING,
                message="CO2 high",
                zone_id="f2-waiting",
            )
        )
        yield live


def test_schemathesis_finds_no_failure(server: LiveServer, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(ROOT / "schemathesis.toml"),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKENS[Role.ADMIN]}",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
            *CI_PROFILE,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        check=False,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert "TrafficPolice" not in out
    operations = re.search(r"Tested:\s+(\d+)", out)
    assert operations is not None and int(operations.group(1)) >= 26, out[-3000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    assert cases is not None, out[-3000:]
    assert int(cases.group(1)) == int(cases.group(2)) >= 500
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", out), f"{phase} did not pass:\n{out[-3000:]}"
