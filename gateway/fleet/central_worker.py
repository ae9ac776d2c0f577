"""One stateless worker of ``floorwatch fleet run``. Shell module (nats-py, asyncio).

It reads the province stream through a durable PULL consumer shared by name:
every worker process bound to the same consumer gets a disjoint share of the
messages (JetStream hands each pending message to one pull request). Per
fetched batch it decodes each message (gateway.fleet.messages.decode), writes
the points (gateway.fleet.central.record_lines) through the InfluxWriter,
and, while the writer makes them durable (in the database or its spool), folds
the records into each site's state in the key-value bucket
(gateway.fleet.site_sync: one compare-and-set per site per batch); only when
both are done does it acknowledge. Up to ``in_flight`` batches are handled at
once (the next fetched, decoded and folded while the writer makes the previous
ones durable; a site's folds in turn, gateway.fleet.site_sync). A worker that
stops or dies before the ack leaves the messages unacknowledged: JetStream
delivers them again after the consumer's ack wait, and they write the same
points again (same series and time: stored once). A batch that fails on a
NATS error is handed back at once (``nak``, delivered again a second later).

A message that cannot be decoded is logged, kept as a dead letter
(gateway.fleet.dead_letters) and only then terminated (``term``: not delivered
again); when the dead letter cannot be stored it is handed back (``nak``) and
comes again. Without dead letters it is terminated at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, replace
from typing import Any

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, KeyValueConfig
from nats.js.kv import KeyValue
from structlog.typing import FilteringBoundLogger

from gateway.fleet.central import record_lines
from gateway.fleet.central_config import CentralNatsConfig
from gateway.fleet.dead_letters import DeadLetters
from gateway.fleet.messages import FleetDecodeError, FleetRecord, decode
from gateway.fleet.nats_tls import login_options
from gateway.fleet.partition_leases import PartitionLeases, lease_bucket
from gateway.fleet.partitions import partition_names
from gateway.fleet.site_sync import SiteSync
from gateway.fleet.start_retry import until_answered
from gateway.influx_writer import InfluxWriter

RETRY_S = 1.0
LAG_EVERY_S = 5.0


@dataclass(slots=True)
class WorkerStats:
    fetched: int = 0
    redelivered: int = 0  # fetched messages JetStream had delivered before (unacked)
    acked: int = 0
    rejected: int = 0  # undecodable, terminated
    dead_lettered: int = 0  # undecodable, kept in the dead-letter stream (then terminated)
    points: int = 0
    state_updates: int = 0  # site documents written (one per site per batch, per kv_interval_s)
    state_conflicts: int = 0  # site writes refused: another worker wrote the site first
    state_held: int = 0  # site writes that waited for kv_interval_s since the site's last one
    in_progress: int = 0  # times a held batch was marked in progress
    nacked: int = 0  # messages of failed batches handed back (nak) to come again
    errors: int = 0
    # the shared consumer's lag (JetStream's figures, read every LAG_EVERY_S; None before)
    pending: int | None = None  # in the stream, not yet handed to any worker
    ack_pending: int | None = None  # handed out, not yet acknowledged
    # (the sums over the partitions this process reads)
    partitions: int = 0  # partitions this process holds (with nats.partitions > 1)


async def connect(cfg: CentralNatsConfig, name: str, log: FilteringBoundLogger) -> Client:
    """Connect, retrying without end (a service waits for its NATS); errors logged once each."""

    async def on_error(exc: Exception) -> None:
        log.warning("fleet.nats_error", url=cfg.url, reason=str(exc) or type(exc).__name__)

    async def on_disconnected() -> None:
        log.warning("fleet.nats_disconnected", url=cfg.url)

    async def on_reconnected() -> None:
        log.info("fleet.nats_reconnected", url=cfg.url)

    return await nats.connect(
        servers=[cfg.url],
        name=name,
        max_reconnect_attempts=-1,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        **login_options(cfg),  # credentials and fleet TLS (none unless given)
    )


async def site_bucket(js: JetStreamContext, cfg: CentralNatsConfig) -> KeyValue:
    """The ``fleet_sites`` bucket, created (one value per key) when missing."""
    try:
        return await js.key_value(cfg.kv_bucket)
    except nats.js.errors.BucketNotFoundError:
        config = KeyValueConfig(bucket=cfg.kv_bucket, history=1, replicas=cfg.kv_replicas)
        return await js.create_key_value(config)


def _delivered(reply: str | None) -> int:
    """How many times JetStream delivered the message, from its ack subject, as nats-py's
    ``metadata`` reads it but without parsing the rest (a third of a worker's time per
    message went there): ``$JS.ACK.<stream>.<consumer>.<delivered>.<seqs...>`` (9
    tokens) or, with a domain and an account hash, ``$JS.ACK.<domain>.<hash>.<stream>.
    <consumer>.<delivered>...`` (12 tokens or more); 0 for a message not from JetStream."""
    if not reply or not reply.startswith("$JS.ACK."):
        return 0
    tokens = reply.split(".")
    at = 4 if len(tokens) == 9 else 6
    try:
        return int(tokens[at])
    except (IndexError, ValueError):
        return 0


class FleetWorker:
    """Constructor stores; ``run()`` consumes until cancelled."""

    def __init__(
        self,
        config: CentralNatsConfig,
        writer: InfluxWriter,
        *,
        name: str = "floorwatch-fleet-worker",
        log: FilteringBoundLogger | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self._cfg = config
        self._dead_letters = dead_letters
        self._js: JetStreamContext | None = None  # the dead letters' (set in run)
        self._writer = writer
        self._name = name
        self._log: FilteringBoundLogger = log or structlog.get_logger("floorwatch.fleet")
        self.stats = WorkerStats()
        self.ready = asyncio.Event()  # set once the consumer is bound (partitions: leases read)
        self._owner = f"{name}-{uuid.uuid4().hex[:12]}"
        self._lag: dict[str, tuple[int, int]] = {}  # per partition read: (pending, ack pending)
        self._turn = asyncio.Lock()  # a batch's decoding, or its acks: one batch at a time

    async def run(self) -> None:
        nc = await connect(self._cfg, self._name, self._log)
        try:
            js = self._js = nc.jetstream()
            bucket = await until_answered(
                "site bucket", lambda: site_bucket(js, self._cfg), self._log
            )
            sites = SiteSync(bucket, interval_s=self._cfg.kv_interval_s)
            names = partition_names(self._cfg.stream, self._cfg.partitions)
            if len(names) == 1:  # one stream, its consumer shared by every process
                psub = await until_answered("consumer", lambda: self._bind(js, names[0]), self._log)
                self.ready.set()
                await self._consume(names[0], psub, sites, asyncio.Event())
            else:
                await self._partitioned(js, names, sites)
        finally:
            await self._close(nc)

    async def _bind(self, js: JetStreamContext, stream: str) -> JetStreamContext.PullSubscription:
        """The durable pull consumer on one (partition) stream, created when missing.

        Created without a filter subject: the central stream holds only what it
        sources from the sites' streams, so a filter (``<prefix>.>``) would select
        every message anyway, and a filtered consumer costs the cluster more: each
        consumer info (the lag read, ``fleet status``) counts its pending messages
        by scanning the stream's blocks (docs/fleet.md, *The benchmark*, rows 21-29).
        A consumer that exists is bound as it is, filter or not.
        """
        durable = self._cfg.consumer
        try:
            existing = (await js.consumer_info(stream, durable)).config
        except nats.js.errors.NotFoundError:  # a missing stream raises it again below
            config = ConsumerConfig(
                name=durable,
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._cfg.ack_wait_s,
                max_deliver=self._cfg.max_deliver,
                max_ack_pending=-1,  # each process bounds its own: in_flight batches
            )
            await js.add_consumer(stream, config=config)
        else:
            await self._unbound_ack_pending(js, stream, existing)
        psub = await js.pull_subscribe_bind(durable=durable, stream=stream)
        self._log.info(
            "fleet.worker_started",
            stream=stream,
            consumer=self._cfg.consumer,
            bucket=self._cfg.kv_bucket,
        )
        return psub

    async def _partitioned(
        self, js: JetStreamContext, names: tuple[str, ...], sites: SiteSync
    ) -> None:
        """Read the partitions this process holds a lease on; every ``lease_s / 3`` renew
        them, take free ones up to the fair share, hand back the ones above it (their
        batches finished first)."""
        kv = await until_answered(
            "lease bucket",
            lambda: lease_bucket(
                js, self._cfg.partition_bucket, self._cfg.lease_s, self._cfg.kv_replicas
            ),
            self._log,
        )
        leases = PartitionLeases(kv, names, self._owner)
        readers: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        announced = False  # a first round done: later ones may take

        async def read(name: str, stop: asyncio.Event) -> None:
            try:
                psub, said = None, False
                while psub is None and not stop.is_set():
                    try:
                        psub = await self._bind(js, name)
                    except nats.js.errors.NotFoundError:
                        # a partition no site was placed in yet (central_stream.add_sites)
                        if not said:
                            self._log.info("fleet.partition_not_created", stream=name)
                            said = True
                        await asyncio.sleep(self._cfg.lease_s / 3)
                    except (nats.errors.Error, OSError, TimeoutError) as exc:
                        self._failed(f"bind {name}", exc)  # the next lease round starts it again
                        return
                if psub is not None:
                    await self._consume(name, psub, sites, stop)
            finally:
                self._lag.pop(name, None)
                if stop.is_set():  # handed back: its batches are done
                    with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
                        await leases.release(name)
                        self._log.info("fleet.partition_released", stream=name)

        try:
            while True:
                for name, (task, _) in list(readers.items()):
                    if task.done():
                        del readers[name]
                        task.result()  # a failure not of NATS stops the process
                could_take = announced
                try:
                    late = leases.relet
                    # each held partition's backlog (its consumer's, as last read), so that
                    # what is handed back to a new process is about half the work
                    backlog = {n: p + a for n, (p, a) in self._lag.items()}
                    plan, lost = await leases.round(backlog)
                    if not announced:
                        # the first round only says this process is alive: processes
                        # started together (a restart of them all) count each other
                        # before any takes, instead of one taking all, then handing back
                        announced = True
                        plan = replace(plan, take=())
                    if leases.relet > late:  # renewed after expiry: lease_s short for the load
                        self._log.warning("fleet.partition_lease_late", leases=leases.relet - late)
                    for name in lost:
                        self._log.warning("fleet.partition_lost", stream=name)
                    for name in (*lost, *plan.release):
                        if name in readers:
                            readers[name][1].set()
                    taken = [n for n in plan.take if n not in readers and await leases.take(n)]
                    for name in taken:
                        self._log.info("fleet.partition_taken", stream=name)
                    # what it holds and nobody reads: just taken, or a reader that failed
                    for name in leases.held:
                        if name not in readers and name not in plan.release:
                            stop = asyncio.Event()
                            readers[name] = (asyncio.create_task(read(name, stop)), stop)
                except (nats.errors.Error, OSError, TimeoutError) as exc:
                    self._failed("leases", exc)
                self.stats.partitions = len(readers)
                if could_take:
                    self.ready.set()
                await asyncio.sleep(self._cfg.lease_s / 3)
        finally:
            for _, stop in readers.values():
                stop.set()
            await asyncio.gather(*(t for t, _ in readers.values()), return_exceptions=True)
            with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
                await leases.leave()

    async def _unbound_ack_pending(
        self, js: JetStreamContext, stream: str, config: ConsumerConfig
    ) -> None:
        """A consumer created before ``in_flight`` has JetStream's default ack-pending
        limit (1,000 messages): it would hold each process to one batch in flight.
        Raised to no limit when below one process's ``batch`` x ``in_flight``."""
        limit = config.max_ack_pending
        if limit is None or limit < 0 or limit >= self._cfg.batch * self._cfg.in_flight:
            return
        await js.add_consumer(stream, config=replace(config, max_ack_pending=-1))
        self._log.info("fleet.consumer_updated", consumer=self._cfg.consumer, max_ack_pending=-1)

    async def _consume(
        self,
        name: str,
        psub: JetStreamContext.PullSubscription,
        sites: SiteSync,
        stop: asyncio.Event,
    ) -> None:
        """Fetch while fewer than ``in_flight`` batches are being handled; handle each in a
        task of its own, so the next batch is fetched and folded while the writer makes
        the previous one durable. Once ``stop`` is set: no more fetches, the batches in
        hand finished (not cancelled: they would come again only after the ack wait)."""
        busy: set[asyncio.Task[None]] = set()
        lag_due = 0.0
        try:
            while not stop.is_set():
                if len(busy) >= self._cfg.in_flight:
                    await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
                for task in [t for t in busy if t.done()]:
                    busy.discard(task)
                    task.result()  # a failure not of NATS (a bug, the writer closed) stops
                if (now := asyncio.get_running_loop().time()) >= lag_due:
                    lag_due = now + LAG_EVERY_S
                    await self._read_lag(name, psub)
                try:
                    msgs = await psub.fetch(self._cfg.batch, timeout=self._cfg.fetch_wait_s)
                except TimeoutError:
                    # nats.errors.TimeoutError, and the plain TimeoutError nats-py's
                    # fetch raises when its deadline ran out before the lingering pull.
                    continue
                except nats.errors.Error as exc:
                    self._failed("fetch", exc)
                    await asyncio.sleep(RETRY_S)
                    continue
                busy.add(asyncio.create_task(self._batch(msgs, sites)))
            if busy:
                await asyncio.wait(busy)
                for task in busy:
                    task.result()
                busy.clear()
            await self._hand_back(psub)
        finally:
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)

    async def _hand_back(self, psub: JetStreamContext.PullSubscription) -> None:
        """A partition handed back: what the server still delivered to this process's
        pull requests (a request outlives the fetch that timed out, up to its expiry)
        goes back at once (``nak``), not after the ack wait, to the next holder.

        nats-py keeps such messages for the next fetch in the subscription's queue
        and has no public way to take them out: ``_sub._pending_queue`` (nats-py is
        pinned). Without it they would come again after ``ack_wait_s``.
        """
        await asyncio.sleep(self._cfg.fetch_wait_s)  # the last request's expiry
        queue = getattr(getattr(psub, "_sub", None), "_pending_queue", None)
        handed = 0
        while queue is not None and not queue.empty():
            msg = queue.get_nowait()
            if not (msg.reply or "").startswith("$JS.ACK."):
                continue  # a status message (no messages, request expired)
            with contextlib.suppress(nats.errors.Error, OSError):
                await msg.nak()
                handed += 1
        with contextlib.suppress(nats.errors.Error, OSError):
            await psub.unsubscribe()
        self.stats.nacked += handed

    async def _batch(self, msgs: list[Msg], sites: SiteSync) -> None:
        try:
            await self.handle(msgs, sites)
        except (nats.errors.Error, OSError) as exc:
            self._failed("batch", exc)
            # Not acknowledged: handed out again RETRY_S from now, not after the ack wait.
            for msg in msgs:
                with contextlib.suppress(nats.errors.Error, OSError):
                    await msg.nak(delay=RETRY_S)
            self.stats.nacked += len(msgs)
            await asyncio.sleep(RETRY_S)

    async def _close(self, nc: Client) -> None:
        """Close the connection; with the server away, nats-py's close ends in a lost
        connection's error, which is not a failure of the worker's stop."""
        try:
            await nc.close()
        except (nats.errors.Error, OSError) as exc:
            self._log.info("fleet.nats_closed_unclean", reason=str(exc) or type(exc).__name__)

    async def _read_lag(self, name: str, psub: JetStreamContext.PullSubscription) -> None:
        try:
            info = await psub.consumer_info()
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            self._failed("lag", exc)
            return
        self._lag[name] = (info.num_pending or 0, info.num_ack_pending or 0)
        self.stats.pending = sum(p for p, _ in self._lag.values())
        self.stats.ack_pending = sum(a for _, a in self._lag.values())

    def _failed(self, what: str, exc: BaseException) -> None:
        self.stats.errors += 1
        reason = str(exc) or type(exc).__name__
        self._log.warning("fleet.worker_failed", step=what, reason=reason)

    async def handle(self, msgs: list[Msg], sites: SiteSync) -> None:
        """Decode, write (durably), update the sites' state, then acknowledge."""
        self.stats.fetched += len(msgs)
        self.stats.redelivered += sum(1 for m in msgs if _delivered(m.reply) > 1)
        taken: list[tuple[Msg, FleetRecord]] = []
        # One batch decodes at a time: a batch's decoding holds the event loop for tens
        # of milliseconds, and with every batch in flight ready to decode at once the
        # lease round's requests waited behind them all, past a short lease.
        async with self._turn:
            for msg in msgs:
                try:
                    taken.append((msg, decode(self._cfg.subject_prefix, msg.subject, msg.data)))
                except FleetDecodeError as exc:
                    seq = msg.metadata.sequence.stream if msg.reply else None
                    self._log.warning(
                        "fleet.message_rejected", subject=msg.subject, seq=seq, reason=str(exc)
                    )
                    if await self._dead_letter(msg, str(exc)):
                        await msg.term()
                        self.stats.rejected += 1
            lines = [line for _, record in taken for line in record_lines(record)]
        if not taken:
            return
        durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_durable() -> None:
            if not durable.done():
                durable.set_result(None)

        # The sites folded while the writer makes the points durable; both before the ack.
        # A batch folded but not durable when the worker dies comes again: folding is idempotent.
        if not lines:  # nothing to wait for: no site held for its interval
            durable.set_result(None)
        folding = asyncio.create_task(sites.fold([record for _, record in taken], durable))
        waits: list[asyncio.Task[Any]] = [folding]
        try:
            if lines:  # a zone nobody counts has no point: nothing to make durable
                await self._writer.submit(lines, on_durable)
                waits.append(
                    asyncio.create_task(self._until_durable(durable, [m for m, _ in taken]))
                )
            await asyncio.gather(*waits)  # the first failure raised as itself
        finally:
            for task in waits:
                task.cancel()
        self.stats.points += len(lines)
        self.stats.state_updates += folding.result()
        self.stats.state_conflicts = sites.conflicts
        self.stats.state_held = sites.held
        async with self._turn:
            for msg, _ in taken:
                await msg.ack()
        self.stats.acked += len(taken)

    async def _dead_letter(self, msg: Msg, reason: str) -> bool:
        """Keep ``msg`` as a dead letter: True once stored (or with none configured); else
        False, the message handed back to come again (nothing terminated unkept)."""
        if self._dead_letters is None or self._js is None:
            return True
        try:
            await self._dead_letters.put(self._js, msg, reason)
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            self._failed("dead_letter", exc)
            with contextlib.suppress(nats.errors.Error, OSError):
                await msg.nak(delay=RETRY_S)
            self.stats.nacked += 1
            return False
        self.stats.dead_lettered += 1
        return True

    async def _until_durable(self, durable: asyncio.Future[None], msgs: list[Msg]) -> None:
        """Wait for the writer; meanwhile tell JetStream the batch is in progress.

        While the database is away and the spool is full the writer holds the
        batch: ``in_progress`` every half ack wait keeps JetStream from handing
        the same messages to another worker meanwhile.
        """
        interval = self._cfg.ack_wait_s / 2
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(durable), interval)
            except TimeoutError:
                for msg in msgs:
                    await msg.in_progress()
                self.stats.in_progress += 1
                continue
            return
