"""Local nats-servers with JetStream on loopback ports, each with its config and store in a folder.

Shell module. Used by the fleet tests, the fleet demo and bench. The server is
Debian's ``nats-server`` (2.9.x); a NATS the machine may already run (e.g. on
4222) is never used: every instance gets free ports of its own.

- ``NatsServer``: one standalone server (token or users with permissions);
- ``NatsCluster``: N nodes (3) routed into one JetStream cluster, domain
  ``central``, each with a leafnode port (``leaf_urls``) for the sites;
- ``NatsLeaf``: a center's server, JetStream in the site's own domain,
  connected as a leaf node to the cluster (or to a ``LinkProxy`` in front of
  it, gateway.peers.tcp_proxy, to cut the link).

The configs of the cluster and the leaves are gateway.fleet.topology's, the
same an operator generates with ``floorwatch fleet config``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import ssl
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import nats
import nats.errors

from gateway.fleet.messages import FleetSubjects
from gateway.fleet.topology import (
    CENTRAL_DOMAIN,
    CentralNode,
    CentralPlan,
    HubTls,
    LeafTls,
    Login,
    RouteTls,
    SitePlan,
    central_conf,
    site_conf,
)
from gateway.peers.process import LocalServer, ManagedProcess, PeerError, free_port, wait_for_port
from gateway.peers.tcp_proxy import LinkProxy

START_TIMEOUT_S = 15.0
RELOADED = "Reloaded server configuration"  # what nats-server logs after a reload


@dataclass(frozen=True, slots=True)
class NatsUser:
    """A user of the server with what it may publish and subscribe to (empty: nothing)."""

    name: str
    password: str
    publish: Sequence[str] = field(default_factory=tuple)
    subscribe: Sequence[str] = field(default_factory=tuple)


class NatsProcess(LocalServer):
    """One nats-server on ``127.0.0.1:<port>``: its folder, config file, JetStream store, process.

    A subclass says what ``config_text()`` is; ``start()`` writes it (mode 0600:
    it may hold passwords) and waits until the port accepts connections.
    """

    _process: ManagedProcess

    host = "127.0.0.1"

    def __init__(self, folder: Path, port: int) -> None:
        self._folder = folder
        self._port = port
        self._process = ManagedProcess(
            "nats-server", ["nats-server", "-c", str(self.conf_path)], folder / "nats-server.log"
        )

    @property
    def port(self) -> int:
        return self._port

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self._port}"

    @property
    def conf_path(self) -> Path:
        return self._folder / "nats-server.conf"

    @property
    def store_dir(self) -> Path:
        return self._folder / "jetstream"

    @property
    def running(self) -> bool:
        return self._process.running

    @abstractmethod
    def config_text(self) -> str:
        """The nats-server.conf this server runs with (its format takes JSON strings)."""

    def start(self) -> None:
        """Write the config, start nats-server and wait until it accepts connections."""
        if self.running:
            return
        self._process.argv[0] = _nats_binary()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        proc = self._process.start()
        try:
            wait_for_port(self.host, self._port, START_TIMEOUT_S, proc)
        except PeerError as exc:
            self._process.kill()
            raise PeerError(
                f"nats-server on {self.host}:{self._port}: {exc}\n"
                f"--- {self._process.log_path} ---\n{self.log_tail()}"
            ) from exc

    def reload(self) -> None:
        """Write the config again, make the running server re-read it (SIGHUP), wait till done.

        Returns once the server logged the reload, so what follows (a client
        logging in with a changed password) meets the new config.
        """
        self._write_config()
        if not self.running or self._process.proc is None:
            return
        before = self._reloads()
        self._process.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + START_TIMEOUT_S
        while self._reloads() <= before:
            if time.monotonic() > deadline:
                raise PeerError(f"nats-server on {self._port} did not reload:\n{self.log_tail()}")
            time.sleep(0.05)

    def _reloads(self) -> int:
        try:
            return self._process.log_path.read_text(errors="replace").count(RELOADED)
        except OSError:
            return 0

    def _write_config(self) -> None:
        self.conf_path.touch(mode=0o600, exist_ok=True)
        self.conf_path.write_text(self.config_text())


class NatsServer(NatsProcess):
    """nats-server on ``127.0.0.1:<port>`` with JetStream stored under ``folder/jetstream``.

    Streams and their messages survive ``restart()`` and ``kill()`` (JetStream
    writes to its file store before it acknowledges). ``token`` makes clients
    authenticate with that token, ``users`` with a name and password each, under
    that user's publish/subscribe permissions; without either the server is open
    (loopback only). Strings go into the config as JSON, which its format reads.
    """

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        token: str | None = None,
        users: Sequence[NatsUser] = (),
    ) -> None:
        if token is not None and users:
            raise ValueError("give a token or users, not both")
        super().__init__(folder, port if port is not None else free_port(self.host))
        self._token = token
        self._users = tuple(users)

    def config_text(self) -> str:
        """The nats-server.conf this server runs with (its format takes JSON strings)."""
        lines = [
            f"server_name: {json.dumps('floorwatch-' + str(self._port))}",
            f"listen: {json.dumps(f'{self.host}:{self._port}')}",
            "jetstream {",
            f"  store_dir: {json.dumps(str(self.store_dir))}",
            "  max_memory_store: 64MB",
            "  max_file_store: 1GB",
            "}",
        ]
        if self._token is not None:
            lines += ["authorization {", f"  token: {json.dumps(self._token)}", "}"]
        if self._users:
            lines += ["authorization {", "  users: ["]
            for u in self._users:
                perms = {"publish": list(u.publish), "subscribe": list(u.subscribe)}
                entry = {"user": u.name, "password": u.password, "permissions": perms}
                lines.append(f"    {json.dumps(entry)}")
            lines += ["  ]", "}"]
        return "\n".join(lines) + "\n"


def _nats_binary() -> str:
    """Debian installs nats-server in /usr/sbin, which a normal user's PATH lacks."""
    found = shutil.which("nats-server") or shutil.which(
        "nats-server", path="/usr/sbin:/usr/local/sbin"
    )
    if found is None:
        raise PeerError(
            "nats-server is not installed (Debian package nats-server: run script/bootstrap)"
        )
    return found


