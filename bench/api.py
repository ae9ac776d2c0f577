"""API benchmark: GET /api/v1/zones under load with 200 open live streams, against a bare endpoint.

    .venv/bin/python -m bench.api [--seconds 5] [--clients 50] [--streams 200] [--alerts 20]

In one run, one server process (uvicorn on loopback ports, the demo site over
the in-memory FloorService of tests/memory_floor.py) and this load process
(httpx + asyncio):
  (a) ceilings: a bare FastAPI app answering the same JSON document as (b) (built
      once), and a 60-byte one, 50 clients each, measured before and after (b);
  (b) floorwatch's GET /api/v1/zones (8 zones, bearer token checked), 50 clients,
      while 200 live-stream clients are connected and zone events flow (2/s);
and prints requests/s and p50/p99 of each and b/a (target >= 0.5 against the
same document; the ratio to the 60-byte answer is printed too). Then it
raises alerts one by one and prints the time from raising an alert to its
arrival at every one of the 200 stream clients (target p99 <= 500 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from gateway.peers.process import free_port

HOST = "127.0.0.1"
TOKEN_HEADER = {"Authorization": "Bearer test-token-for-viewer-0123456789"}


# --------------------------------------------------------------------------- server side


def serve(api_port: int, bare_port: int) -> None:
    """The server process: floorwatch's app and the bare app, on one event loop."""
    from fastapi import FastAPI

    from api.schemas import zone_out
    from api.server import serve_api
    from gateway.live import Severity
    from gateway.logs import configure_logging
    from tests.api_support import api_config, build_app

    configure_logging(json=True, level="warning")
    config = api_config(port=api_port, max_stream_clients=1000, stream_keepalive_s=15)
    app, floor, _ = build_app(config=config)

    @app.post("/bench/raise", include_in_schema=False)
    def bench_raise(n: int) -> dict[str, float]:
        at = time.time()
        floor.raise_alert(
            f"bench:{n}", rule="bench", severity=Severity.CRITICAL, message=json.dumps({"t": at})
        )
        return {"t": at}

    bare = FastAPI()
    same_document = [zone_out(z).model_dump(mode="json") for z in floor.zones()]

    @bare.get("/bare")
    async def bare_json() -> dict[str, object]:
        return {"status": "ok", "zones": 8, "site": "demo-hcc"}

    @bare.get("/bare-zones")
    async def bare_zones() -> list[dict[str, object]]:
        return same_document  # the zones answer's document, built once

    async def ticker() -> None:
        n = 0
        while True:
            await asyncio.sleep(0.5)
            n += 1
            floor.set_count("f1-atm", n % 6)

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(serve_api(app, config))
            tg.create_task(serve_api(bare, api_config(port=bare_port)))
            tg.create_task(ticker())

    asyncio.run(main())


# --------------------------------------------------------------------------- load side


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: far cheaper than httpx,
    so that the load process measures the server, not itself."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(url: str, headers: dict[str, str], clients: int, seconds: float) -> LoadResult:
    u = httpx.URL(url)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {u.raw_path.decode()} HTTP/1.1\r\nHost: {u.host}\r\n{extra}\r\n".encode()
    conns = [RawClient(u.host, u.port or 80, request) for _ in range(clients)]
    for c in conns:  # connect and warm up
        await c.get()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(c: RawClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = await c.get()
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        await c.close()
    return LoadResult(
        len(latencies),
        elapsed,
        percentile(latencies, 0.5) * 1000,
        percentile(latencies, 0.99) * 1000,
        errors,
    )


class Streams:
    """N open live streams; each records when every bench alert reached it."""

    def __init__(self, base: str, n: int) -> None:
        self.base = base
        self.n = n
        self.arrivals: dict[str, list[float]] = {}
        self.ready = 0
        self._client = httpx.AsyncClient(
            base_url=base,
            headers=TOKEN_HEADER,
            timeout=httpx.Timeout(10, read=60),
            limits=httpx.Limits(max_connections=n + 10),
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def _one(self) -> None:
        async with self._client.stream("GET", "/api/v1/stream") as r:
            r.raise_for_status()
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "snapshot":
                        self.ready += 1
                elif line.startswith("data: ") and event == "alert":
                    now = time.time()
                    data = json.loads(line[6:])
                    alert_id = data["alert"]["id"]
                    if alert_id.startswith("bench:"):
                        self.arrivals.setdefault(alert_id, []).append(now)

    async def open(self, timeout_s: float = 30) -> None:
        self._tasks = [asyncio.create_task(self._one()) for _ in range(self.n)]
        await wait(lambda: self.ready >= self.n, timeout_s, "streams did not all open")

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()


async def wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.01)


async def fan_out(streams: Streams, base: str, alerts: int) -> list[float]:
    delays: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=TOKEN_HEADER, timeout=10) as client:
        for n in range(alerts):
            raised = (await client.post("/bench/raise", params={"n": n})).json()["t"]
            key = f"bench:{n}"
            await wait(
                lambda key=key: len(streams.arrivals.get(key, [])) >= streams.n,
                10,
                f"alert {key} did not reach every stream",
            )
            delays.extend(t - raised for t in streams.arrivals[key])
            await asyncio.sleep(0.05)
    return delays


