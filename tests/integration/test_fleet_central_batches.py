"""``fleet run``'s worker with batches in flight and a failed batch handed back (nak).

Real nats-server and InfluxDB 1.x, the helpers of test_fleet_central.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from gateway.fleet import central_worker
from gateway.fleet.messages import FleetRecord, zone_message
from gateway.fleet.site_sync import SiteSync
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from tests.integration.test_fleet_central import (
    STREAM,
    A,
    B,
    central,
    publish,
    rows,
    running,
    stream,
    wait_until,
    zone,
)


class FailsOnce(SiteSync):
    """The bucket does not answer the first fold (as a lost node would)."""

    failed = 0

    async def fold(
        self, records: list[FleetRecord], until: asyncio.Future[None] | None = None
    ) -> int:
        if not FailsOnce.failed:
            FailsOnce.failed += 1
            raise nats.errors.TimeoutError
        return await super().fold(records, until)


def test_a_failed_batch_is_handed_back_at_once_not_after_the_ack_wait(
    nats_server: NatsServer,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an ack wait of 1 hour: only the nak can bring the batch back within the test's waits
    cfg = central(nats_server.url, influxdb1.url, influxdb1_database, tmp_path, ack_wait_s=3600)
    monkeypatch.setattr(central_worker, "SiteSync", FailsOnce)

    async def main() -> tuple[Any, ...]:
        async with stream(nats_server) as js, running(cfg) as worker:
            await publish(js, *(zone_message(A, zone(i, i, f"z{i}")) for i in range(3)))
            await wait_until("3 acked", lambda: worker.stats.acked == 3)
            info = await js.consumer_info(STREAM, cfg.nats.consumer)
            state = json.loads(
                (await (await js.key_value("fleet_sites")).get(f"{A.province}.{A.site}")).value
                or b""
            )
            s = worker.stats
            return s.errors, s.nacked, s.redelivered, info.num_ack_pending, set(state["zones"])

    errors, nacked, redelivered, ack_pending, zones = asyncio.run(main())
    assert (errors, ack_pending) == (1, 0)
    assert 1 <= nacked == redelivered <= 3  # the failed batch (the first fetch's), once more
    assert zones == {"z0", "z1", "z2"}
    got = rows(influxdb1, influxdb1_database, "SELECT count FROM zone_occupancy GROUP BY zone")
    assert sorted(r[1] for r in got) == [0, 1, 2]  # stored once each


def test_batches_in_flight_store_each_message_once_and_fold_every_zone(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    """Small batches, 4 in flight: the same sites in every batch, one worker."""
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path, batch=5, in_flight=4)
    n = 120

    async def main() -> tuple[Any, ...]:
        async with stream(nats_server) as js:
            messages = [
                zone_message(s, zone(i, i % 100, f"z{i}")) for i in range(n) for s in (A, B)
            ]
            await publish(js, *messages)
            async with running(cfg) as worker:
                await wait_until(f"{2 * n} acked", lambda: worker.stats.acked == 2 * n)
                kv = await js.key_value("fleet_sites")
                states = [
                    json.loads((await kv.get(f"{s.province}.{s.site}")).value or b"")
                    for s in (A, B)
                ]
                info = await js.consumer_info(STREAM, cfg.nats.consumer)
                s = worker.stats
                return s.state_conflicts, s.errors, info.num_ack_pending, states

    conflicts, errors, ack_pending, states = asyncio.run(main())
    assert (conflicts, errors, ack_pending) == (0, 0, 0)
    for state in states:
        assert set(state["zones"]) == {f"z{i}" for i in range(n)}
    got = rows(influxdb1, db, "SELECT count(count) FROM zone_occupancy")
    assert got[0][1] == 2 * n


@pytest.mark.parametrize(("before", "after"), [(None, -1), (5000, 5000), (-1, -1)])
def test_a_consumers_ack_pending_limit_below_the_batches_in_flight_is_lifted(
    nats_server: NatsServer,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path: Path,
    before: int | None,
    after: int,
) -> None:
    """A consumer an older worker created has JetStream's default limit (1,000 unacked):
    under 100 x 20 in flight it is lifted; a limit at or above that is the operator's."""
    cfg = central(
        nats_server.url, influxdb1.url, influxdb1_database, tmp_path, batch=100, in_flight=20
    )

    async def main() -> int | None:
        async with stream(nats_server) as js:
            config = ConsumerConfig(durable_name=cfg.nats.consumer, ack_policy=AckPolicy.EXPLICIT)
            if before is not None:
                config.max_ack_pending = before
            await js.add_consumer(STREAM, config=config)
            async with running(cfg) as worker:
                await publish(js, zone_message(A, zone(1, 10)))
                await wait_until("1 acked", lambda: worker.stats.acked == 1)
            info = await js.consumer_info(STREAM, cfg.nats.consumer)
            limit: int | None = info.config.max_ack_pending
            return limit

    assert asyncio.run(main()) == after


@pytest.mark.parametrize("existing", [None, "floorwatch.>"])
def test_the_consumer_is_created_without_a_filter_and_an_existing_one_kept(
    nats_server: NatsServer,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    tmp_path: Path,
    existing: str | None,
) -> None:
    """The stream holds only the sites' messages: a new consumer takes them all without a
    filter subject (a filtered one makes each consumer info scan the stream); a consumer
    an older worker created with ``<prefix>.>`` is bound as it is and reads the same."""
    cfg = central(nats_server.url, influxdb1.url, influxdb1_database, tmp_path)

    async def main() -> tuple[str | None, int]:
        async with stream(nats_server) as js:
            if existing is not None:
                config = ConsumerConfig(
                    durable_name=cfg.nats.consumer,
                    ack_policy=AckPolicy.EXPLICIT,
                    filter_subject=existing,
                )
                await js.add_consumer(STREAM, config=config)
            async with running(cfg) as worker:
                await publish(js, zone_message(A, zone(1, 10)), zone_message(B, zone(2, 10)))
                await wait_until("2 acked", lambda: worker.stats.acked == 2)
            info = await js.consumer_info(STREAM, cfg.nats.consumer)
            return info.config.filter_subject, info.num_ack_pending or 0

    filter_subject, ack_pending = asyncio.run(main())
    assert filter_subject == existing
    assert ack_pending == 0
