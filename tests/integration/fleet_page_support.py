"""The province page's service (``gateway.fleet.serve.serve``) on a free loopback port, in a
thread of its own, over a real nats-server; and writing sites' documents into ``fleet_sites``
as ``fleet run`` does. The clock is the test's: ages and the offline mark follow it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError
from pydantic import SecretStr

from gateway.fleet.central import encode_state
from gateway.fleet.central_config import CentralConfig, CentralSite, ProvinceApiConfig
from gateway.fleet.serve import serve
from gateway.settings import ApiToken, InfluxConfig, Role

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Hue
BUCKET = "fleet_sites"
TOKENS: dict[Role, str] = {role: f"province-token-{role.value}-0123456789" for role in Role}
WAIT_S = 30.0  # a bound on waits for events, never an expectation of speed

SITES = [
    CentralSite(
        province="hue",
        id="thuan-hoa",
        name="TT Phục vụ HCC phường Thuận Hóa",
        area="Thuận Hóa",
        control_room="http://10.20.1.10:8080/ui/",
    ),
    CentralSite(
        province="hue", id="phu-xuan", name="TT Phục vụ HCC phường Phú Xuân", area="Phú Xuân"
    ),
    CentralSite(
        province="hue", id="huong-thuy", name="TT Phục vụ HCC phường Hương Thủy", area="Hương Thủy"
    ),
    CentralSite(province="hue", id="a-luoi", name="TT Phục vụ HCC xã A Lưới", area="A Lưới"),
]


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at = self.at + timedelta(seconds=seconds)


def central_config(
    nats_url: str, influx_url: str = "http://127.0.0.1:9", db: str = "p"
) -> CentralConfig:
    tokens = [ApiToken(name=f"Sở {r.value}", role=r, token=SecretStr(t)) for r, t in TOKENS.items()]
    return CentralConfig(
        nats={"url": nats_url, "kv_bucket": BUCKET},
        influxdb=InfluxConfig(protocol="v1", url=influx_url, database=db, timeout_s=5),
        api=ProvinceApiConfig(host="127.0.0.1", port=0, tokens=tokens, stream_keepalive_s=2),
        overview={"offline_after_s": 600},
        sites=SITES,
    )


def zone_doc(
    at: datetime, occupancy: int | None, level: str | None, wait: float | None
) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "occupancy": occupancy,
        "capacity_ratio": None if occupancy is None else occupancy / 180,
        "level": level,
        "expected_wait_s": wait,
    }


def site_doc(
    key: str,
    at: datetime,
    zones: dict[str, tuple[int | None, str | None, float | None]],
    *,
    alerts: dict[str, str] | None = None,
    devices: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """A fleet_sites document in fleet run's shape (gateway.fleet.central.merge_site_state)."""
    province, _, site = key.partition(".")
    stamp = at.isoformat()
    return {
        "v": 1,
        "province": province,
        "site": site,
        "last_seen": stamp,
        "kinds": {"zone": {"at": stamp, "id": next(iter(zones), None)}},
        "zones": {z: zone_doc(at, *v) for z, v in zones.items()},
        "devices": {
            d: {"at": stamp, "online": up, "detail": "" if up else "no frames"}
            for d, up in (devices or {}).items()
        },
        "alerts": {
            a: {
                "at": stamp,
                "rule": "crowd_level",
                "severity": severity,
                "state": "active",
                "zone_id": "waiting",
                "device_id": None,
            }
            for a, severity in (alerts or {}).items()
        },
        "closed_alerts": {},
    }


async def _put(url: str, docs: dict[str, dict[str, Any] | None]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            kv = await js.key_value(BUCKET)
        except BucketNotFoundError:
            kv = await js.create_key_value(KeyValueConfig(bucket=BUCKET, history=1))
        for key, doc in docs.items():
            if doc is None:
                await kv.delete(key)
            else:
                await kv.put(key, encode_state(doc))
    finally:
        await nc.close()


def put_states(url: str, docs: dict[str, dict[str, Any] | None]) -> None:
    """Write (or, for None, delete) documents in the bucket, as fleet run's workers do.

    On a thread of its own: Playwright's sync API keeps an event loop on the test's thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(_put(url, docs))).result(WAIT_S)


class PageServer:
    """``serve(cfg)`` on its own event loop in a thread; ``stop()`` cancels it."""

    def __init__(self, cfg: CentralConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.port = 0
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fleet-page", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _on_started(self, port: int) -> None:
        self.port = port
        self._started.set()

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(
                serve(self.cfg, on_started=self._on_started, clock=self.clock)
            )
            await self._task

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._started.set()

    def start(self) -> PageServer:
        self._thread.start()
        if not self._started.wait(WAIT_S) or self._error is not None:
            raise RuntimeError("the province page did not start") from self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(WAIT_S)
        if self._thread.is_alive():
            raise RuntimeError("the province page did not stop in time")

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
