"""Storage authentication against real peers that enforce it.

- InfluxDB 1.x ``influxd`` with ``auth-enabled = true`` (``influxdb1_auth``): the
  v1 protocol's basic auth, right and wrong password, and none.
- ``vmauth`` in front of VictoriaMetrics (``victoriametrics_token``): a v2 write
  endpoint that checks the API token influxdb-client sends (``Token <token>``),
  as InfluxDB 2.x does: right token, no token, wrong token.

What must hold: the right credentials write; wrong ones give a StorageError
that says the credentials were refused; no point is lost (refused batches stay
on disk, in the spool or in quarantine); no credential reaches a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from structlog.testing import CapturingLogger

from gateway.influx_writer import InfluxWriter, StorageError, make_client
from gateway.logs import scrub_secrets
from gateway.observations import PeopleCount
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.points import ZoneGeometry, to_lines
from gateway.settings import InfluxConfig
from gateway.spool import Spool
from tests.peers.victoriametrics import TokenPeer

pytestmark = pytest.mark.integration

# A pinned day: the points are the same on every date the suite runs.
BASE = datetime(2026, 12, 4, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
ZONES = {"waiting": ZoneGeometry(area_m2=120.0, capacity=100)}
N = 600


def lines(site: str, n: int = N) -> list[str]:
    """n points of one series, 1 ms apart, count = i % 150."""
    out: list[str] = []
    for i in range(n):
        obs = PeopleCount("waiting", "cam-1", i % 150, BASE + timedelta(milliseconds=i), 0.9)
        out.extend(to_lines(site, obs, ZONES))
    return out


EXPECTED_SUM = sum(i % 150 for i in range(N))


def rendered_log() -> tuple[Any, CapturingLogger]:
    """A logger with the production scrubbing processor and JSON rendering."""
    cap = CapturingLogger()
    log = structlog.wrap_logger(
        cap,
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        processors=[scrub_secrets, structlog.processors.JSONRenderer()],
    )
    return log, cap


def log_text(cap: CapturingLogger) -> str:
    return "\n".join(str(call.args[0]) for call in cap.calls)


@asynccontextmanager
async def running(writer: InfluxWriter) -> AsyncIterator[None]:
    task = asyncio.create_task(writer.run())
    try:
        yield
    finally:
        await writer.close()
        await asyncio.wait_for(task, 30)


async def eventually(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 120))


def write_once(config: InfluxConfig, body: str) -> None:
    client = make_client(config)
    try:
        client.prepare()
        client.write(body)
    finally:
        client.close()


# --------------------------------------------------------------------------- InfluxDB 1.x


def v1(server: InfluxDB1Server, db: str, **overrides: Any) -> InfluxConfig:
    assert server.auth is not None
    user, password = server.auth
    base: dict[str, Any] = {
        "url": server.url,
        "protocol": "v1",
        "database": db,
        "username": user,
        "password": password,
        "flush_interval_s": 0.05,
        "retry_min_s": 0.05,
        "retry_max_s": 0.5,
        "timeout_s": 5,
    }
    return InfluxConfig.model_validate(base | overrides)


def stored_v1(server: InfluxDB1Server, db: str) -> tuple[int, int]:
    databases = server.query("SHOW DATABASES").get("series", [{}])[0].get("values", [])
    if [db] not in databases:
        return (0, 0)  # not even created: nothing was written
    rows = server.rows('SELECT count("count"), sum("count") FROM zone_occupancy', db)
    return (int(rows[0][1]), int(rows[0][2])) if rows else (0, 0)


def test_v1_the_right_password_writes(influxdb1_auth: InfluxDB1Server, tmp_path: Path) -> None:
    db = "auth_right"

    async def main() -> None:
        writer = InfluxWriter(v1(influxdb1_auth, db), Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(writer):
            await writer.submit(lines("s"))
            await eventually(lambda: writer.stats().points_written == N, 30, "the write")
        assert writer.stats().write_errors == 0

    run(main)
    assert stored_v1(influxdb1_auth, db) == (N, EXPECTED_SUM)


@pytest.mark.parametrize(
    ("credentials", "answer"),
    [
        ({"password": "not-the-password"}, "authorization failed"),
        ({"username": "nobody"}, "authorization failed"),
        ({"username": None, "password": None}, "unable to parse authentication credentials"),
    ],
    ids=["wrong-password", "unknown-user", "no-credentials"],
)
def test_v1_refused_credentials_are_a_clear_storage_error(
    influxdb1_auth: InfluxDB1Server, credentials: dict[str, Any], answer: str
) -> None:
    config = v1(influxdb1_auth, "auth_refused", create_database=False, **credentials)
    with pytest.raises(StorageError) as err:
        write_once(config, "\n".join(lines("s", 3)))
    assert err.value.status == 401
    assert "refused our credentials (HTTP 401)" in err.value.reason
    assert answer in err.value.reason
    assert "not-the-password" not in err.value.reason
    assert influxdb1_auth.auth is not None and influxdb1_auth.auth[1] not in err.value.reason


def test_v1_wrong_password_spools_then_the_right_one_replays_everything(
    influxdb1_auth: InfluxDB1Server, tmp_path: Path
) -> None:
    db = "auth_replay"
    wrong = "Wr0ng-but-close-pw"
    log, cap = rendered_log()
    acknowledged: list[int] = []

    async def main() -> None:
        spool = Spool(tmp_path / "spool", max_bytes=10**7)
        writer = InfluxWriter(v1(influxdb1_auth, db, password=wrong), spool, log=log)
        async with running(writer):
            await writer.submit(lines("s"), lambda: acknowledged.append(1))
            await eventually(lambda: acknowledged == [1], 30, "the batch durable in the spool")
        stats = writer.stats()
        assert stats.points_written == 0
        assert stats.spool_batches >= 1 and stats.batches_spooled == stats.spool_batches
        assert stats.last_error is not None
        assert "refused our credentials (HTTP 401)" in stats.last_error
        assert stored_v1(influxdb1_auth, db) == (0, 0)

        # The operator fixes the password; the next gateway start replays the spool.
        fixed = InfluxWriter(v1(influxdb1_auth, db), Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(fixed):
            await eventually(lambda: fixed.stats().spool_batches == 0, 30, "the replay")
        assert fixed.stats().points_written == N

    run(main)
    assert stored_v1(influxdb1_auth, db) == (N, EXPECTED_SUM)
    text = log_text(cap)
    assert "storage.write_failed" in text and "HTTP 401" in text
    assert wrong not in text


# --------------------------------------------------------------------------- v2 with a token


def v2(peer: TokenPeer, token: str | None, **overrides: Any) -> InfluxConfig:
    base: dict[str, Any] = {
        "url": peer.url,
        "protocol": "v2",
        "bucket": "floorwatch",
        "org": "hcc",
        "token": token,
        "flush_interval_s": 0.05,
        "retry_min_s": 0.05,
        "retry_max_s": 0.5,
        "timeout_s": 5,
    }
    return InfluxConfig.model_validate(base | overrides)


def stored_v2(peer: TokenPeer, site: str) -> list[tuple[int, float]]:
    return sorted(peer.backend.export_series("zone_occupancy_count", {"site": site}))


def expected_v2() -> list[tuple[int, float]]:
    return [
        (int((BASE + timedelta(milliseconds=i)).timestamp() * 1000), float(i % 150))
        for i in range(N)
    ]


async def stored_eventually(peer: TokenPeer, site: str) -> None:
    """VictoriaMetrics makes new samples searchable within a second."""
    deadline = time.monotonic() + 30
    while await asyncio.to_thread(stored_v2, peer, site) != expected_v2():
        if time.monotonic() > deadline:
            raise AssertionError(f"the {N} points of {site} never all showed in VictoriaMetrics")
        await asyncio.sleep(0.1)


def test_v2_the_right_token_writes(
    victoriametrics_token: TokenPeer, victoriametrics_site: str, tmp_path: Path
) -> None:
    peer, site = victoriametrics_token, victoriametrics_site

    async def main() -> None:
        writer = InfluxWriter(v2(peer, peer.token), Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(writer):
            await writer.submit(lines(site))
            await eventually(lambda: writer.stats().points_written == N, 30, "the write")
        assert writer.stats().write_errors == 0
        await stored_eventually(peer, site)

    run(main)


def test_v2_without_a_token_spools_then_the_token_replays_everything(
    victoriametrics_token: TokenPeer, victoriametrics_site: str, tmp_path: Path
) -> None:
    """A gateway started before its token was configured: 401, spooled, replayed later."""
    peer, site = victoriametrics_token, victoriametrics_site
    acknowledged: list[int] = []

    async def main() -> None:
        writer = InfluxWriter(v2(peer, None), Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(writer):
            await writer.submit(lines(site), lambda: acknowledged.append(1))
            await eventually(lambda: acknowledged == [1], 30, "the batch durable in the spool")
        stats = writer.stats()
        assert stats.points_written == 0 and stats.spool_batches >= 1
        assert stats.last_error is not None
        assert "refused our credentials (HTTP 401)" in stats.last_error
        assert "missing `Authorization` request header" in stats.last_error
        assert await asyncio.to_thread(stored_v2, peer, site) == []

        fixed = InfluxWriter(v2(peer, peer.token), Spool(tmp_path / "spool", max_bytes=10**7))
        async with running(fixed):
            await eventually(lambda: fixed.stats().spool_batches == 0, 30, "the replay")
        assert fixed.stats().points_written == N
        await stored_eventually(peer, site)

    run(main)


def test_v2_a_wrong_token_is_refused_and_its_batch_kept(
    victoriametrics_token: TokenPeer, victoriametrics_site: str, tmp_path: Path
) -> None:
    """vmauth 1.79 answers an unknown token with HTTP 400 (InfluxDB 2.x: 401).

    A 400 reads as "this batch is bad": the writer quarantines it in
    ``<spool>/rejected`` with the reason, so nothing is lost, though it is not
    replayed by itself. The token the peer echoes back never reaches the log.
    """
    peer, site = victoriametrics_token, victoriametrics_site
    wrong = peer.token[:-4] + "oops"  # a near miss: an old or mistyped token
    log, cap = rendered_log()
    acknowledged: list[int] = []
    spool = Spool(tmp_path / "spool", max_bytes=10**7)
    sent = lines(site)

    with pytest.raises(StorageError) as err:
        write_once(v2(peer, wrong), "\n".join(sent[:3]))
    assert "cannot find the provided auth token" in err.value.reason

    async def main() -> None:
        writer = InfluxWriter(v2(peer, wrong), spool, log=log)
        async with running(writer):
            await writer.submit(sent, lambda: acknowledged.append(1))
            await eventually(lambda: acknowledged == [1], 30, "the batch handled")
        assert writer.stats().points_written == 0
        assert await asyncio.to_thread(stored_v2, peer, site) == []

    run(main)
    kept = [line for path in spool.rejected() for line in path.read_text().splitlines()]
    assert kept == sent
    text = log_text(cap)
    assert "cannot find the provided auth token" in text
    assert wrong not in text
    assert peer.token not in text
