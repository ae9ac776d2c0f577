"""The fleet's nats-server configurations: the central cluster and each site's leaf. Pure module.

Both ends of the topology are generated here, for the tests' servers
(gateway.peers.nats) and for operators (``floorwatch fleet config``):

- the **central cluster**: N nodes (3 in production) routed together under one
  cluster name, JetStream in the domain ``central`` (file store, R3 streams),
  a client port for the workers and operators, a leafnode port the sites dial;
- a **site leaf**: the center's own nats-server, JetStream in a domain of the
  site's own (``<province>-<site>``), where the gateway's uplink stores its
  stream on local disk; it connects out to the cluster's leafnode ports as a
  leaf node.

Store-and-forward is the engine's: the central stream has no subjects of its
own and *sources* each site's stream through that site's JetStream domain
(``external.api = $JS.<domain>.API``); when a link comes back after an outage
the source consumer catches up by itself. ``central_stream_config`` is that
stream's configuration; adding a site is adding one source.

Credentials (user/password per site, see docs/fleet.md "Security"):

- on the site's server, the gateway's user may publish only under its own
  subjects and receive replies only on its own inbox prefix
  (``_INBOX.<province>.<site>``), as ``gateway.fleet.messages.site_permissions``
  says;
- on the cluster, each site's leaf link has a user of its own
  (``link-<province>-<site>``), so one site is revoked or rotated alone;
- a server's config holds its users' bcrypt hashes (``hashed``), never their
  passwords, once a ``Login`` is hashed; the one password a config must hold
  is the link's, in the site's remote (the leaf logs in with it);
- the leaf link in TLS (``LeafTls`` on the cluster's leafnode port,
  ``HubTls`` in the site's remote), the clients' port in TLS (``LeafTls``'s
  shape, ``CentralPlan.client_tls``) and the routes between the nodes
  (``RouteTls``): each off unless given.

Strings are written as JSON, which nats-server's configuration format reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import bcrypt

from gateway.fleet.messages import FleetSubjects, site_permissions

CENTRAL_DOMAIN = "central"
CENTRAL_CLUSTER = "floorwatch-central"
STREAM = "FLOORWATCH"
# A JetStream domain or server name: one subject token.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# nats-server's own mkpasswd writes cost 11: ~0.12 s a hash here, checked at each login
BCRYPT_COST = 11
# what nats-server takes for a bcrypt hash in a password's place ($2a$, $2b$, ...)
_BCRYPT = re.compile(r"^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$")
_BCRYPT_MAX_BYTES = 72
TLS_TIMEOUT_S = 5.0  # a TLS handshake across a slow WAN


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _check_name(what: str, value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{what} {value!r}: letters, digits, '-' and '_' only (1-64)")
    return value


def site_domain(province: str, site: str) -> str:
    """A site's JetStream domain: ``<province>-<site>`` (unique in the country)."""
    return _check_name("domain", f"{province}-{site}")


def site_inbox_prefix(subjects: FleetSubjects) -> str:
    """The site's reply inbox prefix: ``_INBOX.<province>.<site>`` (nats-py ``inbox_prefix``)."""
    return subjects.inbox_prefix


def link_user(province: str, site: str) -> str:
    """The user a site's leaf node logs in to the cluster as."""
    return f"link-{province}-{site}"


