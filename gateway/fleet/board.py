"""The ``fleet_sites`` bucket kept in memory by a key-value watch. Shell module (nats-py).

``SiteBoard.run()`` connects to the province's NATS, opens the bucket ``fleet
run`` writes (it waits while the bucket does not exist yet), and watches every
key (``KeyValue.watchall``: the latest value of each key, then each change).
The documents are held in ``states`` (key ``<province>.<site>``); each change
bumps ``version`` and wakes the waiters (the province page's live streams).

After a reconnection the watch is opened again and the board is rebuilt from
the bucket's current values (keys deleted meanwhile go), so a NATS outage
leaves no stale center behind. ``watching`` says whether the board reflects
the bucket now (the readiness check).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from structlog.typing import FilteringBoundLogger

from gateway.fleet.central import decode_state
from gateway.fleet.central_config import CentralNatsConfig
from gateway.fleet.nats_tls import login_options

RETRY_S = 1.0


class SiteBoard:
    """Constructor stores; ``run()`` watches until cancelled."""

    def __init__(
        self,
        config: CentralNatsConfig,
        *,
        name: str = "floorwatch-fleet-page",
        log: FilteringBoundLogger | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self._cfg = config
        self._name = name
        self._log: FilteringBoundLogger = log or structlog.get_logger("floorwatch.fleet")
        self._retry_s = retry_s
        self.states: dict[str, dict[str, Any] | None] = {}
        self.version = 0
        self.watching = False
        self.ready = asyncio.Event()  # set once the bucket's current values are in
        self._changed = asyncio.Condition()
        self._rewatch = asyncio.Event()
        self._stopping = False

    async def wait_change(self, seen: int, timeout_s: float) -> int:
        """The version after ``seen`` once there is one, or the current version after timeout."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version != seen), timeout_s
                )
            return self.version

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def run(self) -> None:
        nc = await self._connect()
        try:
            while True:
                try:
                    await self._watch(nc)
                except (nats.errors.Error, OSError) as exc:
                    self.watching = False
                    reason = str(exc) or type(exc).__name__
                    self._log.warning("fleet.page_watch_failed", reason=reason)
                    await asyncio.sleep(self._retry_s)
        finally:
            self.watching = False
            self._stopping = True
            await nc.close()

    async def _connect(self) -> Client:
        """Connect, retrying without end; a reconnection opens the watch again."""
        cfg, log = self._cfg, self._log

        async def on_error(exc: Exception) -> None:
            log.warning("fleet.nats_error", url=cfg.url, reason=str(exc) or type(exc).__name__)

        async def on_disconnected() -> None:
            self.watching = False
            if not self._stopping:  # not our own close at the end
                log.warning("fleet.nats_disconnected", url=cfg.url)

        async def on_reconnected() -> None:
            log.info("fleet.nats_reconnected", url=cfg.url)
            self._rewatch.set()

        return await nats.connect(
            servers=[cfg.url],
            name=self._name,
            max_reconnect_attempts=-1,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
            **login_options(cfg),  # credentials and fleet TLS (none unless given)
        )

    async def _bucket(self, nc: Client) -> KeyValue:
        js = nc.jetstream()
        waited = False
        while True:
            try:
                return await js.key_value(self._cfg.kv_bucket)
            except nats.js.errors.BucketNotFoundError:
                if not waited:
                    self._log.info("fleet.page_waiting_for_bucket", bucket=self._cfg.kv_bucket)
                    waited = True
                await asyncio.sleep(self._retry_s)

    async def _watch(self, nc: Client) -> None:
        """One watch: the current values (replacing the board's), then changes until rewatch."""
        kv = await self._bucket(nc)
        self._rewatch.clear()
        watcher = await kv.watchall()
        fresh: dict[str, dict[str, Any] | None] | None = {}
        try:
            rewatch = asyncio.create_task(self._rewatch.wait())
            try:
                while True:
                    nxt = asyncio.create_task(watcher.updates(timeout=None))  # type: ignore[no-untyped-call]
                    done, _ = await asyncio.wait({nxt, rewatch}, return_when="FIRST_COMPLETED")
                    if rewatch in done:
                        nxt.cancel()
                        self._log.info("fleet.page_rewatch", bucket=self._cfg.kv_bucket)
                        return
                    entry = nxt.result()
                    if entry is None:  # the current values are all in
                        if fresh is not None:
                            self.states = fresh
                            fresh = None
                            self.watching = True
                            self.ready.set()
                            self._log.info("fleet.page_watching", sites=len(self.states))
                            await self._bump()
                        continue
                    deleted = entry.operation in (KV_DEL, KV_PURGE)
                    target = fresh if fresh is not None else self.states
                    if deleted:
                        target.pop(entry.key, None)
                    else:
                        target[entry.key] = decode_state(entry.value)
                    if fresh is None:
                        await self._bump()
            finally:
                rewatch.cancel()
        finally:
            self.watching = False
            with contextlib.suppress(nats.errors.Error):
                await watcher.stop()  # type: ignore[no-untyped-call]
