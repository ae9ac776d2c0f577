"""The InfluxDB writer: batches, writes off the loop, spools on failure, replays in order.

Shell module (asyncio, HTTP, files). ``submit`` queues lines in memory (and
waits when too many are waiting: backpressure reaches the MQTT source). The
flusher takes a batch when ``batch_size`` lines are queued or the oldest has
waited ``flush_interval_s``, and in a worker thread either writes it to the
database (when the spool is empty) or appends it to the spool (when the write
fails, or when older batches are still spooled: order is kept). The replayer
drains the spool oldest-first, with capped exponential backoff and jitter while
the database is down. A batch the database refuses for good (HTTP 400) is
quarantined in ``<spool>/rejected`` and never blocks the queue.

``on_durable`` callbacks run on the event loop, in submission order, once the
lines are in the database or in the spool; the hub acknowledges MQTT messages
there (at-least-once). When the spool is full, the batch stays in memory, no
callback runs, and the flusher waits until the replay has freed the spool below
``RESUME_FILL`` before it appends again (hysteresis: one ``storage.spool_full``
and one ``storage.spool_accepting`` per episode, not one per freed batch).

While the database is unreachable the replayer backs off, and meanwhile probes
its address every ``PROBE_INTERVAL_S`` (a TCP connect): the replay resumes as
soon as the server listens again, not when the backoff (up to
``retry_max_s``) runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import structlog
import urllib3.exceptions
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS, WriteApi
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from structlog.typing import FilteringBoundLogger

from gateway.settings import InfluxConfig
from gateway.spool import Spool, SpoolFull

# --------------------------------------------------------------------------- clients


class StorageError(Exception):
    """A write did not reach the database; ``reason`` says why."""

    def __init__(
        self, reason: str, *, status: int | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.unreachable = unreachable  # no connection at all (refused, no route, DNS)


class BatchRejected(StorageError):
    """The database refuses this batch itself: writing it again cannot succeed."""


class WriteClient(Protocol):
    def prepare(self) -> None: ...
    def write(self, body: str) -> None: ...
    def close(self) -> None: ...


def make_client(config: InfluxConfig) -> WriteClient:
    if config.protocol == "v1":
        return V1Client(config)
    return V2Client(config)


def _status_error(status: int, message: str, where: str) -> StorageError:
    message = message.strip()[:500] or "(no message)"
    if status in (400, 422):
        return BatchRejected(f"{where} refused the batch (HTTP {status}): {message}", status=status)
    if status == 413:
        return BatchRejected(
            f"{where} refused the batch as too large (HTTP 413): lower influxdb.batch_size",
            status=status,
        )
    if status in (401, 403):
        return StorageError(
            f"{where} refused our credentials (HTTP {status}): {message}", status=status
        )
    if status == 404:
        return StorageError(
            f"{where} has no such database/bucket (HTTP 404): {message}", status=404
        )
    return StorageError(f"{where} answered HTTP {status}: {message}", status=status)


def _error_message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict):
        for key in ("error", "message"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return body


class V1Client:
    """InfluxDB 1.x: POST /write?db=&rp=&precision=ns with optional basic auth."""

    def __init__(self, config: InfluxConfig) -> None:
        self._config = config
        self._url = config.url.rstrip("/")
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            auth: tuple[str, str] | None = None
            if self._config.username is not None:
                password = self._config.password
                auth = (
                    self._config.username,
                    password.get_secret_value() if password is not None else "",
                )
            self._http = httpx.Client(auth=auth, timeout=self._config.timeout_s)
        return self._http

    def prepare(self) -> None:
        if self._config.create_database:
            self.create_database()

    def create_database(self) -> None:
        db = self._config.database.replace("\\", "\\\\").replace('"', '\\"')
        with self._lock:
            response = self._request(
                f"{self._url}/query", params={"q": f'CREATE DATABASE "{db}"'}, content=b""
            )
        if response.status_code != 200:
            raise _status_error(
                response.status_code, _error_message(response.text), "InfluxDB /query"
            )
        try:
            results = response.json().get("results", [])
        except ValueError as exc:
            raise StorageError(f"InfluxDB /query answered no JSON: {response.text[:200]}") from exc
        for result in results:
            if isinstance(result, dict) and "error" in result:
                raise StorageError(f"CREATE DATABASE failed: {result['error']}")

    def write(self, body: str) -> None:
        response = self._post_write(body)
        if response.status_code == 404 and self._config.create_database:
            # The database was dropped, or the server came back with empty storage.
            self.create_database()
            response = self._post_write(body)
        if response.status_code not in (200, 204):
            raise _status_error(
                response.status_code, _error_message(response.text), "InfluxDB /write"
            )

    def _post_write(self, body: str) -> httpx.Response:
        params = {"db": self._config.database, "precision": "ns"}
        if self._config.retention_policy:
            params["rp"] = self._config.retention_policy
        with self._lock:
            return self._request(f"{self._url}/write", params=params, content=body.encode())

    def _request(self, url: str, *, params: dict[str, str], content: bytes) -> httpx.Response:
        try:
            return self._client().post(url, params=params, content=content)
        except httpx.TimeoutException as exc:
            raise StorageError(
                f"no answer from {self._url} within {self._config.timeout_s:g} s"
                f" ({type(exc).__name__})"
            ) from exc
        except httpx.ConnectError as exc:
            raise StorageError(
                f"cannot reach {self._url}: {exc or type(exc).__name__}", unreachable=True
            ) from exc
        except httpx.TransportError as exc:
            raise StorageError(f"cannot reach {self._url}: {exc or type(exc).__name__}") from exc
        except (httpx.HTTPError, OSError) as exc:
            raise StorageError(f"HTTP error talking to {self._url}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None


class V2Client:
    """The v2 write API through influxdb-client (InfluxDB 2.x, 3.x, 1.8+, VictoriaMetrics)."""

    def __init__(self, config: InfluxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._client: InfluxDBClient | None = None
        self._write_api: WriteApi | None = None

    def prepare(self) -> None:
        """Nothing to create: a v2 bucket is provisioned with the database."""

    def _api(self) -> WriteApi:
        if self._write_api is None:
            token = self._config.token
            self._client = InfluxDBClient(
                url=self._config.url,
                token=token.get_secret_value() if token is not None else "",
                org=self._config.org,
                timeout=int(self._config.timeout_s * 1000),
            )
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        return self._write_api

    def write(self, body: str) -> None:
        where = f"InfluxDB {self._config.url} (v2)"
        try:
            with self._lock:
                api = self._api()
                api.write(
                    bucket=self._config.bucket,
                    org=self._config.org,
                    record=body,
                    write_precision=WritePrecision.NS,  # type: ignore[arg-type]  # a str constant
                )
        except ApiException as exc:
            status = int(exc.status or 0)
            body_text = (
                exc.body.decode(errors="replace")
                if isinstance(exc.body, bytes)
                else str(exc.body or exc.reason or "")
            )
            if status == 0:
                raise StorageError(f"{where}: {exc.reason}") from exc
            raise _status_error(status, _error_message(body_text), where) from exc
        except InfluxDBError as exc:
            raise StorageError(f"{where}: {exc.message}") from exc
        except urllib3.exceptions.NewConnectionError as exc:  # a ConnectTimeoutError subclass
            raise StorageError(
                f"{where}: cannot reach it: {_urllib3_reason(exc)}", unreachable=True
            ) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise StorageError(
                f"{where}: no answer within {self._config.timeout_s:g} s ({type(exc).__name__})"
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            refused = isinstance(
                getattr(exc, "reason", None), urllib3.exceptions.NewConnectionError
            )
            raise StorageError(
                f"{where}: cannot reach it: {_urllib3_reason(exc)}", unreachable=refused
            ) from exc
        except OSError as exc:
            raise StorageError(f"{where}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()  # type: ignore[no-untyped-call]
                self._client = None
                self._write_api = None


def _urllib3_reason(exc: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason is not None else (str(exc) or type(exc).__name__)


# --------------------------------------------------------------------------- the writer

#: After a full spool, append again only once the replay has freed it below this.
RESUME_FILL = 0.9
#: While the database is unreachable, try to connect to it this often.
PROBE_INTERVAL_S = 0.5


@dataclass(frozen=True, slots=True)
class WriterStats:
    points_written: int
    batches_written: int
    batches_spooled: int
    write_errors: int
    last_error: str | None
    last_write_latency_ms: float | None
    pending_lines: int
    spool_bytes: int
    spool_batches: int
    spool_oldest_age_s: float
    spool_fill_ratio: float
    spool_full: bool = False  # a spool-full episode: batches held in memory, nothing acked


@dataclass(slots=True)
class _Chunk:
    lines: list[str]
    on_durable: Callable[[], None] | None
    at: float


@dataclass(slots=True)
class _Batch:
    lines: list[str]
    callbacks: list[Callable[[], None]]
    durable: bool = False  # set by the worker thread once written, spooled or quarantined


class _Outcome(Enum):
    WRITTEN = "written"
    SPOOLED = "spooled"
    REJECTED = "rejected"
    HELD = "held"  # neither written nor spooled (spool full or unwritable): keep in memory
    FAILED = "failed"  # replay: the database did not take the spooled batch
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class _Result:
    outcome: _Outcome
    lines: int = 0
    error: str | None = None
    latency_ms: float | None = None
    where: str | None = None
    spool_full: bool = False  # HELD because the spool had no room (not a disk error)
    unreachable: bool = False  # FAILED with no connection to the database


@dataclass(slots=True)
class _Counters:
    points_written: int = 0
    batches_written: int = 0
    batches_spooled: int = 0
    write_errors: int = 0
    last_error: str | None = None
    last_write_latency_ms: float | None = None
    failing: bool = False
    holding: bool = False
    filling: bool = False
    probes: int = 0
    probe_recoveries: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class InfluxWriter:
    """Point sink of the hub. Constructor stores; ``run()`` works; ``close()`` flushes."""

    def __init__(
        self,
        config: InfluxConfig,
        spool: Spool,
        *,
        log: FilteringBoundLogger | None = None,
        client: WriteClient | None = None,
    ) -> None:
        self._config = config
        self._spool = spool
        self._log: FilteringBoundLogger = log or structlog.get_logger("floorwatch.storage")
        self._client = client or make_client(config)
        self._batch_size = config.batch_size
        self._max_pending = max(config.max_pending_lines, config.batch_size)
        self._queue: deque[_Chunk] = deque()
        self._queued_lines = 0
        self._pending_lines = 0
        self._inflight: _Batch | None = None
        self._op: asyncio.Future[_Result] | None = None
        self._wakeup = asyncio.Event()
        self._space = asyncio.Event()
        self._spooled = asyncio.Event()
        self._freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._n = _Counters()
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    # ------------------------------------------------------------------ public

    async def submit(
        self, lines: Sequence[str], on_durable: Callable[[], None] | None = None
    ) -> None:
        """Queue lines; ``on_durable`` runs once they are in the database or the spool."""
        while self._pending_lines >= self._max_pending and not self._closed:
            self._space.clear()
            await self._space.wait()
        if self._closed:
            raise StorageError("the InfluxDB writer is closed")
        if not lines and on_durable is None:
            return
        loop = asyncio.get_running_loop()
        self._queue.append(_Chunk(list(lines), on_durable, loop.time()))
        self._queued_lines += len(lines)
        self._pending_lines += len(lines)
        self._wakeup.set()

    async def run(self) -> None:
        await asyncio.to_thread(self._spool.open)
        self._check_fill()
        if self._spool.count:
            self._log.info(
                "storage.spool_found", batches=self._spool.count, bytes=self._spool.size_bytes
            )
        try:
            await asyncio.to_thread(self._client.prepare)
        except StorageError as exc:
            self._log.warning("storage.prepare_failed", url=self._config.url, reason=exc.reason)
        if self._closed:
            return
        async with asyncio.TaskGroup() as tg:
            self._tasks = [
                tg.create_task(self._flush_loop(), name="influx-flush"),
                tg.create_task(self._replay_loop(), name="influx-replay"),
            ]

    async def close(self) -> None:
        """Flush what is pending (to the database or the spool) and stop."""
        if self._closed:
            return
        self._closed = True
        for event in (self._stopping, self._space, self._wakeup, self._spooled, self._freed):
            event.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        op = self._op
        if op is not None:
            # A worker thread may still be delivering the in-flight batch: let it finish.
            await asyncio.gather(op, return_exceptions=True)
            batch = self._inflight
            if batch is not None and batch.durable:
                ok = op.done() and not op.cancelled() and op.exception() is None
                self._inflight = None
                self._finish(batch, op.result() if ok else _Result(_Outcome.SPOOLED))
        await self._final_flush()
        await asyncio.to_thread(self._client.close)
        self._log.info("storage.closed", **self._log_stats())

    def stats(self) -> WriterStats:
        n = self._n
        return WriterStats(
            points_written=n.points_written,
            batches_written=n.batches_written,
            batches_spooled=n.batches_spooled,
            write_errors=n.write_errors,
            last_error=n.last_error,
            last_write_latency_ms=n.last_write_latency_ms,
            pending_lines=self._pending_lines,
            spool_bytes=self._spool.size_bytes,
            spool_batches=self._spool.count,
            spool_oldest_age_s=self._spool.oldest_age_s(time.time()),
            spool_fill_ratio=self._spool.fill_ratio,
            spool_full=n.holding,
        )

    @property
    def failing(self) -> bool:
        """The last write to InfluxDB failed and none has succeeded since (readiness)."""
        return self._n.failing

    # ------------------------------------------------------------------ flusher

    async def _flush_loop(self) -> None:
        attempt = 0
        while not self._closed:
            if self._inflight is None:
                await self._wait_for_batch()
                if self._closed:
                    return
                self._inflight = self._take_batch()
            batch = self._inflight
            try:
                result = await self._in_thread(self._deliver, batch, self._spool.count == 0)
            except Exception:  # guard: a bug here must not stop storage for good
                self._log.exception("storage.internal_error", stage="flush")
                result = _Result(_Outcome.HELD, error="internal error")
            if result.outcome is _Outcome.HELD:
                attempt += 1
                self._on_held(batch, result)
                if result.spool_full and self._spool.fill_ratio > RESUME_FILL:
                    await self._wait_for_room(self._backoff(attempt))
                else:  # a disk error, or a batch too large for the room left: backoff
                    self._freed.clear()
                    await self._pause(self._backoff(attempt), self._freed)
                continue
            attempt = 0
            self._inflight = None
            self._finish(batch, result)

    async def _wait_for_room(self, fallback_s: float) -> None:
        """After a full spool: wait until the replay frees it below ``RESUME_FILL``.

        ``fallback_s`` bounds each wait (the spool may also shrink by other means,
        e.g. an operator deleting segments), so the flusher never waits for good.
        """
        while not self._closed and self._spool.fill_ratio > RESUME_FILL:
            self._freed.clear()
            if self._spool.fill_ratio <= RESUME_FILL:
                return
            loop = asyncio.get_running_loop()
            started = loop.time()
            await self._pause(fallback_s, self._freed)
            if loop.time() - started >= fallback_s:
                return  # try the append again: the spool's own size decides

    async def _wait_for_batch(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._config.flush_interval_s
        while not self._closed:
            if self._queued_lines >= self._batch_size:
                return
            timeout: float | None = None
            if self._queue:
                timeout = self._queue[0].at + interval - loop.time()
                if timeout <= 0:
                    return
            self._wakeup.clear()
            await self._pause(timeout, self._wakeup)

    def _take_batch(self) -> _Batch:
        lines: list[str] = []
        callbacks: list[Callable[[], None]] = []
        while self._queue and (len(lines) < self._batch_size or not self._queue[0].lines):
            chunk = self._queue[0]
            room = self._batch_size - len(lines)
            if len(chunk.lines) <= room:
                self._queue.popleft()
                lines.extend(chunk.lines)
                if chunk.on_durable is not None:
                    callbacks.append(chunk.on_durable)
            else:  # split: the callback goes with the chunk's last line
                lines.extend(chunk.lines[:room])
                del chunk.lines[:room]
        self._queued_lines -= len(lines)
        return _Batch(lines, callbacks)

    def _deliver(self, batch: _Batch, direct: bool) -> _Result:
        """Worker thread: write the batch, or spool it; never raises for I/O trouble."""
        n = len(batch.lines)
        if n == 0:
            batch.durable = True
            return _Result(_Outcome.WRITTEN)
        error: str | None = None
        if direct:
            start = time.perf_counter()
            try:
                self._client.write("\n".join(batch.lines))
            except BatchRejected as exc:
                try:
                    path = self._spool.reject(batch.lines, exc.reason)
                except OSError as os_exc:
                    return _Result(_Outcome.HELD, n, f"cannot quarantine: {os_exc}")
                batch.durable = True
                return _Result(_Outcome.REJECTED, n, exc.reason, where=str(path))
            except StorageError as exc:
                error = exc.reason
            else:
                batch.durable = True
                return _Result(_Outcome.WRITTEN, n, latency_ms=_ms_since(start))
        try:
            self._spool.append(batch.lines)
        except SpoolFull as exc:
            return _Result(_Outcome.HELD, n, error, where=str(exc), spool_full=True)
        except OSError as exc:
            return _Result(_Outcome.HELD, n, error, where=f"cannot write the spool: {exc}")
        batch.durable = True
        return _Result(_Outcome.SPOOLED, n, error)

    def _finish(self, batch: _Batch, result: _Result) -> None:
        n = self._n
        if result.outcome is _Outcome.WRITTEN and result.lines:
            self._written(result)
        elif result.outcome is _Outcome.SPOOLED:
            n.batches_spooled += 1
            if result.error is not None:
                self._failed(result.error)
            self._spooled.set()
        elif result.outcome is _Outcome.REJECTED:
            self._rejected(result)
        self._check_fill()
        self._pending_lines -= len(batch.lines)
        self._maybe_accepting()
        self._space.set()
        for callback in batch.callbacks:
            try:
                callback()
            except Exception:  # guard: one faulty callback must not stop the others
                self._log.exception("storage.on_durable_failed")

    def _maybe_accepting(self) -> None:
        """End a spool-full episode once nothing is held and the spool is below RESUME_FILL."""
        n = self._n
        if n.holding and self._inflight is None and self._spool.fill_ratio <= RESUME_FILL:
            n.holding = False
            self._log.info(
                "storage.spool_accepting",
                spool_bytes=self._spool.size_bytes,
                fill_ratio=round(self._spool.fill_ratio, 3),
            )

    def _on_held(self, batch: _Batch, result: _Result) -> None:
        if result.error is not None:
            self._failed(result.error)
        if not self._n.holding:
            self._n.holding = True
            self._log.error(
                "storage.spool_full",
                reason=result.where or result.error,
                held_lines=len(batch.lines),
                pending_lines=self._pending_lines,
                spool_bytes=self._spool.size_bytes,
                max_bytes=self._spool.max_bytes,
            )

    # ------------------------------------------------------------------ replayer

    async def _replay_loop(self) -> None:
        attempt = 0
        while not self._closed:
            if self._spool.count == 0:
                self._spooled.clear()
                if self._spool.count == 0:
                    await self._pause(None, self._spooled)
                continue
            try:
                result = await asyncio.to_thread(self._replay_one)
            except Exception:  # guard: a bug here must not stop the replay for good
                self._log.exception("storage.internal_error", stage="replay")
                result = _Result(_Outcome.FAILED, error="internal error")
            if result.outcome is _Outcome.FAILED:
                attempt += 1
                self._failed(result.error or "unknown")
                delay = self._backoff(attempt)
                self._log.debug("storage.replay_retry", in_s=round(delay, 2), attempt=attempt)
                if result.unreachable:
                    await self._probe_until(delay)
                else:
                    await self._pause(delay, self._stopping)
                continue
            attempt = 0
            if result.outcome is _Outcome.WRITTEN:
                self._written(result)
            elif result.outcome is _Outcome.REJECTED:
                self._rejected(result)
            self._freed.set()
            self._check_fill()
            self._maybe_accepting()
            if self._spool.count == 0 and result.outcome is not _Outcome.EMPTY:
                self._log.info("storage.spool_drained", points_written=self._n.points_written)

    def _replay_one(self) -> _Result:
        """Worker thread: write the oldest spooled batch; remove or quarantine it."""
        try:
            head = self._spool.peek()
        except OSError as exc:
            return _Result(_Outcome.FAILED, error=f"cannot read the spool: {exc}")
        if head is None:
            return _Result(_Outcome.EMPTY)
        segment, lines = head
        start = time.perf_counter()
        try:
            self._client.write("\n".join(lines))
        except BatchRejected as exc:
            path = self._spool.quarantine(segment, exc.reason)
            return _Result(_Outcome.REJECTED, len(lines), exc.reason, where=str(path))
        except StorageError as exc:
            return _Result(_Outcome.FAILED, len(lines), exc.reason, unreachable=exc.unreachable)
        latency = _ms_since(start)
        self._spool.remove(segment)
        return _Result(_Outcome.WRITTEN, len(lines), latency_ms=latency)

    # ------------------------------------------------------------------ shared

    def _written(self, result: _Result) -> None:
        n = self._n
        n.points_written += result.lines
        n.batches_written += 1
        n.last_write_latency_ms = result.latency_ms
        if n.failing:
            n.failing = False
            self._log.info(
                "storage.recovered", url=self._config.url, spool_batches=self._spool.count
            )

    def _failed(self, reason: str) -> None:
        n = self._n
        n.write_errors += 1
        n.last_error = reason
        if not n.failing:
            n.failing = True
            self._log.warning("storage.write_failed", url=self._config.url, reason=reason)

    def _rejected(self, result: _Result) -> None:
        self._log.error(
            "storage.batch_rejected", reason=result.error, lines=result.lines, kept_in=result.where
        )

    def _check_fill(self) -> None:
        ratio = self._spool.fill_ratio
        warn = self._config.spool.warn_ratio
        if ratio >= warn and not self._n.filling:
            self._n.filling = True
            self._log.warning(
                "storage.spool_filling",
                fill_ratio=round(ratio, 3),
                warn_ratio=warn,
                spool_bytes=self._spool.size_bytes,
                max_bytes=self._spool.max_bytes,
                batches=self._spool.count,
                oldest_age_s=round(self._spool.oldest_age_s(time.time()), 1),
            )
        elif ratio < warn and self._n.filling:
            self._n.filling = False
            self._log.info("storage.spool_below_warning", fill_ratio=round(ratio, 3))

    async def _probe_until(self, delay: float) -> None:
        """Wait ``delay`` s for the next replay, or less: as soon as the server listens again."""
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while not self._closed:
            left = end - loop.time()
            if left <= 0:
                return
            await self._pause(min(PROBE_INTERVAL_S, left), self._stopping)
            if self._closed or loop.time() >= end:
                return
            self._n.probes += 1
            if await asyncio.to_thread(self._listening):
                self._n.probe_recoveries += 1
                self._log.info(
                    "storage.reachable_again",
                    url=self._config.url,
                    skipped_s=round(end - loop.time(), 2),
                )
                return

    def _listening(self) -> bool:
        """Worker thread: does the database's address accept a TCP connection?"""
        parts = urlsplit(self._config.url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=min(1.0, self._config.timeout_s)):
                return True
        except OSError:
            return False

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter: uniform in [cap/2, cap]."""
        cfg = self._config
        first = min(cfg.retry_min_s, cfg.retry_max_s)
        cap = min(cfg.retry_max_s, first * 2.0 ** min(attempt - 1, 30))
        return self._rng.uniform(cap / 2, cap)

    async def _pause(self, delay: float | None, wake: asyncio.Event) -> None:
        """Wait for ``wake`` at most ``delay`` s (asyncio.timeout, unlike wait_for on 3.11,
        never swallows a cancellation that races with the event)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()

    async def _in_thread(self, fn: Callable[[_Batch, bool], _Result], *args: object) -> _Result:
        """Run a delivery in a thread; survives the caller's cancellation (close() awaits it)."""
        batch, direct = args
        assert isinstance(batch, _Batch) and isinstance(direct, bool)  # noqa: S101
        self._op = asyncio.ensure_future(asyncio.to_thread(fn, batch, direct))
        return await asyncio.shield(self._op)

    async def _final_flush(self) -> None:
        while self._inflight is not None or self._queue:
            batch = self._inflight or self._take_batch()
            self._inflight = batch
            result = await asyncio.to_thread(self._deliver, batch, self._spool.count == 0)
            if result.outcome is _Outcome.HELD:
                self._log.error(
                    "storage.close_unflushed",
                    lines=self._pending_lines,
                    reason=result.where or result.error,
                    note="not acknowledged: MQTT redelivers them",
                )
                return
            self._inflight = None
            self._finish(batch, result)

    def _log_stats(self) -> dict[str, object]:
        s = self.stats()
        return {
            "points_written": s.points_written,
            "batches_written": s.batches_written,
            "batches_spooled": s.batches_spooled,
            "write_errors": s.write_errors,
            "spool_batches": s.spool_batches,
            "spool_bytes": s.spool_bytes,
        }


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)
