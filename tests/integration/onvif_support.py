"""The virtual ONVIF camera for tests: on this loop, or on a thread of its own (for CLIs)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from pydantic import SecretStr

from cameras.simulator.onvif_server import OnvifCameraServer
from gateway.settings import CameraConfig, OnvifEndpoint

PASSWORD = "s3cret-Pw!"  # what the virtual camera accepts


def endpoint(server: OnvifCameraServer, password: str = PASSWORD, **extra: Any) -> OnvifEndpoint:
    return OnvifEndpoint.model_validate(
        {"host": "127.0.0.1", "port": server.port, "password": SecretStr(password), **extra}
    )


def camera(
    server: OnvifCameraServer,
    *,
    events: dict[str, Any] | None = None,
    password: str = PASSWORD,
    **extra: Any,
) -> CameraConfig:
    """A camera config for the virtual camera, with fast event timings."""
    fast = {"pull_timeout_s": 0.3, "retry_min_s": 0.1, "retry_max_s": 0.5, "termination_s": 10}
    onvif = {
        "host": "127.0.0.1",
        "port": server.port,
        "password": SecretStr(password),
        "events": {**fast, **(events or {})},
        **extra,
    }
    return CameraConfig.model_validate({"id": "cam-lobby", "name": "Lobby", "onvif": onvif})


@asynccontextmanager
async def virtual_camera(**kwargs: Any) -> AsyncIterator[OnvifCameraServer]:
    kwargs.setdefault("username", "admin")
    kwargs.setdefault("password", PASSWORD)
    kwargs.setdefault("stream_uri", "rtsp://127.0.0.1:8554/lobby")
    server = OnvifCameraServer(**kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Bounded wait for a condition (no bare sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.02)


@contextmanager
def camera_in_thread(
    **kwargs: Any,
) -> Iterator[tuple[OnvifCameraServer, Callable[[Callable[[], Any]], None]]]:
    """The virtual camera on its own loop in a thread; yields it and a ``call(fn)`` helper."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        async with virtual_camera(**kwargs) as server:
            holder["server"] = server
            holder["stop"] = asyncio.Event()
            ready.set()
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("virtual camera did not start")

    def call(fn: Callable[[], Any]) -> None:
        loop.call_soon_threadsafe(fn)

    try:
        yield holder["server"], call
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]
