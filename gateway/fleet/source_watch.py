"""Restarts a central-stream source the engine left stalled. Shell module (nats-py, asyncio).

Every ``source_watch.check_s`` one ``fleet run`` process (the holder of a
lease in the ``source_watch.lease_bucket`` key-value bucket; the others wait)
reads the central stream's sources from the server (STREAM.INFO of each
partition, the raw answer: see ``source_health``). A source silent for longer than
``stall_after_s`` is a suspect; the watch then asks that site's server for its
stream through the leaf link (``$JS.<domain>.API.STREAM.INFO``). The reply
comes back on a ``$JSC.R.`` subject, the only replies a site's link may carry
(``topology.link_permissions``). A site that answers while its source stays
silent is stalled: the watch removes the source and adds it again
(``central_stream.restart_source``), and nats-server resumes it after the last
message the stream holds from that site. A site that does not answer is
offline (its link is down), unless another node reaches it: then the
cluster lost the interest of the site's link on the other nodes (a
nats-server 2.9.10 fault, see ``SourceWatch._relay``), and the watch holds a
subscription on the node that reaches it, which restores the interest, then
restarts the source. Otherwise nothing to do: the engine retries by itself.

Why: nats-server 2.9.10 (Debian's) can leave a source silent for good after
its leaf reconnected quickly (docs/fleet.md, *Operations*); the site's
messages wait on its disk, nothing is lost, but the province would not see
them until someone restarted the source.

The lease: ``create`` of one key in a bucket whose entries expire after
``3 × check_s``; the holder renews it at each check by compare-and-set, so a
process that dies hands the watch to another within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue
from structlog.typing import FilteringBoundLogger

from gateway.fleet.central_config import CentralNatsConfig, SourceWatchConfig
from gateway.fleet.central_stream import restart_source
from gateway.fleet.central_worker import connect
from gateway.fleet.nats_tls import login_options
from gateway.fleet.partitions import partition_names
from gateway.fleet.source_health import StallTracker, parse_sources
from gateway.fleet.start_retry import until_answered

LEASE_KEY = "source-watch"


async def _drop(_msg: Msg) -> None:
    """A relay's copy of a request: the site's server answers it, not the relay."""


API_TIMEOUT_S = 5.0


@dataclass(slots=True)
class WatchStats:
    checks: int = 0  # checks made while holding the lease
    restarts: int = 0  # stalled sources restarted
    unreachable: int = 0  # suspects whose site did not answer (link down)
    errors: int = 0
    relays: int = 0  # sites reachable through one node only, relayed (see SourceWatch._relay)
    leader: bool = False  # holds the lease now


class SourceWatch:
    """Constructor stores; ``run()`` watches until cancelled; ``check()`` is one round."""

    def __init__(
        self,
        nats_cfg: CentralNatsConfig,
        cfg: SourceWatchConfig,
        *,
        name: str = "floorwatch-fleet-source-watch",
        log: FilteringBoundLogger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nats = nats_cfg
        self._cfg = cfg
        self._name = name
        self._log: FilteringBoundLogger = log or structlog.get_logger("floorwatch.fleet")
        self._clock = clock
        self._tracker = StallTracker(cfg.stall_after_s)
        self._owner = f"{name}-{uuid.uuid4().hex[:12]}".encode()
        self._lease_rev: int | None = None
        self._nodes: dict[str, Client] = {}  # connections to single nodes, holding relays
        self._relayed: set[tuple[str, str]] = set()  # (node URL, domain)
        self.stats = WatchStats()

    async def run(self) -> None:
        nc = await connect(self._nats, self._name, self._log)
        try:
            js = nc.jetstream()
            lease = await until_answered(
                "watch lease bucket", lambda: self._lease_bucket(js), self._log
            )
            while True:
                try:
                    if await self.hold(lease):
                        await self.check(nc, js)
                except (nats.errors.Error, OSError, TimeoutError, ValueError) as exc:
                    self.stats.errors += 1
                    reason = str(exc) or type(exc).__name__
                    self._log.warning("fleet.source_watch_failed", reason=reason)
                await asyncio.sleep(self._cfg.check_s)
        finally:
            for conn in [nc, *self._nodes.values()]:
                try:
                    await conn.close()
                except (nats.errors.Error, OSError) as exc:
                    reason = str(exc) or type(exc).__name__
                    self._log.info("fleet.nats_closed_unclean", reason=reason)

    async def _lease_bucket(self, js: JetStreamContext) -> KeyValue:
        try:
            return await js.key_value(self._cfg.lease_bucket)
        except nats.js.errors.BucketNotFoundError:
            config = KeyValueConfig(
                bucket=self._cfg.lease_bucket,
                history=1,
                ttl=self._cfg.check_s * 3,
                replicas=self._nats.kv_replicas,
            )
            return await js.create_key_value(config)

    async def hold(self, lease: KeyValue) -> bool:
        """Renew the lease if this process holds it, else try to take it; True: it holds it."""
        held = False
        if self._lease_rev is not None:
            try:
                self._lease_rev = await lease.update(LEASE_KEY, self._owner, last=self._lease_rev)
                held = True
            except nats.js.errors.KeyWrongLastSequenceError:
                self._lease_rev = None  # expired and taken by another process
        if not held:
            try:
                self._lease_rev = await lease.create(LEASE_KEY, self._owner)
                held = True
            except nats.js.errors.KeyWrongLastSequenceError:
                held = False
        if held != self.stats.leader:
            self._log.info("fleet.source_watch_lease", held=held)
        self.stats.leader = held
        return held

    async def check(self, nc: Client, js: JetStreamContext) -> list[str]:
        """One round: the sources restarted now."""
        self.stats.checks += 1
        sources = {}
        held_by: dict[str, str] = {}  # domain -> the partition stream sourcing it
        for stream in partition_names(self._nats.stream, self._nats.partitions):
            info = await self._api(nc, f"$JS.API.STREAM.INFO.{stream}")
            if "error" in info:  # a partition not created yet: nothing to watch there
                continue
            for source in parse_sources(info):
                sources[source.domain] = source
                held_by[source.domain] = stream
        now = self._clock()
        restarted = []
        for domain in self._tracker.suspects(now, list(sources.values())):
            seen = sources[domain]
            self._tracker.acted(domain, now)
            answers = await self._probe_nodes(nc, domain)
            reached = {url: a for url, a in answers.items() if a is not None}
            if not reached:
                self.stats.unreachable += 1
                self._log.info("fleet.source_silent", domain=domain, reason="site unreachable")
                continue
            if len(reached) < len(answers):
                await self._relay(domain, list(reached), [u for u in answers if u not in reached])
            site = next(iter(reached.values()))
            if "error" in site:
                self._log.warning(
                    "fleet.source_silent",
                    domain=domain,
                    reason=str(site["error"].get("description", site["error"])),
                )
                continue
            await restart_source(js, domain, name=held_by[domain], site_stream=self._nats.stream)
            self.stats.restarts += 1
            restarted.append(domain)
            self._log.warning(
                "fleet.source_restarted",
                domain=domain,
                silent_s=None if seen.silent_s is None else round(seen.silent_s, 1),
                site_last_seq=(site.get("state") or {}).get("last_seq"),
            )
        return restarted

    async def _probe_nodes(self, nc: Client, domain: str) -> dict[str, dict[str, Any] | None]:
        """The site's answer through each node of the cluster (the client's known servers)."""
        out: dict[str, dict[str, Any] | None] = {}
        for uri in nc.servers:
            url = uri.geturl()
            try:
                out[url] = await self._probe(await self._node(url), domain)
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                # a node that is down is not a node that lost the site's interest
                self._log.info("fleet.source_watch_node", url=url, reason=str(exc) or type(exc))
        return out

    async def _relay(self, domain: str, reached: list[str], lost: list[str]) -> None:
        """The site answers through some nodes only: hold a subscription to its API on
        each node that reaches it, which restores the routes' interest.

        nats-server 2.9.10 can lose, on the cluster's other nodes, the interest a
        leaf's subscriptions put on the node it is connected to (seen when a
        site's server reconnected to the same node within a fraction of a second,
        docs/fleet.md): requests for that site's domain then find "no responders"
        on those nodes, and a source whose stream leader is on one stays silent. A
        client's own subscription on the leaf's node is interest that node
        announces to its routes again; the requests then reach it, and it hands
        them to the leaf. Which of the reaching nodes holds the leaf is not known
        here (a route does not pass messages on to another route), so each gets
        one. The relays' copies of the requests are dropped.
        """
        for url in reached:
            if (url, domain) in self._relayed:
                continue
            node = await self._node(url)
            await node.subscribe(f"$JS.{domain}.API.>", cb=_drop)
            await node.flush()
            self._relayed.add((url, domain))
        self.stats.relays += 1
        self._log.error(
            "fleet.link_interest_lost",
            domain=domain,
            reached_through=reached,
            lost_on=lost,
            remedy="relayed by subscriptions on the nodes that reach it; restarting the"
            " site's nats-server restores the interest for good",
        )

    async def _node(self, url: str) -> Client:
        """A connection to this one node (kept while the watch runs; its relays live on it)."""
        if (conn := self._nodes.get(url)) is None or conn.is_closed:
            conn = await nats.connect(
                servers=[url],
                name=f"{self._name}-relay",
                connect_timeout=self._cfg.probe_timeout_s,
                max_reconnect_attempts=-1,
                **login_options(self._nats),  # credentials and fleet TLS (none unless given)
            )
            self._nodes[url] = conn
        return conn

    async def _api(self, nc: Client, subject: str) -> dict[str, Any]:
        msg = await nc.request(subject, b"", timeout=API_TIMEOUT_S)
        answer: dict[str, Any] = json.loads(msg.data)
        return answer

    async def _probe(self, nc: Client, domain: str) -> dict[str, Any] | None:
        """The site stream's info from the site's own server, or None when it does not answer."""
        inbox = f"$JSC.R.{uuid.uuid4().hex}"
        sub = await nc.subscribe(inbox, max_msgs=1)
        try:
            await nc.publish(f"$JS.{domain}.API.STREAM.INFO.{self._nats.stream}", b"", reply=inbox)
            msg = await sub.next_msg(timeout=self._cfg.probe_timeout_s)
        except nats.errors.TimeoutError:
            return None
        finally:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()  # gone already once its one message came
        if not msg.data:  # "no responders" (status 503): nobody serves that domain here
            return None
        answer: dict[str, Any] = json.loads(msg.data)
        return answer