def link_permissions(domain: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a site's leaf link carries, as the link user's (publish, subscribe) allow lists.

    For a leaf connection nats-server reads a user's permissions from the
    cluster's side: what it may *publish* is what the leaf may send into the
    cluster, what it may *subscribe* to is what the cluster sends to the leaf.
    Sourcing needs, and gets, only: into the cluster, the replies to the
    cluster's API requests (``$JSC.R.>``) and the deliveries, heartbeats and
    flow control of *its own* source, under the prefix the central stream
    gives it (``$JS.S.<domain>.>``, ``site_deliver_prefix``); to the leaf, the
    requests to its own domain's API, flow-control answers and acks. A leaf
    cannot receive another site's API requests or deliveries, nor publish into
    another site's source, on the central API or under ``floorwatch.>``.
    """
    prefix = site_deliver_prefix(domain)
    return ("$JSC.R.>", f"{prefix}.>"), (f"$JS.{domain}.API.>", "$JS.FC.>", "$JS.ACK.>")


def site_deliver_prefix(domain: str) -> str:
    """Where the central stream's source of ``domain`` has its messages delivered:
    ``$JS.S.<domain>`` (nats-server appends ``.S.<random>``). Without a prefix of its
    own every source delivers on ``$JS.S.<random>``, and a link allowed ``$JS.S.>``
    could publish into another site's source had it learned that subject."""
    return f"$JS.S.{_check_name('domain', domain)}"


def link_login(province: str, site: str, password: str) -> Login:
    """A site's link user on the cluster, with ``link_permissions`` of its domain."""
    publish, subscribe = link_permissions(site_domain(province, site))
    return Login(link_user(province, site), password, publish, subscribe)


def is_bcrypt(secret: str) -> bool:
    """Whether ``secret`` is a bcrypt hash (nats-server then checks a password against it)."""
    return bool(_BCRYPT.match(secret))


def bcrypt_hash(password: str, salt: bytes) -> str:
    """``password``'s bcrypt hash with ``salt`` (``bcrypt.gensalt(cost)``: the caller's randomness).

    bcrypt reads 72 bytes at most; a longer password is refused, not cut.
    """
    raw = password.encode()
    if len(raw) > _BCRYPT_MAX_BYTES:
        raise ValueError(
            f"a password of {len(raw)} bytes: bcrypt takes {_BCRYPT_MAX_BYTES} at most"
        )
    if not raw:
        raise ValueError("an empty password")
    return bcrypt.hashpw(raw, salt).decode()


@dataclass(frozen=True, slots=True)
class Login:
    """A NATS user: name, password and its allow lists (both empty: no restriction).

    ``password`` is what the client logs in with; ``password_hash``, when set,
    is what the server's config holds in its place (``hashed``). A ``password``
    that is itself a bcrypt hash (an operator handed only the hash) is written
    as it is.
    """

    name: str
    password: str = field(repr=False)
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    password_hash: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.password_hash and not is_bcrypt(self.password_hash):
            raise ValueError(f"user {self.name}: password_hash is not a bcrypt hash")

    @property
    def stored(self) -> str:
        """What a server's config holds for this user: the hash, else the password as given."""
        return self.password_hash or self.password

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.name, "password": self.stored}
        if self.publish or self.subscribe:
            out["permissions"] = {"publish": list(self.publish), "subscribe": list(self.subscribe)}
        return out


def hashed(login: Login, salt: bytes) -> Login:
    """``login`` with its bcrypt hash for servers' configs (kept if it has one, or is one)."""
    if login.password_hash:
        return login
    if is_bcrypt(login.password):
        return replace(login, password_hash=login.password)
    return replace(login, password_hash=bcrypt_hash(login.password, salt))


