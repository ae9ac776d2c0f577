"""WS-Discovery of ONVIF cameras: send a Probe over UDP, collect ProbeMatches.

By default the probe goes to the WS-Discovery multicast group
(239.255.255.250:3702) with TTL 1, so it stays on the local segment; with
``address`` it goes unicast to one host (a camera on another subnet, or the
simulator's responder on 127.0.0.1 in tests). Message building and parsing
are pure (``cameras.wsdiscovery``).
"""

from __future__ import annotations

import asyncio
import socket
import uuid

from cameras import wsdiscovery
from cameras.onvif_models import DiscoveredDevice


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, DiscoveredDevice] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        sender = str(addr[0])
        for device in wsdiscovery.parse_probe_matches(data, sender, self.message_id):
            key = device.endpoint or ",".join(device.xaddrs) or sender
            self.found.setdefault(key, device)


async def discover(
    *,
    timeout_s: float = 3.0,
    address: str | None = None,
    port: int = wsdiscovery.PORT,
    probes: int = 2,
) -> list[DiscoveredDevice]:
    """Devices that answered within ``timeout_s``, sorted by their first XAddr.

    UDP may lose a datagram, so the probe is sent ``probes`` times (same
    MessageID; answers are de-duplicated by endpoint).
    """
    loop = asyncio.get_running_loop()
    message_id = f"urn:uuid:{uuid.uuid4()}"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.bind(("127.0.0.1" if address in ("127.0.0.1", "localhost") else "0.0.0.0", 0))  # noqa: S104
    sock.setblocking(False)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Collector(message_id), sock=sock
    )
    target = (address or wsdiscovery.MULTICAST_GROUP, port)
    probe = wsdiscovery.build_probe(message_id)
    try:
        for i in range(max(1, probes)):
            transport.sendto(probe, target)
            if i + 1 < probes:
                await asyncio.sleep(min(0.2, timeout_s / (2 * probes)))
        await asyncio.sleep(timeout_s)
    finally:
        transport.close()
    return sorted(protocol.found.values(), key=lambda d: (d.xaddrs[:1], d.endpoint))
