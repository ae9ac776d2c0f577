"""Fixtures: a real mosquitto on a free loopback port (gateway.peers.mosquitto)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from gateway.peers.mosquitto import MosquittoServer


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """One broker for the session; tests keep apart by ``topic_prefix`` and client ids."""
    server = MosquittoServer(tmp_path_factory.mktemp("mosquitto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mosquitto_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """A broker of the test's own, for tests that restart or kill it."""
    server = MosquittoServer(tmp_path_factory.mktemp("mosquitto-fresh"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A topic prefix no other test uses, e.g. ``test/test_publish-3f2a9c1d``."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:60]
    return f"test/{name}-{uuid.uuid4().hex[:8]}"
