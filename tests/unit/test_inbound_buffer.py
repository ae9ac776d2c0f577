"""InboundBuffer: never blocks the MQTT thread; pauses when full, resumes at half (hysteresis)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from sensors.mqtt_source import Inbound, InboundBuffer

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _item(i: int) -> Inbound:
    return Inbound("t", str(i).encode(), T0, mid=i + 1, qos=1, generation=1)


def test_put_past_the_bound_does_not_block_and_pauses() -> None:
    buffer = InboundBuffer(10)
    for i in range(10):
        assert buffer.put(_item(i))
    assert buffer.paused and buffer.pauses == 1
    assert buffer.put(_item(10))  # the packet in hand when reading paused: kept, no wait
    assert len(buffer) == 11 and buffer.high_water == 11


def test_reading_resumes_only_at_half_and_the_loop_is_woken_once() -> None:
    async def scenario() -> list[str]:
        buffer = InboundBuffer(10)
        buffer.bind(asyncio.get_running_loop())
        woken: list[str] = []
        buffer.on_resume = lambda: woken.append("wake")
        for i in range(10):
            buffer.put(_item(i))
        got = await buffer.get_batch(4)  # 6 left: still above half
        assert [m.payload for m in got] == [b"0", b"1", b"2", b"3"]
        assert buffer.paused and woken == []
        await buffer.get_batch(1)  # 5 left: half
        assert not buffer.paused and woken == ["wake"]
        for i in range(10, 14):  # 9: below the bound, reading goes on
            buffer.put(_item(i))
        assert not buffer.paused
        buffer.put(_item(14))  # 10: full again
        assert buffer.paused and buffer.pauses == 2
        rest = await buffer.get_batch(100)
        assert [int(m.payload) for m in rest] == list(range(5, 15))  # order kept throughout
        return woken

    assert asyncio.run(scenario()) == ["wake", "wake"]


def test_a_stopping_source_puts_nothing() -> None:
    buffer = InboundBuffer(10)
    stop = threading.Event()
    stop.set()
    assert not buffer.put(_item(0), stop)
    assert len(buffer) == 0


def test_a_size_of_zero_is_refused() -> None:
    with pytest.raises(ValueError):
        InboundBuffer(0)
