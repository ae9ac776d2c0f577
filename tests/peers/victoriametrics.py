"""Fixtures: a real VictoriaMetrics on a free loopback port (gateway.peers.victoriametrics).

VictoriaMetrics 1.79 takes the v1 ``db`` query argument as the label ``db`` but
ignores the v2 ``bucket``; tests writing through ``/api/v2/write`` keep apart by
a ``site`` tag of their own (``victoriametrics_site``).

``victoriametrics_token`` puts ``vmauth`` in front of it: a v2 write peer that
enforces its API token, as InfluxDB 2.x does (gateway.peers.vmauth).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.peers.victoriametrics import VictoriaMetricsServer
from gateway.peers.vmauth import VMAuthServer


@pytest.fixture(scope="session")
def victoriametrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsServer]:
    server = VictoriaMetricsServer(tmp_path_factory.mktemp("victoriametrics"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class TokenPeer:
    """vmauth in front of ``backend``: writes to ``url`` need ``token``."""

    url: str
    token: str
    backend: VictoriaMetricsServer


@pytest.fixture(scope="session")
def victoriametrics_token(
    victoriametrics: VictoriaMetricsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TokenPeer]:
    token = secrets.token_urlsafe(24)
    proxy = VMAuthServer(tmp_path_factory.mktemp("vmauth"), victoriametrics.url, [token])
    proxy.start()
    try:
        yield TokenPeer(proxy.url, token, victoriametrics)
    finally:
        proxy.stop()


@pytest.fixture
def victoriametrics_db(request: pytest.FixtureRequest) -> str:
    """A ``db`` label value (v1 database / v2 bucket name) no other test uses."""
    return f"t_{_slug(request.node.name)}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def victoriametrics_site() -> str:
    """A ``site`` tag value no other test uses: the isolation key for v2 writes."""
    return f"s-{uuid.uuid4().hex[:12]}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:40]
