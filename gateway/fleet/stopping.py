"""Stopping a service's tasks for sure. Shell helper (asyncio).

A single ``cancel()`` is not enough with nats-py on Python 3.11: its requests
and fetches wait in ``asyncio.wait_for``, which swallows a cancellation that
arrives as the awaited reply does, and the task carries on (a ``fleet run`` or
``fleet serve`` process then never exits on SIGTERM). So: cancel, wait a little,
cancel what still runs, until every task is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

RECHECK_S = 1.0


async def cancel_until_done(
    tasks: Iterable[asyncio.Task[Any]], recheck_s: float = RECHECK_S
) -> None:
    """Cancel the tasks again every ``recheck_s`` until all are done (results are not read)."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recheck_s)
