"""POST /api/v1/ingest/tickets/{source} against a real InfluxDB 1.x: stored once, durable first.

The app is built by create_app with the gateway's TicketIngest attached as the
composition root attaches it, over a real InfluxWriter and Spool writing to a
real ``influxd`` (tests/peers). Requests go through httpx's ASGI transport on
the test's own event loop, where the writer runs too. The outage is a real
stopped server; a spool too small for any batch is a full spool.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from api.ingest_auth import sign
from api.routes.dead_letters import DecodeErrorCollector
from api.routes.ingest import attach_ingest
from gateway.dead_letters import DeadLetters
from gateway.influx_writer import InfluxWriter
from gateway.ingest_events import Fate, Seen
from gateway.ingest_seen_file import SeenFile
from gateway.observations import Observation, TicketEvent
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import PeerError
from gateway.settings import InfluxConfig, IngestConfig, Role, TicketSource
from gateway.spool import Spool
from gateway.ticket_ingest import TicketIngest
from tests.api_support import TOKENS, bearer, build_app, demo_settings

pytestmark = pytest.mark.integration

TOKEN = "qms-ingest-token-7f3a9c0e41"
OTHER_TOKEN = "kiosk-ingest-token-55d0e1b2c3"
SECRET = "webhook-hmac-secret-0a1b2c3d4e"
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # the gateway's clock: a Tuesday, 09:00 in Hanoi
# A third-party system's event: its own names and codes, read by the source's mapping.
MAPPING: dict[str, Any] = {
    "fields": {
        "event": "type",
        "ticket": "data.number",
        "service": "data.queue_id",
        "counter": "data.desk",
        "time": "data.created",
    },
    "events": {"TICKET_CREATED": "issued", "TICKET_CALLED": "called", "QUEUE_UPDATED": "ignore"},
    "services": {"7": "land", "9": "civil"},
}


def qms_event(
    kind: str, number: str, *, queue: int = 7, desk: int | None = None, stamped: bool = True
) -> dict[str, Any]:
    data: dict[str, Any] = {"number": number, "queue_id": queue}
    if desk is not None:
        data["desk"] = desk
    if stamped:
        data["created"] = NOW.isoformat()
    return {"type": kind, "data": data}


def sources() -> list[TicketSource]:
    return [
        TicketSource.model_validate({"id": "qms", "token": SecretStr(TOKEN), **MAPPING}),
        TicketSource.model_validate(
            {
                "id": "kiosk",
                "token": SecretStr(OTHER_TOKEN),
                "secret": SecretStr(SECRET),
                "signature_header": "X-Kiosk-Signature",
                "event_id": "event_id",
                **MAPPING,
            }
        ),
        TicketSource.model_validate({"id": "signed", "secret": SecretStr(SECRET), **MAPPING}),
    ]


class Observed:
    """The engine's side: what the ingest made it observe."""

    def __init__(self) -> None:
        self.items: list[Observation] = []

    def observe(self, obs: Observation) -> None:
        self.items.append(obs)


