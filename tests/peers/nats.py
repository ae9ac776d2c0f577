"""Fixtures: a real nats-server with JetStream on a free loopback port (gateway.peers.nats)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.peers.nats import NatsServer


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A server of the test's own (tests stop, restart and kill it); never the system's 4222."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
