"""``fleet run``'s start-up requests, tried again while the cluster cannot answer them.

Shell module (nats-py errors, asyncio). A process started with the cluster
(a site restart of everything, a node replaced, two processes creating the
same bucket at once) sends its first JetStream requests — the buckets, the
consumers — while the cluster may have no meta leader yet or has lost its
quorum: the request times out, finds no responder, or JetStream answers that
it is unavailable or has no peers to place a replicated stream on. Such a
step is tried again (1 s, doubling up to ``MAX_DELAY_S``), each wait logged
as ``fleet.start_waiting``; anything else (a permission refused, a bucket or
stream whose config is wrong) is raised as it is: a wrong config is a clear
error at start, not a process that waits for ever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors
from structlog.typing import FilteringBoundLogger

from gateway.notify.batching import backoff_s

T = TypeVar("T")

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 15.0
#: JetStream's error codes for a cluster that cannot place or answer yet:
#: 10005 no suitable peers for placement (nodes missing), 10008 cluster unavailable.
FORMING = frozenset({10005, 10008})


def unanswered(exc: BaseException) -> bool:
    """True for the errors of a cluster forming or without quorum (tried again)."""
    if isinstance(exc, nats.js.errors.ServiceUnavailableError):
        return True
    if isinstance(exc, nats.js.errors.APIError):
        return exc.err_code in FORMING
    return isinstance(exc, nats.errors.TimeoutError | nats.errors.NoRespondersError | TimeoutError)


async def until_answered(
    step: str,
    request: Callable[[], Awaitable[T]],
    log: FilteringBoundLogger,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``await request()`` until the cluster answers it; its result."""
    attempts = 0
    while True:
        try:
            return await request()
        except (nats.errors.Error, TimeoutError) as exc:
            if not unanswered(exc):
                raise
            attempts += 1
            delay = backoff_s(attempts, min_s=FIRST_DELAY_S, max_s=MAX_DELAY_S)
            log.warning(
                "fleet.start_waiting",
                step=step,
                reason=str(exc) or type(exc).__name__,
                retry_s=delay,
            )
        await sleep(delay)
