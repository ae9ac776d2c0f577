"""``floorwatch fleet config site|central|stream`` and ``floorwatch fleet sources``. Shell module.

The first three print what gateway.fleet.topology generates: a center's leaf
nats-server.conf, a cluster node's nats-server.conf, the central stream's
JetStream config (JSON). Passwords are read from files (``--*-password-file``,
``--user NAME=FILE``, ``--links DIR``), never given on the command line. The
printed configs hold their users' bcrypt hashes (a file may hold the hash
itself), and a center's config the link's password (its leaf logs in with
it): redirect them into files of mode 0600. TLS on the leaf link is on when
its files are given (``--leaf-cert``/``--leaf-key``, ``--hub-ca``), on the
clients' port with ``--client-tls-cert``/``--client-tls-key`` and on the
routes with ``--route-cert``/``--route-key``/``--route-ca``.

``fleet sources`` applies: it creates the central stream on the cluster with a
source per given site domain, or adds the sources it lacks (adding a site).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import bcrypt
import nats
import nats.errors
import typer

from gateway.config_loader import ConfigError
from gateway.fleet.central_config import load_central
from gateway.fleet.central_stream import add_sites, remove_sites
from gateway.fleet.messages import FleetSubjects
from gateway.fleet.nats_tls import login_options
from gateway.fleet.topology import (
    BCRYPT_COST,
    STREAM,
    CentralNode,
    CentralPlan,
    HubTls,
    LeafTls,
    Login,
    RouteTls,
    SitePlan,
    central_conf,
    central_stream_config,
    gateway_login,
    hashed,
    link_login,
    link_permissions,
    site_conf,
)

config_app = typer.Typer(
    help="Generate the fleet's nats-server configs (docs/fleet.md, Topology).",
    no_args_is_help=True,
)
TIMEOUT_S = 5.0

StoreDir = Annotated[
    str, typer.Option("--store-dir", help="JetStream's store directory on that machine")
]
BcryptCost = Annotated[
    int,
    typer.Option(min=4, max=16, help="bcrypt's cost for the users' hashes (2^cost rounds)"),
]


def _secret(path: Path, what: str) -> str:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        typer.echo(f"{what}: cannot read {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    if not text:
        typer.echo(f"{what}: {path} is empty", err=True)
        raise typer.Exit(2)
    return text


def _refuse(exc: ValueError) -> typer.Exit:
    typer.echo(str(exc), err=True)
    return typer.Exit(2)


@config_app.command("site")
def site(
    province: Annotated[str, typer.Option(help="the province's id")],
    site: Annotated[str, typer.Option(help="the center's id (the site file's site id)")],
    hub: Annotated[
        list[str], typer.Option(help="a cluster node's leafnode URL nats-leaf://host:7422 (repeat)")
    ],
    link_password_file: Annotated[
        Path, typer.Option(help="file holding this site's link password on the cluster")
    ],
    gateway_password_file: Annotated[
        Path, typer.Option(help="file holding the gateway's password on this server")
    ],
    gateway_user: Annotated[str, typer.Option(help="the gateway's user (fleet.user)")] = "gateway",
    listen: Annotated[str, typer.Option(help="where the gateway reaches it")] = "127.0.0.1:4222",
    store_dir: StoreDir = "/var/lib/nats/jetstream",
    max_file_store: Annotated[str, typer.Option(help="JetStream's disk limit")] = "10GB",
    prefix: Annotated[str, typer.Option(help="fleet.subject_prefix")] = "floorwatch",
    stream: Annotated[str, typer.Option(help="fleet.stream")] = STREAM,
    hub_ca: Annotated[
        str | None,
        typer.Option(
            help="TLS on the link: the CA file of the cluster's certificates (on the center)"
        ),
    ] = None,
    client_cert: Annotated[
        str | None, typer.Option(help="the center's certificate, where the cluster verifies one")
    ] = None,
    client_key: Annotated[str | None, typer.Option(help="that certificate's key")] = None,
    bcrypt_cost: BcryptCost = BCRYPT_COST,
) -> None:
    """A center's leaf nats-server.conf: its domain, the gateway's user, the link to the cluster."""
    try:
        if (client_cert or client_key) and not hub_ca:
            raise ValueError("--client-cert and --client-key need --hub-ca (TLS on the link)")
        subjects = FleetSubjects(prefix, province, site)
        gateway = gateway_login(
            subjects, gateway_user, _secret(gateway_password_file, "gateway password"), stream
        )
        plan = SitePlan(
            subjects,
            tuple(hub),
            gateway=hashed(gateway, bcrypt.gensalt(bcrypt_cost)),
            link=link_login(province, site, _secret(link_password_file, "link password")),
            stream=stream,
            listen=listen,
            max_file_store=max_file_store,
            hub_tls=HubTls(hub_ca, client_cert or "", client_key or "") if hub_ca else None,
        )
    except ValueError as exc:
        raise _refuse(exc) from None
    typer.echo(site_conf(plan, store_dir), nl=False)


def _node(spec: str) -> CentralNode:
    name, sep, host = spec.partition("=")
    if not sep or not host:
        raise ValueError(f"--member {spec!r}: NAME=HOST")
    return CentralNode(name, host)


def _user(spec: str) -> Login:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise ValueError(f"--user {spec!r}: NAME=PASSWORD_FILE")
    return Login(name, _secret(Path(path), f"user {name}'s password"))


def _links(folder: Path | None) -> tuple[Login, ...]:
    """One link user per file of ``folder``: file ``<province>-<site>`` (the site's domain),
    user ``link-<name>``, limited to what its domain's sourcing needs (``link_permissions``).
    """
    if folder is None:
        return ()
    if not folder.is_dir():
        raise ValueError(f"--links {folder}: not a directory")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return tuple(
        Login(f"link-{p.name}", _secret(p, f"link {p.name}"), *link_permissions(p.name))
        for p in files
    )


def _hash_all(logins: Iterable[Login], cost: int) -> tuple[Login, ...]:
    """Each login with its bcrypt hash (a salt of its own); a file holding a hash is kept."""
    return tuple(hashed(u, bcrypt.gensalt(cost)) for u in logins)


@config_app.command("central")
def central(
    node: Annotated[str, typer.Option(help="the node this file is for (a --member's name)")],
    member: Annotated[
        list[str], typer.Option(help="every node of the cluster as NAME=HOST (repeat)")
    ],
    user: Annotated[
        list[str] | None,
        typer.Option(help="a client's user as NAME=PASSWORD_FILE (workers, operators; repeat)"),
    ] = None,
    links: Annotated[
        Path | None,
        typer.Option(help="folder of site link passwords, one file per site: <province>-<site>"),
    ] = None,
    store_dir: StoreDir = "/var/lib/nats/jetstream",
    max_file_store: Annotated[str, typer.Option(help="JetStream's disk limit")] = "200GB",
    leaf_cert: Annotated[
        str | None,
        typer.Option(help="TLS on the leafnode port: this node's certificate file (on the node)"),
    ] = None,
    leaf_key: Annotated[str | None, typer.Option(help="that certificate's key file")] = None,
    leaf_client_ca: Annotated[
        str | None,
        typer.Option(help="require the centers' certificates, signed by this CA file (verify)"),
    ] = None,
    client_tls_cert: Annotated[
        str | None,
        typer.Option(help="TLS on the clients' port: this node's certificate file (on the node)"),
    ] = None,
    client_tls_key: Annotated[str | None, typer.Option(help="that certificate's key file")] = None,
    client_tls_ca: Annotated[
        str | None,
        typer.Option(help="require the clients' certificates, signed by this CA file (verify)"),
    ] = None,
    route_cert: Annotated[
        str | None,
        typer.Option(help="TLS on the routes: this node's certificate file (on the node)"),
    ] = None,
    route_key: Annotated[str | None, typer.Option(help="that certificate's key file")] = None,
    route_ca: Annotated[
        str | None, typer.Option(help="the CA file that signed every node's route certificate")
    ] = None,
    bcrypt_cost: BcryptCost = BCRYPT_COST,
) -> None:
    """A cluster node's nats-server.conf: routes, the central domain, clients' and sites' users."""
    try:
        if (leaf_cert or leaf_key or leaf_client_ca) and not (leaf_cert and leaf_key):
            raise ValueError("TLS on the leafnode port needs both --leaf-cert and --leaf-key")
        if (client_tls_cert or client_tls_key or client_tls_ca) and not (
            client_tls_cert and client_tls_key
        ):
            raise ValueError(
                "TLS on the clients' port needs both --client-tls-cert and --client-tls-key"
            )
        if (route_cert or route_key or route_ca) and not (route_cert and route_key and route_ca):
            raise ValueError("TLS on the routes needs --route-cert, --route-key and --route-ca")
        plan = CentralPlan(
            tuple(_node(m) for m in member),
            _hash_all((_user(u) for u in user or []), bcrypt_cost),
            _hash_all(_links(links), bcrypt_cost),
            max_file_store=max_file_store,
            leaf_tls=LeafTls(leaf_cert, leaf_key, leaf_client_ca or "")
            if leaf_cert and leaf_key
            else None,
            client_tls=LeafTls(client_tls_cert, client_tls_key, client_tls_ca or "")
            if client_tls_cert and client_tls_key
            else None,
            route_tls=RouteTls(route_cert, route_key, route_ca)
            if route_cert and route_key and route_ca
            else None,
        )
        text = central_conf(plan, node, store_dir)
    except ValueError as exc:
        raise _refuse(exc) from None
    typer.echo(text, nl=False)


@config_app.command("stream")
def stream(
    domain: Annotated[list[str], typer.Option(help="a site's JetStream domain (repeat)")],
    replicas: Annotated[int, typer.Option(min=1, max=5)] = 3,
    name: Annotated[
        str, typer.Option(help="the central stream's name (a partition's: <stream>_<i>)")
    ] = STREAM,
    site_stream: Annotated[str, typer.Option(help="the sites' stream (fleet.stream)")] = STREAM,
) -> None:
    """The central stream's JetStream config (JSON): no subjects, one source per site domain."""
    try:
        cfg = central_stream_config(domain, name=name, replicas=replicas, site_stream=site_stream)
    except ValueError as exc:
        raise _refuse(exc) from None
    typer.echo(json.dumps(cfg, indent=2))


def sources(
    add: Annotated[
        list[str] | None, typer.Option("--add", help="a site's JetStream domain (repeat)")
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", help="stop sourcing this domain (repeat); its messages stay"),
    ] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="central file (YAML)")] = Path(
        "central.yaml"
    ),
    replicas: Annotated[int, typer.Option(min=1, max=5, help="a new stream's replicas")] = 3,
) -> None:
    """Create the central stream sourcing these site domains, add those it lacks, or remove some."""
    if not add and not remove:
        typer.echo("give --add or --remove (a site's JetStream domain)", err=True)
        raise typer.Exit(2)
    try:
        cfg = load_central(config).nats
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    async def apply() -> None:
        nc = await nats.connect(
            servers=[cfg.url],
            connect_timeout=TIMEOUT_S,
            allow_reconnect=False,
            **login_options(cfg),  # credentials and fleet TLS (none unless given)
        )
        try:
            if add:
                change = await asyncio.wait_for(
                    add_sites(
                        nc.jetstream(),
                        add,
                        name=cfg.stream,
                        partitions=cfg.partitions,
                        replicas=replicas,
                        site_stream=cfg.stream,
                    ),
                    TIMEOUT_S * 2,
                )
                for stream, added in change.placed.items():
                    verb = "created with" if stream in change.new_streams else "now also sources"
                    typer.echo(f"stream {stream} {verb}: {', '.join(added)}")
                if change.present:
                    typer.echo(f"already sourced: {', '.join(change.present)}")
                if change.renewed:
                    typer.echo(
                        "restarted with the site's own delivery prefix (they resume after"
                        f" their last message): {', '.join(change.renewed)}"
                    )
            if remove:
                removed = await asyncio.wait_for(
                    remove_sites(
                        nc.jetstream(), remove, name=cfg.stream, partitions=cfg.partitions
                    ),
                    TIMEOUT_S * 2,
                )
                if removed:
                    typer.echo(f"central stream removed: {', '.join(removed)}")
                if left := [d for d in remove if d not in removed]:
                    typer.echo(f"not sourced: {', '.join(left)}")
        finally:
            await nc.close()

    try:
        asyncio.run(apply())
    except ValueError as exc:
        raise _refuse(exc) from None
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        typer.echo(f"cannot update the central stream at {cfg.url}: {exc or type(exc).__name__}")
        raise typer.Exit(1) from None
