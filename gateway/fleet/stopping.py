"""Stopping a service's tasks for sure. Shell helper (asyncio).

A single ``cancel()`` is not enough with nats-py on Python 3.11: its requests
and fetches wait in ``asyncio.wait_for``, which swallows a cancellation that
arrives as the awaited reply does, and the task carries on (a ``fleet run`` or
``fleet serve`` process then never exits on SIGTERM). So: cancel, wait a little,
cancel what still runs, until every task is done.

Where a TaskGroup cancels a loop of requests once (the site gateway, the fleet
demo), the loop itself calls ``stop_if_asked()`` after each request instead.
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


def stop_if_asked() -> None:
    """Raise CancelledError when the current task was asked to stop and carries on.

    Python 3.11's ``asyncio.wait_for`` returns the reply when a cancellation arrives
    with it, and the CancelledError is lost; the task's ``cancelling()`` count still
    says a stop was asked (nobody called ``uncancel()``). A loop of nats-py requests
    under a TaskGroup, which cancels each child once, calls this after each request.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
