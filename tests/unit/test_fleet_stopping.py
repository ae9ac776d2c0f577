"""cancel_until_done ends a task that swallows a cancellation (as nats-py's wait_for can);
stop_if_asked ends a loop whose cancellation was swallowed."""

from __future__ import annotations

import asyncio
import sys

from gateway.fleet.stopping import cancel_until_done, stop_if_asked


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


def test_a_loop_whose_stop_came_with_the_reply_stops_at_its_check() -> None:
    """The reply and the cancellation in the same turn: Python 3.11's wait_for returns the
    reply and loses the CancelledError; the check after the request raises it."""

    async def main() -> tuple[list[int], bool, bool]:
        loop = asyncio.get_running_loop()
        replies: list[int] = []
        reply: asyncio.Future[int] = loop.create_future()
        checked = False

        async def requests() -> None:
            nonlocal checked
            while True:
                replies.append(await asyncio.wait_for(reply, 10))
                checked = True
                stop_if_asked()
                await asyncio.sleep(3600)  # (never reached once stopped)

        task = asyncio.create_task(requests())
        await asyncio.sleep(0)  # the task waits for its reply
        reply.set_result(7)
        task.cancel()
        await asyncio.wait({task}, timeout=10)
        return replies, checked, task.cancelled()

    replies, checked, cancelled = asyncio.run(main())
    assert cancelled
    if sys.version_info < (3, 12):  # the reply came through; only the check stopped it
        assert (replies, checked) == ([7], True)


def test_a_task_never_asked_to_stop_passes_the_check() -> None:
    async def main() -> str:
        stop_if_asked()
        return "went on"

    assert asyncio.run(main()) == "went on"
