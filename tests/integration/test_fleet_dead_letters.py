"""fleet run's dead letters against a real nats-server and a real InfluxDB 1.x.

A message the worker cannot decode is kept in the dead-letter stream (with why,
and where it came from) before it is terminated; the same message rejected
twice is kept once; a dead letter the stream refuses leaves the message handed
back, to come again until it can be kept. ``fleet dead-letters`` lists and
purges them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import nats
import pytest
import yaml
from nats.js.api import DiscardPolicy, KeyValueConfig, StreamConfig
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.central_config import CentralConfig, DeadLettersConfig
from gateway.fleet.dead_letters import DeadLetters, read_dead_letters
from gateway.fleet.messages import zone_message
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer, NatsUser
from tests.integration.test_fleet_central import (
    STREAM,
    A,
    central,
    publish,
    rows,
    running,
    stream,
    wait_until,
    zone,
)

pytestmark = pytest.mark.integration
DEAD = "FLEET_DEAD"
SUBJECT = "floorwatch.ha-noi.ba-dinh.zone"
Kept = tuple[str, str | None, int | None, bytes, str]


def good_payload_of_kind(kind: str) -> bytes:
    """A zone message's payload claiming another kind: decodes only if the kind is known."""
    data = json.loads(zone_message(A, zone(1, 10)).payload)
    data["kind"] = kind
    return json.dumps(data).encode()


def test_undecodable_messages_are_kept_with_their_reason_and_terminated_good_ones_stored(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path)
    bad = [
        (SUBJECT, b"{not json"),  # seq 1
        ("floorwatch.ha-noi.ba-dinh.bogus", good_payload_of_kind("bogus")),  # seq 3
        ("floorwatch.ha-noi", b"{}"),  # seq 5: no site in the subject
    ]

    async def main() -> tuple[list[Kept], tuple[int, int], list[str], float]:
        async with stream(nats_server) as js:
            for i, (subject, payload) in enumerate(bad):  # one batch: bad, good, bad, good, bad
                await js.publish(subject, payload)
                if i < 2:
                    await publish(js, zone_message(A, zone(i + 1, 11 * (i + 1))))
            async with running(cfg) as worker:
                await wait_until(
                    "2 acked, 3 kept and rejected",
                    lambda: (
                        (
                            worker.stats.acked,
                            worker.stats.dead_lettered,
                            worker.stats.rejected,
                        )
                        == (2, 3, 3)
                    ),
                )
                info = await js.consumer_info(STREAM, cfg.nats.consumer)
                kept = await read_dead_letters(js, DEAD, 10)
                dead = await js.stream_info(DEAD, subjects_filter=">")
                return (
                    [(d.subject, d.stream, d.stream_seq, d.payload, d.reason) for d in kept],
                    (info.num_pending, info.num_ack_pending),
                    sorted(dead.state.subjects or {}),
                    dead.config.max_age or 0,
                )

    kept, lag, subjects, max_age = asyncio.run(main())
    assert lag == (0, 0)  # the bad ones are settled too: not delivered again
    assert [k[:4] for k in kept] == [
        (subject, STREAM, seq, payload)
        for (subject, payload), seq in zip(bad, (1, 3, 5), strict=True)
    ]
    reasons = [k[4] for k in kept]
    assert "not JSON" in reasons[0]
    assert "unknown kind 'bogus'" in reasons[1]
    assert "not a fleet subject" in reasons[2]
    assert subjects == ["floorwatch_dead.ha-noi.ba-dinh", "floorwatch_dead.unknown.unknown"]
    assert max_age == 30 * 86400
    assert [r[1] for r in rows(influxdb1, db, "SELECT count FROM zone_occupancy")] == [11, 22]

    path = tmp_path / "central.yaml"
    path.write_text(yaml.safe_dump({"nats": {"url": nats_server.url}}))
    listed = CliRunner().invoke(app, ["fleet", "dead-letters", "-c", str(path)])
    assert listed.exit_code == 0, listed.output
    assert "floorwatch.ha-noi.bogus" not in listed.stdout
    assert "floorwatch.ha-noi.ba-dinh.bogus" in listed.stdout
    assert "{not json" not in listed.stdout  # payloads only when asked
    shown = CliRunner().invoke(
        app, ["fleet", "dead-letters", "-c", str(path), "--json", "--show-payload", "--limit", "2"]
    )
    doc = json.loads(shown.stdout)
    assert [d["stream_seq"] for d in doc["dead_letters"]] == [3, 5]
    assert doc["dead_letters"][1]["payload"] == "{}"
    deleted = CliRunner().invoke(
        app, ["fleet", "dead-letters", "-c", str(path), "--delete", "1", "--json"]
    )
    assert [d["seq"] for d in json.loads(deleted.stdout)["dead_letters"]] == [2, 3]
    purged = CliRunner().invoke(app, ["fleet", "dead-letters", "-c", str(path), "--purge"])
    assert purged.exit_code == 0, purged.output
    assert "no dead letters in FLEET_DEAD" in purged.stdout