@dataclass
class Stack:
    client: httpx.AsyncClient
    writer: InfluxWriter
    ingest: TicketIngest
    dead: DeadLetters
    observed: Observed

    async def post(
        self, source: str, body: object, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.post(
            f"/api/v1/ingest/tickets/{source}",
            content=raw,
            headers={"Content-Type": "application/json", **(headers or {})},
        )


def influx(url: str, db: str) -> InfluxConfig:
    return InfluxConfig.model_validate(
        {
            "url": url,
            "protocol": "v1",
            "database": db,
            "flush_interval_s": 0.05,
            "retry_min_s": 0.05,
            "retry_max_s": 0.3,
            "timeout_s": 3,
        }
    )


@asynccontextmanager
async def stack(
    config: InfluxConfig,
    spool: Spool,
    tmp_path: Path,
    *,
    state_dir: Path | None = None,
    **ingest: Any,
) -> AsyncIterator[Stack]:
    site = demo_settings()
    ingest_config = IngestConfig(tickets=sources(), **ingest)
    app, _, registry = build_app(site=site)
    writer = InfluxWriter(config, spool)
    dead = DeadLetters(tmp_path / "dead-letters.jsonl", 100)
    observed = Observed()
    service = TicketIngest(
        ingest_config,
        site_id=site.site.id,
        timezone=site.site.timezone,
        limits=site.validation,
        sink=writer,
        dead_letters=dead,
        observer=observed,
        clock=lambda: NOW,
        state_dir=state_dir,
    )
    attach_ingest(app, service)
    app.state.dead_letters = dead
    registry.register(DecodeErrorCollector(dead))
    task = asyncio.create_task(writer.run())
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield Stack(client, writer, service, dead, observed)
    finally:
        await writer.close()
        await asyncio.wait_for(task, 30)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 180))


def stored(server: InfluxDB1Server, db: str) -> list[tuple[str, str, str]]:
    """(event, service, ticket) of every queue point; [] while the database does not exist."""
    try:
        rows = server.rows('SELECT "ticket", "event", "service" FROM queue', db)
    except PeerError as exc:
        if "database not found" in str(exc):
            return []
        raise
    return sorted((str(r[2]), str(r[3]), str(r[1])) for r in rows)


