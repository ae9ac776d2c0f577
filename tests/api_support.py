"""Building the API for tests: the demo site, one token per role, the app, a live uvicorn."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.app import create_app
from api.history import HistoryReader, HistorySource
from api.readiness import ReadinessSource
from api.server import serve_api
from gateway.config_loader import load_settings
from gateway.settings import (
    ApiConfig,
    ApiToken,
    CameraConfig,
    CameraRoi,
    InfluxConfig,
    OnvifEndpoint,
    Role,
    Settings,
)
from tests.memory_floor import MemoryFloor

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"  # screenshots of the page tests (git-ignored)
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
ARGS = [  # headless as root on a machine with no outside network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (which never downloads one here)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing (Debian package 'chromium')")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """artifacts/<name>.png of the page as it is now."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


TOKENS: dict[Role, str] = {role: f"test-token-for-{role.value}-0123456789" for role in Role}
NAMES: dict[Role, str] = {
    Role.VIEWER: "Lê Thị Xem",
    Role.SUPERVISOR: "Nguyễn Văn An",
    Role.MANAGER: "Trần Quản Lý",
    Role.FACILITY: "Phạm Kỹ Thuật",
    Role.ADMIN: "Quản trị",
}
CAMERA_PASSWORD = "camera-secret-pw-42"
T = TypeVar("T")


def api_config(**overrides: Any) -> ApiConfig:
    tokens = [ApiToken(name=NAMES[r], role=r, token=SecretStr(t)) for r, t in TOKENS.items()]
    return ApiConfig(**{"host": "127.0.0.1", "port": 0, "tokens": tokens, **overrides})


@functools.cache
def demo_settings() -> Settings:
    """The demo site plus one camera with credentials (which the API must never show)."""
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    camera = CameraConfig(
        id="cam-f2-waiting",
        name="Khu chờ – camera 1",
        onvif=OnvifEndpoint(host="10.0.0.21", password=SecretStr(CAMERA_PASSWORD)),
        stream_uri=f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.21:554/stream1",
        rois=[CameraRoi(zone="f2-waiting", polygon=[(0, 0), (1, 0), (1, 1)])],
    )
    return settings.model_copy(update={"cameras": [camera]})


def unreachable_history(site: Settings) -> HistoryReader:
    """A reader of an InfluxDB that is not there (port 9 on loopback: refused)."""
    return HistoryReader(InfluxConfig(url="http://127.0.0.1:9", timeout_s=2), site.site.id)


def bearer(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def build_app(
    floor: MemoryFloor | None = None,
    *,
    site: Settings | None = None,
    history: HistorySource | None = None,
    config: ApiConfig | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sessions_path: Path | None = None,
    readiness: ReadinessSource | None = None,
) -> tuple[FastAPI, MemoryFloor, CollectorRegistry]:
    site = site or demo_settings()
    floor = floor or MemoryFloor(site, clock=clock)
    registry = CollectorRegistry()
    app = create_app(
        config or api_config(),
        site,
        floor,
        history or unreachable_history(site),
        registry,
        clock=clock,
        sessions_path=sessions_path,
        readiness=readiness,
    )
    return app, floor, registry


class LiveServer:
    """The app served by ``serve_api`` on a free loopback port, in a thread of its own.

    The floor lives on that thread's event loop; ``call`` runs a function there.
    """

    def __init__(self, app: FastAPI, config: ApiConfig, floor: MemoryFloor) -> None:
        self.app = app
        self.config = config
        self.floor = floor
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="api-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _on_started(self, port: int) -> None:
        self.port = port
        self._started.set()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(
            serve_api(self.app, self.config, on_started=self._on_started)
        )
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._started.set()
        finally:
            self._loop.close()

    def start(self, timeout_s: float = 15.0) -> LiveServer:
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise RuntimeError("the API did not start in time")
        if self._error is not None:
            raise RuntimeError("the API did not start") from self._error
        return self

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float = 10.0) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout_s)

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise RuntimeError("the API did not stop in time")

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