def test_the_same_message_rejected_twice_is_kept_once(nats_server: NatsServer) -> None:
    """Delivered again (its term lost, here a nak) and kept again: one dead letter."""
    dead = DeadLetters(DeadLettersConfig(), prefix="floorwatch", replicas=1)

    async def main() -> tuple[list[int], int]:
        async with stream(nats_server) as js:
            await js.publish(SUBJECT, b"{not json")
            psub = await js.pull_subscribe("floorwatch.>", durable="probe", stream=STREAM)
            delivered = []
            for _ in range(2):
                [msg] = await psub.fetch(1, timeout=10)
                delivered.append(msg.metadata.num_delivered)
                await dead.put(js, msg, "payload is not JSON")
                await msg.nak()
            return delivered, (await js.stream_info(DEAD)).state.messages

    assert asyncio.run(main()) == ([1, 2], 1)


def test_a_dead_letter_the_stream_refuses_leaves_the_message_to_come_again(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    """The dead-letter stream full (one message at most, new ones refused): the bad message
    is not terminated and comes again; once the stream has room it is kept and settled."""
    cfg: CentralConfig = central(nats_server.url, influxdb1.url, influxdb1_database, tmp_path)
    full = StreamConfig(
        name=DEAD, subjects=["floorwatch_dead.>"], max_msgs=1, discard=DiscardPolicy.NEW
    )

    async def main() -> tuple[tuple[int, int, int], int, tuple[int, int]]:
        async with stream(nats_server) as js:
            await js.add_stream(full)
            await js.publish("floorwatch_dead.x.y", b"earlier")
            async with running(cfg) as worker:
                await js.publish(SUBJECT, b"{not json")
                await wait_until("the bad one come again", lambda: worker.stats.redelivered >= 1)
                held = (worker.stats.rejected, worker.stats.dead_lettered, worker.stats.acked)
                await js.update_stream(dataclasses.replace(full, max_msgs=-1))
                await wait_until("kept at last", lambda: worker.stats.dead_lettered == 1)
                await wait_until("terminated", lambda: worker.stats.rejected == 1)
                info = await js.consumer_info(STREAM, cfg.nats.consumer)
                lag = (info.num_pending, info.num_ack_pending)
            return held, (await js.stream_info(DEAD)).state.messages, lag

    held, kept, lag = asyncio.run(main())
    assert held == (0, 0, 0)  # neither terminated nor acknowledged while it could not be kept
    assert kept == 2  # the earlier one and, at last, the bad one
    assert lag == (0, 0)


def test_a_worker_not_allowed_to_create_the_stream_leaves_the_message_to_come_again(
    tmp_path: Path, influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    """The dead-letter stream missing and the worker's user without the right to create it:
    the message comes again until an operator creates the stream, then it is kept."""
    worker_user = NatsUser(
        "fleet-central",
        "worker-password",
        publish=(
            *("$JS.API.INFO", "$JS.API.CONSUMER.>", "$JS.API.STREAM.INFO.>"),
            *("$JS.API.DIRECT.GET.>", "$JS.API.STREAM.MSG.GET.>", "$JS.ACK.>", "$KV.>"),
            "floorwatch_dead.>",
        ),
        subscribe=("_INBOX.>",),
    )
    admin = NatsUser("admin", "admin-password", publish=(">",), subscribe=(">",))
    server = NatsServer(tmp_path / "nats", users=(worker_user, admin))
    server.start()
    cfg = central(
        server.url,
        influxdb1.url,
        influxdb1_database,
        tmp_path / "state",
        user="fleet-central",
        password="worker-password",
    )
    dead = DeadLetters(DeadLettersConfig(), prefix="floorwatch", replicas=1)

    async def main() -> tuple[tuple[int, int], list[str]]:
        nc = await nats.connect(server.url, user="admin", password="admin-password")
        try:
            js = nc.jetstream()
            await js.add_stream(name=STREAM, subjects=["floorwatch.>"])
            await js.create_key_value(KeyValueConfig(bucket=cfg.nats.kv_bucket, history=1))
            await js.publish(SUBJECT, b"{not json")
            async with running(cfg) as worker:
                await wait_until("the bad one come again", lambda: worker.stats.redelivered >= 1)
                held = (worker.stats.rejected, worker.stats.dead_lettered)
                await js.add_stream(dead.stream_config())  # the operator creates it
                await wait_until("kept and terminated", lambda: worker.stats.rejected == 1)
            kept = await read_dead_letters(js, DEAD, 10)
            return held, [d.subject for d in kept]
        finally:
            await nc.close()

    try:
        assert asyncio.run(main()) == ((0, 0), [SUBJECT])
    finally:
        server.stop()
