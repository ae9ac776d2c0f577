"""cancel_until_done ends a task that swallows a cancellation (as nats-py's wait_for can)."""

from __future__ import annotations

import asyncio

from gateway.fleet.stopping import cancel_until_done


async def stubborn(swallow: int, seen: list[int]) -> None:
    """Swallows the first ``swallow`` cancellations, then lets one through."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append(1)
            if len(seen) > swallow:
                raise


def test_a_task_that_swallows_two_cancellations_is_ended() -> None:
    async def main() -> tuple[bool, int]:
        seen: list[int] = []
        task = asyncio.create_task(stubborn(2, seen))
        await asyncio.sleep(0)
        await cancel_until_done([task], recheck_s=0.01)
        return task.cancelled(), len(seen)

    assert asyncio.run(main()) == (True, 3)


def test_one_cancel_alone_leaves_such_a_task_running() -> None:
    """Why the helper exists: a single cancel and a wait leave the task alive."""

    async def main() -> bool:
        seen: list[int] = []
        task = asyncio.create_task(stubborn(1, seen))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
        alive = not task.done()
        await cancel_until_done([task], recheck_s=0.01)
        return alive

    assert asyncio.run(main()) is True


def test_done_tasks_and_no_tasks_return_at_once() -> None:
    async def main() -> bool:
        task = asyncio.create_task(asyncio.sleep(0))
        await task
        await cancel_until_done([task])
        await cancel_until_done([])
        return task.done() and not task.cancelled()

    assert asyncio.run(main())