@dataclass(frozen=True, slots=True)
class LeafTls:
    """TLS on the cluster's leafnode port: this node's certificate and key (paths on the node).

    ``client_ca_file`` set: every leaf must present a certificate that CA
    signed (``verify``), on top of its link user's password.
    """

    cert_file: str
    key_file: str
    client_ca_file: str = ""
    timeout_s: float = TLS_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.cert_file or not self.key_file:
            raise ValueError("the leafnode port's TLS needs a certificate and its key")

    def block(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cert_file": self.cert_file, "key_file": self.key_file}
        if self.client_ca_file:
            out |= {"ca_file": self.client_ca_file, "verify": True}
        return out | {"timeout": self.timeout_s}


@dataclass(frozen=True, slots=True)
class RouteTls:
    """TLS on the routes between the cluster's nodes: this node's certificate and key, and the
    CA that signed every node's certificate (paths on the node).

    Each node checks the others' certificates both ways (``verify``): a route
    is dialled by one node and accepted by another, and each must prove it is
    a node. The certificate must name the host of each route URL
    (``CentralNode.host``) and serve as a client certificate too (no extended
    key usage, or both serverAuth and clientAuth).
    """

    cert_file: str
    key_file: str
    ca_file: str
    timeout_s: float = TLS_TIMEOUT_S

    def __post_init__(self) -> None:
        if not (self.cert_file and self.key_file and self.ca_file):
            raise ValueError("TLS on the routes needs a certificate, its key and the nodes' CA")

    def block(self) -> dict[str, Any]:
        return {
            "cert_file": self.cert_file,
            "key_file": self.key_file,
            "ca_file": self.ca_file,
            "verify": True,
            "timeout": self.timeout_s,
        }


@dataclass(frozen=True, slots=True)
class HubTls:
    """TLS on a site's link: the CA the cluster's certificates are checked against (paths on
    the center's machine), and the center's own certificate and key where the cluster verifies.

    The leaf checks the certificate's names against the host of each hub URL.
    """

    ca_file: str
    cert_file: str = ""
    key_file: str = ""
    timeout_s: float = TLS_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.ca_file:
            raise ValueError(
                "the link's TLS needs the CA file that signed the cluster's certificates"
            )
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("a client certificate needs its key, and a key its certificate")

    def block(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ca_file": self.ca_file}
        if self.cert_file:
            out |= {"cert_file": self.cert_file, "key_file": self.key_file}
        return out | {"timeout": self.timeout_s}


@dataclass(frozen=True, slots=True)
class CentralNode:
    """One node of the cluster: its name and where the others, clients and leaves reach it."""

    name: str
    host: str
    client_port: int = 4222
    cluster_port: int = 6222
    leafnode_port: int = 7422
    # host:port the sites reach the leafnode port at, when not host:leafnode_port
    # (a NAT or a forwarder in front of it); told to the sites that connect
    leaf_advertise: str = ""

    def __post_init__(self) -> None:
        _check_name("server name", self.name)

    @property
    def route_url(self) -> str:
        return f"nats-route://{self.host}:{self.cluster_port}"

    @property
    def client_url(self) -> str:
        return f"nats://{self.host}:{self.client_port}"

    @property
    def leaf_url(self) -> str:
        return f"nats-leaf://{self.leaf_advertise or f'{self.host}:{self.leafnode_port}'}"


@dataclass(frozen=True, slots=True)
class CentralPlan:
    """The whole cluster: its nodes, clients' users (workers, operators) and sites' link users."""

    nodes: tuple[CentralNode, ...]
    users: tuple[Login, ...] = ()
    links: tuple[Login, ...] = ()
    cluster: str = CENTRAL_CLUSTER
    domain: str = CENTRAL_DOMAIN
    listen_host: str = "0.0.0.0"  # noqa: S104 - a server's listen address, the operator's choice
    max_file_store: str = "200GB"
    max_memory_store: str = "1GB"
    # TLS on the leafnode port; the paths are the same on every node, each
    # node's files holding its own certificate
    leaf_tls: LeafTls | None = None
    # TLS on the clients' port (workers, fleet serve and status, operators): a
    # port's certificate and key, and optionally the CA of the clients'
    # certificates (verify), as on the leafnode port
    client_tls: LeafTls | None = None
    route_tls: RouteTls | None = None

    def __post_init__(self) -> None:
        _check_name("cluster", self.cluster)
        _check_name("domain", self.domain)
        if not self.nodes:
            raise ValueError("a cluster needs at least one node")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"node names repeat: {names}")
        logins = [u.name for u in (*self.users, *self.links)]
        if len(set(logins)) != len(logins):
            raise ValueError("user names repeat between users and links")

    def node(self, name: str) -> CentralNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ValueError(f"no node {name!r} (nodes: {', '.join(n.name for n in self.nodes)})")

    @property
    def leaf_urls(self) -> tuple[str, ...]:
        return tuple(n.leaf_url for n in self.nodes)

    @property
    def client_urls(self) -> tuple[str, ...]:
        return tuple(n.client_url for n in self.nodes)


def _users_block(logins: Sequence[Login], indent: str = "") -> list[str]:
    lines = [f"{indent}authorization {{", f"{indent}  users: ["]
    lines += [f"{indent}    {_q(u.entry())}" for u in logins]
    return [*lines, f"{indent}  ]", f"{indent}}}"]


def central_conf(plan: CentralPlan, node: str, store_dir: str) -> str:
    """nats-server.conf of one cluster node: routes to every node, JetStream, leafnode port.

    The clients' users and the sites' link users share the server's users list:
    a leaf connection without a leafnode-specific authorization is checked
    against it, and that list is reloadable (``nats-server --signal reload``),
    so a site is added, rotated or revoked without restarting a node.
    """
    me = plan.node(node)
    host = plan.listen_host
    lines = [
        "# Generated by floorwatch (gateway/fleet/topology.py): a central cluster node.",
        f"server_name: {_q(me.name)}",
        f"listen: {_q(f'{host}:{me.client_port}')}",
        *([f"tls: {_q(plan.client_tls.block())}"] if plan.client_tls else []),
        "jetstream {",
        f"  store_dir: {_q(store_dir)}",
        f"  domain: {_q(plan.domain)}",
        f"  max_memory_store: {plan.max_memory_store}",
        f"  max_file_store: {plan.max_file_store}",
        "}",
        "cluster {",
        f"  name: {_q(plan.cluster)}",
        f"  listen: {_q(f'{host}:{me.cluster_port}')}",
        f"  routes: {_q([n.route_url for n in plan.nodes])}",
        *([f"  tls: {_q(plan.route_tls.block())}"] if plan.route_tls else []),
        "}",
        "leafnodes {",
        f"  listen: {_q(f'{host}:{me.leafnode_port}')}",
        "  # a site dials the URLs of its own config (all nodes), not addresses",
        "  # gossiped between the nodes, which it may not be able to reach",
        "  no_advertise: true",
        *([f"  advertise: {_q(me.leaf_advertise)}"] if me.leaf_advertise else []),
        *([f"  tls: {_q(plan.leaf_tls.block())}"] if plan.leaf_tls else []),
        "}",
    ]
    if plan.users or plan.links:
        lines += _users_block((*plan.users, *plan.links))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class SitePlan:
    """One center's leaf server: who it is, where it listens and how it reaches the cluster.

    ``gateway`` is the uplink's user on this server (permissions derived from
    the subjects); ``link`` the user the leaf logs in to the cluster as; the
    ``hub_urls`` are the cluster's leafnode URLs (``nats-leaf://host:7422``).
    ``users`` are further local users (an operator's ``fleet status``).
    """

    subjects: FleetSubjects
    hub_urls: tuple[str, ...]
    gateway: Login | None = None
    link: Login | None = None
    users: tuple[Login, ...] = ()
    stream: str = STREAM
    listen: str = "127.0.0.1:4222"
    hub_tls: HubTls | None = None
    max_file_store: str = "10GB"
    max_memory_store: str = "64MB"
    domain: str = ""

    def __post_init__(self) -> None:
        if not self.domain:
            object.__setattr__(
                self, "domain", site_domain(self.subjects.province, self.subjects.site)
            )
        _check_name("domain", self.domain)
        if self.domain == CENTRAL_DOMAIN:
            raise ValueError(f"a site cannot use the central domain {CENTRAL_DOMAIN!r}")
        for url in self.hub_urls:
            if not url.startswith(("nats-leaf://", "tls://")) or "@" in url:
                raise ValueError(f"hub URL {url!r}: nats-leaf://host:port, no credentials in it")
        if self.link and is_bcrypt(self.link.password):
            raise ValueError(
                "the link's password is a bcrypt hash: the leaf logs in with the password itself"
                " (the hash is for the cluster's config)"
            )

    @property
    def server_name(self) -> str:
        return self.domain


def gateway_login(subjects: FleetSubjects, name: str, password: str, stream: str = STREAM) -> Login:
    """The site gateway's user: its own subjects, its stream, replies on its own inbox."""
    perms = site_permissions(subjects, stream, create=True)
    return Login(name, password, perms.publish, perms.subscribe)


def _with_userinfo(url: str, login: Login) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{quote(login.name, safe='')}:{quote(login.password, safe='')}@{rest}"


def site_conf(plan: SitePlan, store_dir: str) -> str:
    """nats-server.conf of a center's leaf: its JetStream domain, local users, remote to the hub.

    The link's password goes into the remote's URLs (nats-server 2.9 takes a
    leaf remote's user and password there): the file is a secret (mode 0600).
    The local users are written as their hashes once hashed (``hashed``).
    """
    lines = [
        "# Generated by floorwatch (gateway/fleet/topology.py): a center's leaf node.",
        "# Holds the link's password: keep it mode 0600, owned by the nats-server user.",
        f"server_name: {_q(plan.server_name)}",
        f"listen: {_q(plan.listen)}",
        "jetstream {",
        f"  store_dir: {_q(store_dir)}",
        f"  domain: {_q(plan.domain)}",
        f"  max_memory_store: {plan.max_memory_store}",
        f"  max_file_store: {plan.max_file_store}",
        "}",
    ]
    if plan.hub_urls:
        urls = [_with_userinfo(u, plan.link) if plan.link else u for u in plan.hub_urls]
        tls = f", tls: {_q(plan.hub_tls.block())}" if plan.hub_tls else ""
        lines += ["leafnodes {", "  remotes: [", f"    {{urls: {_q(urls)}{tls}}}", "  ]", "}"]
    logins = ([plan.gateway] if plan.gateway else []) + list(plan.users)
    if logins:
        lines += _users_block(logins)
    return "\n".join(lines) + "\n"


def site_source(domain: str, stream: str = STREAM) -> dict[str, Any]:
    """One source of the central stream: a site's stream in its domain, delivered under
    the site's own prefix (``site_deliver_prefix``: its link may publish there only)."""
    api = f"$JS.{_check_name('domain', domain)}.API"
    return {"name": stream, "external": {"api": api, "deliver": site_deliver_prefix(domain)}}


def central_stream_config(
    domains: Sequence[str],
    *,
    name: str = STREAM,
    replicas: int = 3,
    duplicate_window_s: float = 600,
    max_age_days: float = 400,
    site_stream: str = STREAM,
) -> dict[str, Any]:
    """The central stream (JetStream's JSON config): no subjects, one source per site domain.

    It keeps the sourced messages' ``Nats-Msg-Id`` headers and de-duplicates
    on them within ``duplicate_window_s``, as the site's stream did. Its name
    may differ from the sites' stream (``site_stream``, each source's name):
    partitions are ``<stream>_1`` ... (gateway.fleet.partitions). That holds
    because the uplink publishes without ``Nats-Expected-Stream``: sourcing
    copies that header, and a stream of another name refuses every message
    carrying it ("expected stream does not match", the source stalls).
    """
    if len(set(domains)) != len(domains):
        raise ValueError("a site domain is listed twice")
    return {
        "name": _check_name("stream", name),
        "storage": "file",
        "num_replicas": replicas,
        "duplicate_window": int(duplicate_window_s * 1e9),
        "max_age": int(max_age_days * 86400 * 1e9),
        "sources": [site_source(d, site_stream) for d in domains],
    }
