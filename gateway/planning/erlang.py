"""The Erlang C queueing model. Pure module.

``N`` identical counters serve one queue in arrival order; visitors arrive at
random (Poisson) at a steady rate and stay until served; handling times are
exponentially distributed with mean ``handle_s``. The offered traffic is
``A = arrivals per second x handle_s`` (in Erlangs: counters kept busy).

The probability of waiting is computed from the Erlang B recursion
``B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1))``, which never forms ``A^N / N!``
and so stays exact for hundreds of counters, then
``C = N B / (N - A (1 - B))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErlangResult:
    """The queue of ``counters`` counters at ``traffic`` Erlangs, for one target wait."""

    counters: int
    traffic: float
    p_wait: float  # probability that an arrival waits at all
    service_level: float  # probability that the wait is at most the target
    asa_s: float  # average speed of answer: mean wait over all arrivals, seconds
    occupancy: float  # traffic / counters: share of the time a counter is busy
    stable: bool  # counters > traffic; otherwise the queue grows without bound


def traffic_erlangs(arrivals: float, period_s: float, handle_s: float) -> float:
    """Offered traffic of ``arrivals`` in ``period_s`` seconds, each taking ``handle_s``."""
    if period_s <= 0:
        raise ValueError("period_s must be > 0")
    if arrivals < 0 or handle_s < 0:
        raise ValueError("arrivals and handle_s must be >= 0")
    return arrivals * handle_s / period_s


def erlang_b(counters: int, traffic: float) -> float:
    """Blocking probability of ``counters`` servers at ``traffic`` Erlangs (no queue)."""
    _check(counters, traffic)
    b = 1.0
    for n in range(1, counters + 1):
        b = traffic * b / (n + traffic * b)
    return b


def p_wait(counters: int, traffic: float) -> float:
    """Erlang C: probability that an arrival finds every counter busy (1 when unstable)."""
    _check(counters, traffic)
    if traffic == 0:
        return 0.0
    if counters <= traffic:
        return 1.0
    b = erlang_b(counters, traffic)
    return counters * b / (counters - traffic * (1.0 - b))


def service_level(counters: int, traffic: float, handle_s: float, target_s: float) -> float:
    """Probability that the wait is at most ``target_s``: ``1 - C exp(-(N - A) t / h)``."""
    if counters <= traffic:
        return 0.0 if traffic > 0 else 1.0
    c = p_wait(counters, traffic)
    if handle_s <= 0:
        return 1.0
    return max(0.0, 1.0 - c * math.exp(-(counters - traffic) * target_s / handle_s))


def average_wait_s(counters: int, traffic: float, handle_s: float) -> float:
    """Mean wait over all arrivals, ``C h / (N - A)``; infinite when unstable."""
    if traffic == 0:
        return 0.0
    if counters <= traffic:
        return math.inf
    return p_wait(counters, traffic) * handle_s / (counters - traffic)


def evaluate(counters: int, traffic: float, handle_s: float, target_s: float) -> ErlangResult:
    """Every figure of the model for one number of counters."""
    _check(counters, traffic)
    stable = counters > traffic or traffic == 0
    return ErlangResult(
        counters=counters,
        traffic=traffic,
        p_wait=p_wait(counters, traffic),
        service_level=service_level(counters, traffic, handle_s, target_s),
        asa_s=average_wait_s(counters, traffic, handle_s),
        occupancy=(traffic / counters) if counters > 0 else (1.0 if traffic > 0 else 0.0),
        stable=stable,
    )


def counters_needed(
    traffic: float,
    handle_s: float,
    target_s: float,
    level: float,
    *,
    max_occupancy: float = 1.0,
    limit: int = 10_000,
) -> int:
    """The fewest counters whose service level reaches ``level`` (0 when there is no traffic).

    The service level rises with every added counter, so the first number that
    reaches the target is the answer. ``max_occupancy`` (<= 1) adds a cap on
    ``traffic / counters``.
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if traffic < 0:
        raise ValueError("traffic must be >= 0")
    if traffic == 0:
        return 0
    n = max(1, math.floor(traffic) + 1, math.ceil(traffic / max_occupancy))
    while n <= limit:
        if service_level(n, traffic, handle_s, target_s) >= level:
            return n
        n += 1
    raise ValueError(f"more than {limit} counters needed for {traffic:.1f} Erlangs")


def _check(counters: int, traffic: float) -> None:
    if counters < 0:
        raise ValueError("counters must be >= 0")
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError("traffic must be finite and >= 0")
