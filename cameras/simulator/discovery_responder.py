"""WS-Discovery responder of the virtual camera: answers Probes with a ProbeMatch.

Listens on a unicast UDP address (127.0.0.1 in tests: probes never leave the
machine). With ``multicast=True`` it also joins 239.255.255.250 on port 3702,
for the demo on a real LAN.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import cast

import structlog

from cameras import wsdiscovery

log = structlog.get_logger("floorwatch.simulator.discovery")


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DiscoveryResponder) -> None:
        self._responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        message_id = wsdiscovery.parse_probe(data)
        if message_id is None or self.transport is None:
            return
        r = self._responder
        answer = wsdiscovery.build_probe_matches(
            message_id=f"urn:uuid:{uuid.uuid4()}",
            relates_to=message_id,
            endpoint=r.endpoint,
            xaddrs=r.xaddrs,
            scopes=r.scopes,
        )
        r.probes += 1
        self.transport.sendto(answer, addr)


class DiscoveryResponder:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        endpoint: str,
        xaddrs: tuple[str, ...],
        scopes: tuple[str, ...],
        multicast: bool = False,
    ) -> None:
        self.host = host
        self._port = port
        self.endpoint = endpoint
        self.xaddrs = xaddrs
        self.scopes = scopes
        self.multicast = multicast
        self.probes = 0
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.multicast:
            sock.bind(("", wsdiscovery.PORT))  # noqa: S104 -- multicast needs the wildcard
            group = socket.inet_aton(wsdiscovery.MULTICAST_GROUP) + socket.inet_aton("0.0.0.0")  # noqa: S104
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
        else:
            sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self._transport = transport
        log.info("simulator.discovery_listening", host=self.host, port=self._port)

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
