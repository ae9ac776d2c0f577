"""The live stream over a real uvicorn (serve_api) on a loopback port: order, resume, limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.live import Severity
from gateway.settings import ApiConfig, Role
from tests.api_support import LiveServer, api_config, bearer, build_app, demo_settings
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration


@dataclass
class Event:
    id: str | None
    event: str
    data: dict[str, Any]


class SseReader:
    """Parses ``text/event-stream`` lines into events (comments and retry skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> Event:
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if "data" in fields:
                    return Event(
                        fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])
                    )
                fields = {}
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    def take(self, n: int) -> list[Event]:
        return [self.next() for _ in range(n)]


@contextmanager
def live(config: ApiConfig | None = None, replay: int = 1000) -> Iterator[LiveServer]:
    config = config or api_config(stream_keepalive_s=0.5)
    floor = MemoryFloor(demo_settings(), replay=replay)
    app, _, _ = build_app(floor, config=config)
    with LiveServer(app, config, floor) as server:
        yield server


@contextmanager
def stream(
    server: LiveServer, headers: dict[str, str] | None = None, **params: Any
) -> Iterator[SseReader]:
    with (
        httpx.Client(base_url=server.url, timeout=10) as client,
        client.stream(
            "GET",
            "/api/v1/stream",
            params=params,
            headers={**bearer(Role.VIEWER), **(headers or {})},
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


def wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def test_a_fresh_stream_starts_with_a_snapshot_then_follows() -> None:
    with live() as server:
        server.call(server.floor.set_count, "f2-waiting", 40)
        with stream(server) as sse:
            snap = sse.next()
            assert snap.event == "snapshot" and snap.id is None
            zones = {z["zone_id"]: z for z in snap.data["zones"]}
            assert zones["f2-waiting"]["occupancy"] == 40
            server.call(server.floor.set_count, "f2-waiting", 170)  # crowded: an alert
            zone, alert = sse.take(2)
            assert (zone.event, zone.data["zone"]["occupancy"]) == ("zone", 170)
            assert alert.event == "alert" and alert.data["transition"] == "raised"
            assert int(alert.id or 0) == int(zone.id or 0) + 1 == server.floor.seq


def test_a_reconnecting_client_resumes_without_missing_a_transition() -> None:
    with live() as server:
        floor = server.floor
        with stream(server) as sse:
            sse.next()  # snapshot
            server.call(floor.set_count, "f2-waiting", 170)
            _, raised = sse.take(2)
        last = raised.id
        # While the client is away: acknowledge, more counts, resolve, a device event.
        with httpx.Client(base_url=server.url, headers=bearer(Role.SUPERVISOR)) as api:
            alert_id = raised.data["alert"]["id"]
            assert api.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}).status_code == 200
            server.call(floor.set_count, "f2-waiting", 120)
            assert api.post(f"/api/v1/alerts/{alert_id}/resolve", json={}).status_code == 200
        missed = floor.seq - int(last or 0)
        assert missed == 3
        with stream(server, headers={"Last-Event-ID": str(last)}) as sse:
            events = sse.take(missed)
            assert [e.id for e in events] == [str(int(last or 0) + i) for i in (1, 2, 3)]
            assert [e.data.get("transition") for e in events] == ["acknowledged", None, "resolved"]
            server.call(floor.set_count, "f2-waiting", 10)
            nxt = sse.next()
            assert nxt.event == "zone" and nxt.id == str(floor.seq)
        with stream(server, after=int(last or 0) + 2) as sse:  # ?after= works too
            assert sse.next().data["transition"] == "resolved"


def test_resuming_from_beyond_the_replay_buffer_gets_a_fresh_snapshot() -> None:
    with live(replay=5) as server:
        for n in range(20):
            server.call(server.floor.set_count, "f1-atm", n % 4)
        with stream(server, headers={"Last-Event-ID": "2"}) as sse:
            snap = sse.next()
            assert snap.event == "snapshot"
            atm = next(z for z in snap.data["zones"] if z["zone_id"] == "f1-atm")
            assert atm["occupancy"] == 19 % 4


def test_every_role_may_read_the_stream_and_nobody_without_a_token() -> None:
    with live() as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/api/v1/stream").status_code == 401
        bad = client.get("/api/v1/stream", headers={"Authorization": "Bearer " + "z" * 20})
        assert bad.status_code == 401
        for role in Role:
            with client.stream("GET", "/api/v1/stream", headers=bearer(role)) as r:
                assert r.status_code == 200
                assert SseReader(r).next().event == "snapshot"


def test_stream_clients_are_bounded() -> None:
    with live(api_config(max_stream_clients=2, stream_keepalive_s=0.5)) as server:
        with stream(server) as a, stream(server) as b:
            a.next()
            b.next()
            r = httpx.get(f"{server.url}/api/v1/stream", headers=bearer(Role.VIEWER))
            assert r.status_code == 503 and r.json()["error"]["code"] == "too_many_streams"
        state = server.app.state.floorwatch
        wait_for(lambda: state.stream_clients == 0)


def test_alerts_fan_out_to_many_clients() -> None:
    with live() as server:
        readers: list[SseReader] = []
        with httpx.Client(base_url=server.url, timeout=10) as client:
            contexts = [
                client.stream("GET", "/api/v1/stream", headers=bearer(Role.VIEWER))
                for _ in range(20)
            ]
            try:
                for ctx in contexts:
                    readers.append(SseReader(ctx.__enter__()))
                for r in readers:
                    assert r.next().event == "snapshot"
                server.call(
                    lambda: server.floor.raise_alert(
                        "camera_offline:cam-1",
                        rule="camera_offline",
                        severity=Severity.CRITICAL,
                        message="camera offline",
                        device_id="cam-1",
                    )
                )
                for r in readers:
                    e = r.next()
                    assert e.event == "alert" and e.data["alert"]["severity"] == "critical"
            finally:
                for ctx in contexts:
                    ctx.__exit__(None, None, None)


def test_stopping_the_server_ends_open_streams() -> None:
    # Were open streams not ended, uvicorn would wait the whole 60 s graceful timeout and
    # stop() (which waits 20 s) would raise.
    config = api_config(stream_keepalive_s=30, shutdown_timeout_s=60)
    floor = MemoryFloor(demo_settings())
    app, _, _ = build_app(floor, config=config)
    server = LiveServer(app, config, floor).start()
    try:
        with stream(server) as sse:
            sse.next()
            server.stop(timeout_s=20)
            with pytest.raises((EOFError, httpx.RemoteProtocolError)):
                sse.next()
    finally:
        if server._thread.is_alive():
            server.stop()


def test_a_stream_ends_when_its_subscription_ends_and_the_client_resumes() -> None:
    with live() as server:
        floor = server.floor
        with stream(server) as sse:
            sse.next()  # snapshot
            server.call(floor.set_count, "f1-atm", 1)
            first = sse.next()
            # The floor drops its subscribers (as the engine does with a slow one).
            server.call(floor.drop_subscribers)
            with pytest.raises(EOFError):
                sse.next()
        server.call(floor.set_count, "f1-atm", 2)
        with stream(server, headers={"Last-Event-ID": str(first.id)}) as sse:
            assert sse.next().data["zone"]["occupancy"] == 2
