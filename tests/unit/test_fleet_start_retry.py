"""Which start-up failures ``fleet run`` waits out (gateway.fleet.start_retry), with an injected sleep."""

from __future__ import annotations

import asyncio

import nats.errors
import nats.js.errors
import pytest
import structlog
from structlog.testing import capture_logs

from gateway.fleet.start_retry import MAX_DELAY_S, unanswered, until_answered


def no_peers() -> nats.js.errors.BadRequestError:
    return nats.js.errors.BadRequestError(
        code=400, err_code=10005, description="no suitable peers for placement"
    )


@pytest.mark.parametrize(
    ("exc", "waited"),
    [
        (nats.errors.TimeoutError(), True),
        (TimeoutError(), True),
        (nats.errors.NoRespondersError(), True),
        (nats.js.errors.ServiceUnavailableError(code=503, err_code=10008), True),
        (no_peers(), True),
        # a bucket that exists with another config: the config is wrong, not the cluster
        (
            nats.js.errors.BadRequestError(code=400, err_code=10058, description="name in use"),
            False,
        ),
        (nats.js.errors.NotFoundError(code=404, err_code=10059), False),
        (nats.errors.Error("nats: permissions violation"), False),
    ],
)
def test_only_a_cluster_that_cannot_answer_is_waited_for(exc: Exception, waited: bool) -> None:
    assert unanswered(exc) is waited


def test_a_step_is_tried_again_with_a_doubling_wait_until_answered() -> None:
    failures = [nats.errors.TimeoutError(), no_peers()] + [nats.errors.NoRespondersError()] * 4
    calls = 0
    slept: list[float] = []

    async def request() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "bucket"

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with capture_logs() as logs:
        got = asyncio.run(until_answered("site bucket", request, structlog.get_logger(), sleep))
    assert got == "bucket"
    assert calls == 7
    assert slept == [1.0, 2.0, 4.0, 8.0, MAX_DELAY_S, MAX_DELAY_S]
    assert [e["event"] for e in logs] == ["fleet.start_waiting"] * 6
    assert {e["step"] for e in logs} == {"site bucket"}
    assert "no suitable peers" in logs[1]["reason"]


def test_a_wrong_config_ends_at_once() -> None:
    slept: list[float] = []

    async def request() -> str:
        raise nats.js.errors.BadRequestError(code=400, err_code=10058, description="name in use")

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(nats.js.errors.BadRequestError, match="name in use"):
        asyncio.run(until_answered("site bucket", request, structlog.get_logger(), sleep))
    assert slept == []