async def run(args: argparse.Namespace, api_base: str, bare_base: str) -> int:
    # Ceilings are measured before and after (a shared machine drifts); their mean is used.
    small = [await load(f"{bare_base}/bare", {}, args.clients, args.seconds)]
    same = [await load(f"{bare_base}/bare-zones", {}, args.clients, args.seconds)]
    streams = Streams(api_base, args.streams)
    await streams.open()
    try:
        zones = await load(f"{api_base}/api/v1/zones", TOKEN_HEADER, args.clients, args.seconds)
        delays = await fan_out(streams, api_base, args.alerts)
    finally:
        await streams.close()
    small.append(await load(f"{bare_base}/bare", {}, args.clients, args.seconds))
    same.append(await load(f"{bare_base}/bare-zones", {}, args.clients, args.seconds))
    tiny, ceiling = merged(small), merged(same)
    ratio, ratio_tiny = zones.rps / ceiling.rps, zones.rps / tiny.rps
    p99 = percentile(delays, 0.99) * 1000
    c = f"{args.clients} clients"
    print(
        f"bare FastAPI, 60-byte JSON    {line(tiny)}  ({c}; runs {small[0].rps:.0f}, {small[1].rps:.0f})"
    )
    print(
        f"bare FastAPI, the same JSON   {line(ceiling)}  ({c}; runs {same[0].rps:.0f}, {same[1].rps:.0f})"
    )
    print(f"GET /api/v1/zones             {line(zones)}  ({c} + {args.streams} open streams)")
    print(
        f"ratio zones / bare same JSON  {ratio:6.2f}   (target >= 0.5: {'ok' if ratio >= 0.5 else 'MISSED'})"
    )
    print(f"ratio zones / bare 60 bytes   {ratio_tiny:6.2f}")
    print(
        f"alert fan-out to {args.streams} streams x {args.alerts} alerts:"
        f" p50 {percentile(delays, 0.5) * 1000:.1f} ms  p99 {p99:.1f} ms"
        f"  max {max(delays) * 1000:.1f} ms  (target p99 <= 500 ms: {'ok' if p99 <= 500 else 'MISSED'})"
    )
    errors = zones.errors + tiny.errors + ceiling.errors
    return 0 if ratio >= 0.5 and p99 <= 500 and errors == 0 else 1


def merged(runs: list[LoadResult]) -> LoadResult:
    return LoadResult(
        sum(r.requests for r in runs),
        sum(r.seconds for r in runs),
        max(r.p50_ms for r in runs),
        max(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
    )


def line(r: LoadResult) -> str:
    return f"{r.rps:7.0f} req/s  p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  errors {r.errors}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per endpoint")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument(
        "--serve", nargs=2, type=int, metavar=("API_PORT", "BARE_PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    api_port, bare_port = free_port(HOST), free_port(HOST)
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.api", "--serve", str(api_port), str(bare_port)]
    )
    try:
        api_base, bare_base = f"http://{HOST}:{api_port}", f"http://{HOST}:{bare_port}"
        asyncio.run(_until_up([f"{api_base}/health", f"{bare_base}/bare"], server))
        return asyncio.run(run(args, api_base, bare_base))
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


async def _until_up(urls: list[str], server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(timeout=1) as client:
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                if server.poll() is not None:
                    raise RuntimeError("the benchmark server exited")
                try:
                    if (await client.get(url)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not answer")
                await asyncio.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
