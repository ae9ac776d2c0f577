"""Capped exponential backoff with jitter. Pure module: randomness is passed in."""

from __future__ import annotations

from collections.abc import Callable


def backoff_delay(attempt: int, base_s: float, cap_s: float, rand: Callable[[], float]) -> float:
    """Delay before reconnect attempt ``attempt`` (0-based): "equal jitter".

    Half of the capped exponential delay is fixed, the other half random, so
    a fleet of gateways that lost the same broker does not come back in step,
    and no attempt follows the previous one immediately.
    """
    ceiling = min(cap_s, base_s * float(2 ** min(attempt, 30)))
    half = ceiling / 2
    return half + half * rand()