async def eventually(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


QMS = {"Authorization": f"Bearer {TOKEN}"}


# --------------------------------------------------------------------------- stored, once


def test_posted_events_are_stored_once_and_a_retry_is_a_duplicate(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database

    async def main() -> None:
        spool = Spool(tmp_path / "spool", max_bytes=10**7)
        async with stack(influx(influxdb1.url, db), spool, tmp_path) as s:
            batch = [
                qms_event("TICKET_CREATED", "A012"),
                qms_event("TICKET_CALLED", "A011", desk=3),
                qms_event("QUEUE_UPDATED", "A011"),
                qms_event("TICKET_CREATED", "B001", queue=9, stamped=False),
                qms_event("TICKET_CREATED", "A012"),  # the same event twice in one request
            ]
            r = await s.post("qms", batch, QMS)
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["stored"], body["duplicates"], body["ignored"]) == (3, 1, 1)
            assert [e["status"] for e in body["events"]] == [
                "stored",
                "stored",
                "ignored",
                "stored",
                "stored",
            ]
            assert [e["duplicate"] for e in body["events"]] == [False] * 4 + [True]
            # 200 means durable: the points are in InfluxDB now, no waiting
            assert await asyncio.to_thread(stored, influxdb1, db) == [
                ("called", "land", "A011"),
                ("issued", "civil", "B001"),
                ("issued", "land", "A012"),
            ]
            # the webhook retries the whole request (spacing and key order of its own)
            again = json.dumps(batch, indent=2, sort_keys=True).encode()
            r = await s.post("qms", again, QMS)
            assert r.status_code == 200, r.text
            assert (r.json()["stored"], r.json()["duplicates"]) == (0, 5)
            assert len(await asyncio.to_thread(stored, influxdb1, db)) == 3
            # the engine observed each event once
            tickets = [o.ticket for o in s.observed.items if isinstance(o, TicketEvent)]
            assert sorted(tickets) == ["A011", "A012", "B001"]
            metrics = (await s.client.get("/metrics", headers=bearer(Role.VIEWER))).text
            assert 'floorwatch_ingest_events_total{outcome="stored",source="qms"} 3.0' in metrics
            assert 'floorwatch_ingest_events_total{outcome="duplicate",source="qms"} 6.0' in metrics
            assert 'floorwatch_ingest_requests_total{source="qms"} 2.0' in metrics

    run(main)


def test_an_event_id_makes_a_changed_retry_a_duplicate_and_a_signature_is_checked(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database

    async def main() -> None:
        spool = Spool(tmp_path / "spool", max_bytes=10**7)
        async with stack(influx(influxdb1.url, db), spool, tmp_path) as s:
            event = {**qms_event("TICKET_CALLED", "C100", desk=4, stamped=False), "event_id": 81}
            body = json.dumps(event).encode()
            headers = {
                "Authorization": f"Bearer {OTHER_TOKEN}",
                "X-Kiosk-Signature": sign(SECRET.encode(), body),
            }
            r = await s.post("kiosk", body, headers)
            assert r.status_code == 200, r.text
            # the retry carries a delivery counter: other content, same event id
            retry = json.dumps({**event, "attempt": 2}).encode()
            headers["X-Kiosk-Signature"] = sign(SECRET.encode(), retry)
            r = await s.post("kiosk", retry, headers)
            assert r.status_code == 200, r.text
            assert r.json()["duplicates"] == 1
            assert await asyncio.to_thread(stored, influxdb1, db) == [("called", "land", "C100")]
            # a signature of the first body does not fit the second
            headers["X-Kiosk-Signature"] = sign(SECRET.encode(), body)
            r = await s.post("kiosk", retry, headers)
            assert r.status_code == 401
            # a source with a secret only: the signature alone is the credential
            only = json.dumps(qms_event("TICKET_CREATED", "C101")).encode()
            r = await s.post("signed", only, {"X-Signature-256": sign(SECRET.encode(), only)})
            assert r.status_code == 200, r.text
            assert len(await asyncio.to_thread(stored, influxdb1, db)) == 2

    run(main)


def test_a_retry_after_a_restart_is_still_counted_once(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    state = tmp_path / "state"
    first = [
        qms_event("TICKET_CREATED", "H001", stamped=False),  # stamped at receipt
        qms_event("TICKET_MOVED", "H002"),  # rejected
        qms_event("QUEUE_UPDATED", "H003"),  # ignored
    ]

    async def main() -> None:
        config = influx(influxdb1.url, db)
        async with stack(
            config, Spool(tmp_path / "spool", max_bytes=10**7), tmp_path, state_dir=state
        ) as s:
            r = await s.post("qms", first, QMS)
            assert r.status_code == 422, r.text
        # the gateway restarts: a new ingest over the same state folder
        async with stack(
            config, Spool(tmp_path / "spool", max_bytes=10**7), tmp_path, state_dir=state
        ) as s:
            r = await s.post("qms", first, QMS)
            assert r.status_code == 422, r.text
            assert [d["duplicate"] for d in r.json()["error"]["details"]] == [True] * 3
            assert "TICKET_MOVED" in r.json()["error"]["details"][1]["reason"]
            assert s.dead.total == 0  # the rejected one is not recorded again
            assert s.observed.items == []
        assert stored(influxdb1, db) == [("issued", "land", "H001")]
        # what is kept: identities and fates, never the events themselves
        kept = (state / "ingest" / "qms.seen").read_text(encoding="utf-8")
        assert len(kept.splitlines()) == 3 and "H001" not in kept and TOKEN not in kept

    run(main)


def test_the_seen_file_survives_a_torn_line_and_compacts_to_the_window(tmp_path: Path) -> None:
    path = tmp_path / "ingest" / "qms.seen"
    a, b, c, d = (bytes([i]) * 32 for i in range(1, 5))
    f = SeenFile(path, max_lines=2)
    f.append([(a, Seen(Fate.STORED, 100.0)), (b, Seen(Fate.REJECTED, 150.0, "bad"))], 150.0, 60)
    f.append([(c, Seen(Fate.PENDING, 150.0))], 150.0, 60)  # never written: not settled
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key":"0a0b')  # a crash in the middle of an append
    g = SeenFile(path, max_lines=2)
    assert g.load(155.0, 60) == [
        (a, Seen(Fate.STORED, 100.0)),
        (b, Seen(Fate.REJECTED, 150.0, "bad")),
    ]
    assert g.skipped == 1
    assert g.load(170.0, 60) == [(b, Seen(Fate.REJECTED, 150.0, "bad"))]  # a is past the window
    g.append([(c, Seen(Fate.STORED, 170.0))], 170.0, 60)  # starts a line of its own
    assert [k for k, _ in SeenFile(path, 2).load(171.0, 60)] == [b, c]
    g.append([(d, Seen(Fate.IGNORED, 171.0))], 171.0, 60)  # 5 lines > 2 x 2: compacted
    assert [k for k, _ in SeenFile(path, 2).load(171.0, 60)] == [c, d]
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


# --------------------------------------------------------------------------- rejected


def test_events_that_do_not_fit_the_mapping_are_422_and_dead_letters_the_rest_stored(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database

    async def main() -> None:
        spool = Spool(tmp_path / "spool", max_bytes=10**7)
        async with stack(influx(influxdb1.url, db), spool, tmp_path) as s:
            batch = [
                qms_event("TICKET_CREATED", "D001"),
                qms_event("TICKET_MOVED", "D002"),
                qms_event("TICKET_CALLED", "D003"),  # called without a desk
                qms_event("TICKET_CREATED", "D004", queue=55),
            ]
            r = await s.post("qms", batch, QMS)
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "events_rejected"
            assert "3 of 4 events" in error["message"]
            details = error["details"]
            assert [d["status"] for d in details] == ["stored", "rejected", "rejected", "rejected"]
            assert "type 'TICKET_MOVED' is not in the sensor's events" in details[1]["reason"]
            assert "counter missing" in details[2]["reason"]
            assert "data.queue_id 55 is not in the sensor's services" in details[3]["reason"]
            assert await asyncio.to_thread(stored, influxdb1, db) == [("issued", "land", "D001")]
            # the rejected ones are dead letters of the source, like MQTT decode errors
            sup = bearer(Role.SUPERVISOR)
            letters = (await s.client.get("/api/v1/dead-letters", headers=sup)).json()
            assert letters["per_sensor"] == [{"sensor": "qms", "count": 3}]
            assert letters["letters"][0]["topic"] == "http/ingest/tickets/qms"
            assert "D004" in letters["letters"][0]["payload_preview"]
            # a retry answers the same, and records nothing twice
            r = await s.post("qms", batch, QMS)
            assert r.status_code == 422
            assert [d["duplicate"] for d in r.json()["error"]["details"]] == [True] * 4
            assert s.dead.total == 3
            metrics = (await s.client.get("/metrics", headers=bearer(Role.VIEWER))).text
            assert 'floorwatch_sensor_decode_errors_total{sensor="qms"} 3.0' in metrics
            assert 'floorwatch_ingest_events_total{outcome="rejected",source="qms"} 3.0' in metrics

    run(main)


def test_a_body_that_is_not_events_is_refused_and_kept(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    async def main() -> None:
        spool = Spool(tmp_path / "spool", max_bytes=10**7)
        config = influx(influxdb1.url, influxdb1_database)
        async with stack(config, spool, tmp_path, max_events=3) as s:
            r = await s.post("qms", b"<xml/>", QMS)
            assert r.status_code == 400
            assert "not JSON" in r.json()["error"]["message"]
            r = await s.post("qms", [qms_event("TICKET_CREATED", f"E{i}") for i in range(4)], QMS)
            assert r.status_code == 413
            assert r.json()["error"]["code"] == "too_many_events"
            assert [d.reason[:20] for d in s.dead.recent] == [
                "the body is not JSON",
                "4 events in one requ",
            ]
            r = await s.post("nosuch", [], QMS)
            assert r.status_code == 404

    run(main)


# --------------------------------------------------------------------------- durability


def test_storage_down_and_spool_full_is_503_then_the_retry_stores_once(
    influxdb1_private: Callable[[], InfluxDB1Server], tmp_path: Path
) -> None:
    server = influxdb1_private()
    db = "ingest_outage"

    async def main() -> None:
        # a spool too small for any batch: full from the start
        spool = Spool(tmp_path / "spool", max_bytes=64)
        async with stack(influx(server.url, db), spool, tmp_path, answer_within_s=1.0) as s:
            await asyncio.to_thread(server.stop)
            event = qms_event("TICKET_CREATED", "F001", stamped=False)  # stamped at receipt
            r = await s.post("qms", event, QMS)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "30"
            assert r.json()["error"]["code"] == "storage_unavailable"
            # a retry while storage is still away waits for the same points: not queued twice
            r = await s.post("qms", event, QMS)
            assert r.status_code == 503
            assert s.writer.stats().pending_lines == 1
            assert s.writer.stats().spool_full
            await asyncio.to_thread(server.start)
            await eventually(lambda: s.writer.stats().points_written >= 1, 60, "the write")
            r = await s.post("qms", event, QMS)
            assert r.status_code == 200, r.text
            assert (r.json()["stored"], r.json()["duplicates"]) == (0, 1)
            metrics = (await s.client.get("/metrics", headers=bearer(Role.VIEWER))).text
            assert 'floorwatch_ingest_unavailable_total{source="qms"} 2.0' in metrics
        assert stored(server, db) == [("issued", "land", "F001")]

    run(main)


# --------------------------------------------------------------------------- credentials


def test_wrong_credentials_and_api_tokens_store_nothing_and_secrets_never_show(
    influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    event = qms_event("TICKET_CREATED", "G001")
    body = json.dumps(event).encode()
    cases: list[tuple[str, dict[str, str], int]] = [
        ("qms", {}, 401),
        ("qms", {"Authorization": "Bearer " + "x" * 30}, 401),
        ("qms", {"Authorization": f"Bearer {TOKEN[:-1]}"}, 401),
        ("qms", {"Authorization": f"Bearer {OTHER_TOKEN}"}, 403),  # another source's token
        ("qms", bearer(Role.VIEWER), 403),
        ("qms", bearer(Role.SUPERVISOR), 403),
        ("qms", bearer(Role.ADMIN), 403),
        ("signed", {"X-Signature-256": sign(b"not-the-secret-at-all", body)}, 401),
        ("signed", {"X-Signature-256": "sha256=" + "0" * 64}, 401),
        ("signed", {"Authorization": f"Bearer {TOKEN}"}, 401),  # a token where a signature is due
        ("kiosk", {"Authorization": f"Bearer {OTHER_TOKEN}"}, 401),  # signature missing
    ]

    async def main() -> None:
        spool = Spool(tmp_path / "spool", max_bytes=10**7)
        with capture_logs() as logs:
            async with stack(influx(influxdb1.url, db), spool, tmp_path) as s:
                answers = []
                for source, headers, expected in cases:
                    r = await s.post(source, body, headers)
                    answers.append(r.text + json.dumps(dict(r.headers)))
                    assert r.status_code == expected, (source, headers, r.text)
                    assert r.json()["error"]["code"] in {"unauthorized", "forbidden"}
                # the ingest token opens nothing else, and is no login
                r = await s.client.get("/api/v1/site", headers=QMS)
                assert r.status_code == 401
                r = await s.client.post("/api/v1/session", json={"token": TOKEN})
                assert r.status_code == 401
                await asyncio.sleep(0.3)  # a flush interval: anything submitted would be written
                assert s.writer.stats().points_written == 0
                assert s.observed.items == []
                assert s.ingest.stats()["qms"].refused == 7
        assert stored(influxdb1, db) == []
        text = "\n".join(answers) + "\n" + json.dumps(logs, default=str)
        for secret in (TOKEN, OTHER_TOKEN, SECRET, *TOKENS.values()):
            assert secret not in text
        assert any(e["event"] == "ingest.auth_failed" for e in logs)

    run(main)