class NatsNode(NatsProcess):
    """nats-server running a generated config (gateway.fleet.topology), rewritten at each start.

    ``config`` turns the node's JetStream store directory into the config text
    (``central_conf``/``site_conf``); ``reload()`` rewrites it and signals the
    running server to re-read it (users and their permissions: a site added or
    its password rotated).
    """

    def __init__(self, folder: Path, port: int, config: Callable[[str], str]) -> None:
        super().__init__(folder, port)
        self._config = config

    def config_text(self) -> str:
        return self._config(str(self.store_dir))


class NatsCluster:
    """A JetStream cluster of ``size`` nodes on loopback (domain ``central``), routes between all.

    Each node has a client, a cluster and a leafnode port of its own, free at
    construction; the nodes in ``proxied`` take leaf connections through a
    ``LinkProxy`` (``proxies[i]``, its address in ``leaf_urls``) a test cuts; ``users`` log in as clients (workers, operators; none: an
    open cluster), ``links`` are the sites' leaf users (``add_link`` adds one
    to a running cluster by a config reload). ``start()`` returns once
    JetStream answers with a meta leader. ``kill(i)``/``start_node(i)`` make
    one node fail and come back with its store; a context manager.
    ``leaf_tls`` puts the leafnode ports in TLS (one certificate for all
    nodes, naming 127.0.0.1); ``client_tls`` the client ports (``client_ssl``:
    the context the cluster's own readiness check connects with) and
    ``route_tls`` the routes between the nodes.
    """

    def __init__(
        self,
        folder: Path,
        size: int = 3,
        users: Sequence[Login] = (),
        links: Sequence[Login] = (),
        domain: str = CENTRAL_DOMAIN,
        proxied: Sequence[int] = (),
        leaf_tls: LeafTls | None = None,
        client_tls: LeafTls | None = None,
        client_ssl: ssl.SSLContext | None = None,
        route_tls: RouteTls | None = None,
    ) -> None:
        host = NatsNode.host
        self.client_ssl = client_ssl
        ports = [(free_port(host), free_port(host), free_port(host)) for _ in range(size)]
        # a LinkProxy in front of these nodes' leafnode ports, advertised as theirs:
        # a leaf that dials it learns no other way to that node, so cut() cuts it off
        self.proxies = {i: LinkProxy(host, ports[i][2]) for i in proxied}
        nodes = tuple(
            CentralNode(
                f"central-{i + 1}",
                host,
                *ports[i],
                leaf_advertise=f"{host}:{self.proxies[i].port}" if i in self.proxies else "",
            )
            for i in range(size)
        )
        self.plan = CentralPlan(
            nodes,
            tuple(users),
            tuple(links),
            domain=domain,
            listen_host=host,
            max_file_store="4GB",
            leaf_tls=leaf_tls,
            client_tls=client_tls,
            route_tls=route_tls,
        )
        self.nodes = tuple(
            NatsNode(folder / n.name, n.client_port, self._config_of(n.name)) for n in nodes
        )

    def _config_of(self, name: str) -> Callable[[str], str]:
        return lambda store_dir: central_conf(self.plan, name, store_dir)

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (give them all to a client: it fails over)."""
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """The client URLs as one comma-separated string (nats-py and central.yaml's nats.url)."""
        return ",".join(self.urls)

    @property
    def leaf_urls(self) -> tuple[str, ...]:
        """Where site leaves connect: ``nats-leaf://127.0.0.1:<port>`` per node."""
        return self.plan.leaf_urls

    @property
    def domain(self) -> str:
        return self.plan.domain

    def start(self) -> None:
        for proxy in self.proxies.values():
            proxy.start()
        for node in self.nodes:
            node.start()
        wait_jetstream(self.urls, self._login(), JETSTREAM_TIMEOUT_S, self.client_ssl)

    def start_node(self, index: int) -> None:
        self.nodes[index].start()

    def kill(self, index: int) -> None:
        """SIGKILL one node (a crash): its store stays for ``start_node``."""
        self.nodes[index].kill()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for proxy in self.proxies.values():
            proxy.stop()

    def add_link(self, login: Login) -> None:
        """A site's leaf user, added to the running cluster, or its password changed (a reload)."""
        others = tuple(u for u in self.plan.links if u.name != login.name)
        self.plan = replace(self.plan, links=(*others, login))
        for node in self.nodes:
            node.reload()

    def remove_link(self, name: str) -> None:
        """A site's leaf user revoked (a reload): the cluster closes its link."""
        self.plan = replace(self.plan, links=tuple(u for u in self.plan.links if u.name != name))
        for node in self.nodes:
            node.reload()

    def _login(self) -> Login | None:
        return self.plan.users[0] if self.plan.users else None

    def __enter__(self) -> NatsCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NatsLeaf(NatsNode):
    """A center's nats-server: JetStream in the site's own domain, a leaf of ``hub_urls``.

    ``hub_urls`` are the cluster's leafnode URLs (or a LinkProxy's, to cut the
    link); ``gateway`` is the uplink's user (``topology.gateway_login``),
    ``link`` the leaf's user on the cluster; without them the server is open
    (loopback) and the link anonymous. ``hub_tls``: the link in TLS.
    """

    def __init__(
        self,
        folder: Path,
        subjects: FleetSubjects,
        hub_urls: Sequence[str],
        *,
        gateway: Login | None = None,
        link: Login | None = None,
        users: Sequence[Login] = (),
        port: int | None = None,
        hub_tls: HubTls | None = None,
    ) -> None:
        port = port if port is not None else free_port(self.host)
        self.plan = SitePlan(
            subjects,
            tuple(hub_urls),
            gateway,
            link,
            tuple(users),
            listen=f"{self.host}:{port}",
            max_file_store="1GB",
            hub_tls=hub_tls,
        )
        super().__init__(folder, port, lambda store_dir: site_conf(self.plan, store_dir))

    @property
    def domain(self) -> str:
        return self.plan.domain


JETSTREAM_TIMEOUT_S = 60.0


def wait_jetstream(
    urls: Sequence[str], login: Login | None, timeout_s: float, tls: ssl.SSLContext | None = None
) -> None:
    """Block until JetStream answers through ``urls`` (a cluster has elected its meta leader)."""

    async def ask() -> None:
        deadline = time.monotonic() + timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                nc = await nats.connect(
                    servers=list(urls),
                    user=login.name if login else None,
                    password=login.password if login else None,
                    connect_timeout=2,
                    allow_reconnect=False,
                    tls=tls,
                )
            except (nats.errors.Error, OSError) as exc:
                last = exc
                await asyncio.sleep(0.2)
                continue
            try:
                await nc.jetstream().account_info()
                return
            except (nats.errors.Error, OSError) as exc:
                last = exc
                await asyncio.sleep(0.2)
            finally:
                await nc.close()
        raise PeerError(f"JetStream does not answer at {', '.join(urls)}: {last}")

    asyncio.run(ask())
