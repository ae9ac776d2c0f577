"""Fixtures: real nats-servers with JetStream on free loopback ports (gateway.peers.nats).

- ``nats_server``: one server of the test's own (tests stop, restart and kill it);
- ``nats_cluster``: a 3-node JetStream cluster (domain ``central``, open on
  loopback) shared by the tests of one module: cluster start is slow. A test
  that kills a node starts it again before it ends;
- ``nats_leaf``: a factory of site leaf servers (``NatsLeaf``), each in its own
  JetStream domain, connected to the module's cluster unless given other hub
  URLs (a ``LinkProxy``'s, to cut the link); stopped after the test.

The machine's own NATS on 4222 is never used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from gateway.fleet.messages import FleetSubjects
from gateway.fleet.topology import Login
from gateway.peers.nats import NatsCluster, NatsLeaf, NatsServer

LeafFactory = Callable[..., NatsLeaf]


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A server of the test's own (tests stop, restart and kill it); never the system's 4222."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three JetStream nodes routed together, shared by a module's tests (streams apart by name)."""
    cluster = NatsCluster(tmp_path_factory.mktemp("nats-cluster"), size=3)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def nats_leaf(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LeafFactory]:
    """``make(subjects, hub_urls=None, gateway=None, link=None)`` -> a started NatsLeaf.

    Without ``hub_urls`` the leaf connects to the module's ``nats_cluster``.
    """
    leaves: list[NatsLeaf] = []

    def make(
        subjects: FleetSubjects,
        hub_urls: Sequence[str] | None = None,
        gateway: Login | None = None,
        link: Login | None = None,
    ) -> NatsLeaf:
        if hub_urls is None:
            hub_urls = request.getfixturevalue("nats_cluster").leaf_urls
        leaf = NatsLeaf(
            tmp_path_factory.mktemp(f"leaf-{subjects.site}"),
            subjects,
            hub_urls,
            gateway=gateway,
            link=link,
        )
        leaves.append(leaf)
        leaf.start()
        return leaf

    try:
        yield make
    finally:
        for leaf in leaves:
            leaf.stop()
