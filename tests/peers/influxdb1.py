"""Fixtures: a real InfluxDB 1.x ``influxd`` on free loopback ports (gateway.peers.influxdb1)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.peers.influxdb1 import InfluxDB1Server


@pytest.fixture(scope="session")
def influxdb1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB1Server]:
    """One server for the session; tests keep apart by database (``influxdb1_database``)."""
    server = InfluxDB1Server(tmp_path_factory.mktemp("influxdb1"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def influxdb1_database(influxdb1: InfluxDB1Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database name no other test uses; dropped afterwards (the writer creates it)."""
    name = f"t_{_slug(request.node.name)}_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        if influxdb1.running:
            influxdb1.drop_database(name)


@pytest.fixture
def influxdb1_private(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], InfluxDB1Server]]:
    """A factory of servers of the test's own, for tests that stop, kill or restart them."""
    servers: list[InfluxDB1Server] = []

    def make() -> InfluxDB1Server:
        folder: Path = tmp_path_factory.mktemp("influxdb1-private")
        server = InfluxDB1Server(folder)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:40]


@pytest.fixture(scope="session")
def influxdb1_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB1Server]:
    """A server with ``auth-enabled = true``; ``server.auth`` is its admin (user, password)."""
    server = InfluxDB1Server(
        tmp_path_factory.mktemp("influxdb1-auth"),
        auth=("floorwatch", f"pw-{secrets.token_urlsafe(12)}"),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
