"""TLS for the central side's NATS clients, and reading the certificates a cluster presents. Shell.

``client_context`` is the ``tls=`` every central connection passes to
``nats.connect`` (workers, the province page, ``fleet status``, ``fleet
sources``, the source watch): the CA of the cluster's certificates from the
central file's ``nats.tls_ca_file``, and a client certificate where the
cluster verifies one. A site's uplink and ``fleet status -c site.yaml`` take
the same settings from the site file's ``fleet:``. nats-py checks the
certificate's names against the URL's host. ``connect_once`` is the one-attempt,
time-bounded connection of the one-off commands (``fleet status``, ``fleet
dead-letters``).

``presented_certificate`` is ``fleet status``'s look at a port's certificate:
nats-server (2.9) first sends its INFO in the clear, then the client starts
TLS; it is read without checking it against a CA (an expired or unknown
certificate must still be reported), only its bytes go on to
gateway.fleet.cert_expiry. ``site_certificates`` reads a center's own
certificate files for its heartbeat (gateway.fleet.site_certs).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NatsClient

from gateway.fleet.central_config import CentralNatsConfig
from gateway.fleet.site_certs import LINK, UPLINK, SiteCertificate, from_der, unreadable
from gateway.settings import FleetConfig

_INFO_MAX = 64 * 1024  # nats-server's INFO is a few hundred bytes; a bound against a stranger
_PEM = "-----BEGIN CERTIFICATE-----"
TLS_FIRST_WAIT_S = 1.0  # a NATS client or leafnode port sends its INFO at once


def client_context(
    ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext | None:
    """An SSL context trusting ``ca_file`` (with a client certificate if given); None: no TLS
    settings (nats-py then uses the system's CAs for a ``tls://`` URL)."""
    if ca_file is None and cert_file is None:
        return None
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return ctx


def nats_tls(cfg: CentralNatsConfig | FleetConfig) -> ssl.SSLContext | None:
    """The ``tls=`` for ``nats.connect`` from the central file's ``nats:`` or a site's ``fleet:``."""
    return client_context(cfg.tls_ca_file, cfg.tls_cert_file, cfg.tls_key_file)


class LoginOptions(TypedDict):
    token: str | None
    user: str | None
    password: str | None
    tls: ssl.SSLContext | None


def login_options(cfg: CentralNatsConfig | FleetConfig) -> LoginOptions:
    """``nats.connect``'s credentials and ``tls=`` from the central file's ``nats:`` or a
    site's ``fleet:`` (every fleet client connects with these)."""
    return {
        "token": cfg.token.get_secret_value() if cfg.token is not None else None,
        "user": cfg.user,
        "password": cfg.password.get_secret_value() if cfg.password is not None else None,
        "tls": nats_tls(cfg),
    }


async def connect_once(
    cfg: CentralNatsConfig | FleetConfig, name: str, timeout_s: float
) -> NatsClient:
    """A connection for a one-off command: one attempt, bounded by ``timeout_s`` (nats-py
    otherwise retries a first connection without end), nats-py's own per-attempt error
    printing silenced (the command reports the outcome once); ConnectionError when no
    server answers in time."""

    async def quiet(exc: Exception) -> None:
        """nats-py prints each failed attempt; the command reports the outcome once."""

    try:
        return await asyncio.wait_for(
            nats.connect(
                servers=[cfg.url],
                name=name,
                connect_timeout=int(timeout_s),
                allow_reconnect=False,
                error_cb=quiet,
                **login_options(cfg),  # credentials and fleet TLS (none unless given)
            ),
            timeout_s,
        )
    except TimeoutError:
        raise ConnectionError(f"no answer within {timeout_s:g} s") from None


def server_addresses(url: str) -> list[tuple[str, int]]:
    """(host, port) of each server in a ``nats://``/``tls://`` URL (comma-separated hosts)."""
    scheme, _, rest = url.partition("://")
    out = []
    for part in rest.split(","):
        split = urlsplit(f"{scheme}://{part.removeprefix(f'{scheme}://')}")
        if split.hostname:
            out.append((split.hostname, split.port or 4222))
    return out


def presented_certificate(host: str, port: int, timeout_s: float) -> bytes | None:
    """The DER certificate a nats-server port presents, None when the port is not in TLS.

    Client and leafnode ports send their INFO first and TLS follows if it says
    ``tls_required``; a route port in TLS sends nothing before the handshake,
    so a port silent for ``TLS_FIRST_WAIT_S`` is asked for TLS at once.
    OSError (refused, timeout, a failed handshake) goes to the caller.
    """
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(min(timeout_s, TLS_FIRST_WAIT_S))
        info = b""
        try:
            while not info.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk or len(info) > _INFO_MAX:
                    raise OSError(f"{host}:{port} sent no INFO line")
                info += chunk
        except TimeoutError:
            if info:
                raise OSError(f"{host}:{port} sent no whole INFO line") from None
        sock.settimeout(timeout_s)
        if info:
            if not info.startswith(b"INFO "):
                raise OSError(f"{host}:{port} is not a NATS port")
            try:
                fields = json.loads(info[5:])
            except ValueError:
                raise OSError(f"{host}:{port} sent an INFO that is not JSON") from None
            if not fields.get("tls_required"):
                return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # read, not trusted: an expired or unknown certificate is what we report
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
        if der is None:
            raise OSError(f"{host}:{port} presented no certificate")
        return der


def file_certificates(path: Path) -> list[bytes]:
    """Every certificate of a PEM file, as DER (a CA file may hold several)."""
    text = path.read_text(encoding="ascii", errors="replace")
    blocks = [f"{_PEM}{b}" for b in text.split(_PEM)[1:]]
    return [
        ssl.PEM_cert_to_DER_cert(b[: b.index("-----END CERTIFICATE-----") + 25]) for b in blocks
    ]


def site_certificates(cfg: FleetConfig) -> list[SiteCertificate]:
    """The center's own certificates the site file names (``fleet.link_cert_file``, the
    leaf's; ``fleet.tls_cert_file``, the gateway's): each file's first certificate, or why
    it cannot be read. Blocking file reads: call it in a thread."""
    out = []
    for source, path in ((LINK, cfg.link_cert_file), (UPLINK, cfg.tls_cert_file)):
        if path is None:
            continue
        try:
            ders = file_certificates(path)
        except (OSError, ValueError) as exc:
            out.append(unreadable(source, str(path), str(exc)))
            continue
        if not ders:
            out.append(unreadable(source, str(path), "no certificate in the file"))
        else:
            out.append(from_der(source, str(path), ders[0]))
    return out
