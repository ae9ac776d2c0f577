"""The MQTT source against a real mosquitto: TLS, a password, the persistent session, acks.

The source runs in-process here (the gateway's tests run ``floorwatch run``);
a paho client publishes through the same TLS listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from gateway.peers.mosquitto import ListenerTls, MosquittoServer
from gateway.settings import MqttConfig, TlsConfig
from sensors.mqtt_socket import BufferedSocket
from sensors.mqtt_source import Inbound, InboundBuffer, MqttSource
from tests.peers.certs import ServerCertificates

USER, PASSWORD = "gateway", "mật khẩu: 7"
BACKLOG = 5000


@pytest.fixture
def tls_broker(tmp_path: Path, test_certificates: ServerCertificates) -> Iterator[MosquittoServer]:
    tls = ListenerTls(test_certificates.cert, test_certificates.key)
    server = MosquittoServer(tmp_path / "broker", username=USER, password=PASSWORD, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _config(
    broker: MosquittoServer,
    client_id: str,
    certs: ServerCertificates | None = None,
    password: str = PASSWORD,
) -> MqttConfig:
    """The source's config: TLS and a password when ``certs`` are given, else plain and anonymous."""
    secured: dict[str, Any] = {}
    if certs is not None:
        secured = {
            "username": USER,
            "password": SecretStr(password),
            "tls": TlsConfig(enabled=True, ca_file=certs.ca),
        }
    return MqttConfig(
        host=broker.host,
        port=broker.port,
        client_id=client_id,
        reconnect_min_s=0.2,
        reconnect_max_s=0.5,
        **secured,
    )


@contextlib.asynccontextmanager
async def running(
    config: MqttConfig, topic: str, queue_size: int = 100_000
) -> AsyncIterator[tuple[MqttSource, InboundBuffer]]:
    buffer = InboundBuffer(queue_size)
    buffer.bind(asyncio.get_running_loop())
    source = MqttSource(
        config, status_topic=f"{topic}-status", filters=[f"{topic}/#"], buffer=buffer
    )
    task = asyncio.create_task(source.run())
    try:
        yield source, buffer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(
    condition: Callable[[], bool], timeout_s: float = 10, state: Callable[[], object] = str
) -> None:
    """Wait for a condition on the MQTT thread's state (no event to await across threads)."""
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout_s} s; state: {state()}")


async def wait_connected(source: MqttSource) -> None:
    """Connected and subscribed: the broker's SUBACK has come back."""
    await until(lambda: source.subscribed, state=lambda: (source.connected, source.stats))


async def take(buffer: InboundBuffer, n: int, timeout_s: float = 30) -> list[Inbound]:
    got: list[Inbound] = []
    async with asyncio.timeout(timeout_s):
        while len(got) < n:
            got += await buffer.get_batch(n - len(got))
    return got


def publish(
    broker: MosquittoServer,
    messages: list[tuple[str, bytes]],
    certs: ServerCertificates | None = None,
) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    if certs is not None:
        client.username_pw_set(USER, PASSWORD)
        client.tls_set(ca_certs=str(certs.ca), cert_reqs=ssl.CERT_REQUIRED)
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


async def _backlog_then_ack(
    broker: MosquittoServer, config: MqttConfig, topic: str, certs: ServerCertificates | None
) -> BufferedSocket:
    """Publish a backlog while the gateway is away; take it all, ack it; return the socket."""
    async with running(config, topic) as (source, _):
        await wait_connected(source)  # the persistent session and its subscription
    messages = [(f"{topic}/s{i % 7}", f'{{"seq":{i}}}'.encode()) for i in range(BACKLOG)]
    await asyncio.to_thread(publish, broker, messages, certs)

    async with running(config, topic) as (source, buffer):
        got = await take(buffer, BACKLOG)
        assert [(m.topic, m.payload) for m in got] == messages  # all of it, in order, intact
        sock = source._client.socket() if source._client else None  # noqa: SLF001
        assert isinstance(sock, BufferedSocket)
        # the PUBLISHes were read by the gateway's loop, not one by one by paho (which
        # reads a packet of its own now and then, when it awaits PUBACKs of its own)
        loop = source._loop  # noqa: SLF001
        assert loop is not None and loop.fast_publishes >= BACKLOG - 10
        source.ack(got)
        await until(lambda: not sock.has_output and source.stats.acks_sent == BACKLOG)
        # the batch's PUBACKs went out in few writes, not one each (the MQTT thread
        # writes while the event loop still queues them: 2 writes when idle,
        # ~300 seen on a loaded machine)
        assert sock.send_calls < BACKLOG / 5

    # A new connection of the same session: the broker holds nothing unacknowledged.
    async with running(config, topic) as (source, buffer):
        await wait_connected(source)
        await asyncio.to_thread(publish, broker, [(f"{topic}/end", b"end")], certs)
        first = await take(buffer, 1)
        assert (first[0].topic, first[0].payload) == (f"{topic}/end", b"end")
    return sock


def test_a_backlog_arrives_in_few_reads_and_its_acks_in_few_writes(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    config = _config(mosquitto, f"fw-plain-{topic_prefix[-8:]}")
    sock = asyncio.run(_backlog_then_ack(mosquitto, config, topic_prefix, None))
    # one read takes many packets, where paho alone makes three or four reads of each
    assert sock.recv_calls < BACKLOG / 20


def test_tls_with_a_password_carries_the_backlog_and_its_acks(
    tls_broker: MosquittoServer, test_certificates: ServerCertificates, topic_prefix: str
) -> None:
    config = _config(tls_broker, "fw-tls", test_certificates)
    sock = asyncio.run(_backlog_then_ack(tls_broker, config, topic_prefix, test_certificates))
    # mosquitto writes a TLS record per packet and an SSL read returns one record, so
    # about one read per packet, plus reads that found nothing yet (more on a loaded
    # machine: 15 seen); paho alone makes three or four reads of each packet
    assert isinstance(sock.inner, ssl.SSLSocket)
    assert sock.recv_calls < 2 * BACKLOG


def test_unacknowledged_messages_come_again_on_the_next_connection(
    tls_broker: MosquittoServer, test_certificates: ServerCertificates, topic_prefix: str
) -> None:
    async def scenario() -> None:
        config = _config(tls_broker, "fw-redeliver", test_certificates)
        messages = [(f"{topic_prefix}/door", f'{{"in":{i}}}'.encode()) for i in range(300)]
        async with running(config, topic_prefix) as (source, buffer):
            await wait_connected(source)
            await asyncio.to_thread(publish, tls_broker, messages, test_certificates)
            got = await take(buffer, len(messages))
            sock = source._client.socket() if source._client else None  # noqa: SLF001
            assert isinstance(sock, BufferedSocket)
            source.ack(got[:100])  # the rest is not durable yet when the gateway goes
            # written to the kernel before the DISCONNECT, on the same stream
            await until(lambda: source.stats.acks_sent == 100 and not sock.has_output)
        async with running(config, topic_prefix) as (source, buffer):
            again = await take(buffer, 200)
            assert [m.payload for m in again] == [p for _, p in messages[100:]]

    asyncio.run(scenario())


def test_acks_for_an_ended_connection_are_dropped_and_the_messages_come_again(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    # Packet ids belong to a connection: acks queued for one that has ended (a
    # batch that became durable just as the link dropped) must not be written
    # on the next, where the same ids name other deliveries.
    config = _config(mosquitto, f"fw-stale-{topic_prefix[-8:]}")
    messages = [(f"{topic_prefix}/s", f'{{"seq":{i}}}'.encode()) for i in range(50)]

    async def scenario() -> None:
        async with running(config, topic_prefix) as (source, buffer):
            await wait_connected(source)
            await asyncio.to_thread(publish, mosquitto, messages)
            got = await take(buffer, len(messages))
            assert {m.generation for m in got} == {1}
            sock = source._client.socket() if source._client else None  # noqa: SLF001
            loop = source._loop  # noqa: SLF001
            assert isinstance(sock, BufferedSocket) and loop is not None
            sock.inner.shutdown(socket.SHUT_RDWR)  # the link drops; the source reconnects
            again = await take(buffer, len(messages))  # redelivered: nothing was acked
            assert [m.payload for m in again] == [p for _, p in messages]
            assert {m.generation for m in again} == {2}
            loop.queue_acks(1, [m.mid for m in got])  # queued for connection 1, too late
            source.ack(got)  # and through the source, which knows their connection ended
            await until(lambda: loop.stale_acks == len(messages))
            assert source.stats.acks_dropped == 2 * len(messages)
            assert source.stats.acks_sent == 0

    asyncio.run(scenario())


def test_a_wrong_password_is_refused_and_retried_without_crashing(
    tls_broker: MosquittoServer, test_certificates: ServerCertificates, topic_prefix: str
) -> None:
    async def scenario() -> None:
        config = _config(tls_broker, "fw-wrong", test_certificates, password="not it")
        async with running(config, topic_prefix) as (source, _):
            await until(lambda: source.stats.connect_failures >= 2)
            assert not source.connected
            assert source.stats.connects == 0

    asyncio.run(scenario())


def test_a_broker_without_tls_is_a_connect_failure_not_a_crash(
    mosquitto: MosquittoServer, test_certificates: ServerCertificates, topic_prefix: str
) -> None:
    async def scenario() -> None:
        config = _config(mosquitto, "fw-notls", test_certificates)  # plain listener, TLS client
        async with running(config, topic_prefix) as (source, _):
            await until(lambda: source.stats.connect_failures >= 2)
            assert not source.connected

    asyncio.run(scenario())


def runs(values: list[bytes]) -> list[bytes]:
    """``values`` with repeats in a row folded into one (QoS 1 may deliver twice)."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def test_status_topic_online_will_on_a_dropped_link_and_offline_on_stop(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    seen: list[bytes] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{topic_prefix[-8:]}")
    watcher.on_message = lambda _c, _u, m: seen.append(bytes(m.payload))
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.subscribe(f"{topic_prefix}-status", qos=1)
    watcher.loop_start()

    async def scenario() -> None:
        config = _config(mosquitto, f"fw-will-{topic_prefix[-8:]}")
        async with running(config, topic_prefix) as (source, _):
            await until(lambda: seen == [b"online"], state=lambda: seen)
            # the link drops with no DISCONNECT (a cable, a crash): the broker sends the will
            sock = source._client.socket() if source._client else None  # noqa: SLF001
            assert isinstance(sock, BufferedSocket)
            sock.inner.shutdown(socket.SHUT_RDWR)
            # the will, then online again (twice if the first PUBACK was lost with the
            # link: paho sends that unacknowledged QoS 1 message again, as it must)
            await until(
                lambda: runs(seen) == [b"online", b"offline", b"online"], state=lambda: seen
            )
            assert source.stats.connects == 2
        await until(lambda: seen[-1:] == [b"offline"], state=lambda: seen)  # a clean stop says so
        assert runs(seen) == [b"online", b"offline", b"online", b"offline"]

    try:
        asyncio.run(scenario())
    finally:
        watcher.loop_stop()
        watcher.disconnect()


def test_an_idle_connection_is_kept_alive_by_pings(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    # mosquitto drops a client silent for 1.5 keepalives (it checks lazily: a
    # loop without pings was dropped after 12 s with a 5 s keepalive), so the
    # loop must write paho's PINGREQ and read the PINGRESP while nothing flows.
    config = _config(mosquitto, f"fw-ping-{topic_prefix[-8:]}").model_copy(
        update={"keepalive_s": 5}
    )

    async def scenario() -> None:
        async with running(config, topic_prefix) as (source, buffer):
            await wait_connected(source)
            sock = source._client.socket() if source._client else None  # noqa: SLF001
            assert isinstance(sock, BufferedSocket)
            # idle: every write is one of paho's PINGREQs (one each keepalive); three
            # of them span more than the 1.5 keepalives mosquitto allows a silent client
            writes, reads = sock.send_calls, sock.recv_calls
            await until(lambda: sock.send_calls >= writes + 3, timeout_s=60)
            assert sock.recv_calls >= reads + 2  # the PINGRESPs were read
            assert source.connected and source.stats.connects == 1
            await asyncio.to_thread(publish, mosquitto, [(f"{topic_prefix}/x", b"still here")])
            got = await take(buffer, 1)
            assert got[0].payload == b"still here"

    asyncio.run(scenario())


def _broker_lines(broker: MosquittoServer, client_id: str) -> list[str]:
    text = broker.log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if client_id in line]


def test_a_full_buffer_pauses_reading_and_keeps_the_session_alive(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    # The consumer takes nothing for more than 1.5 keepalives (mosquitto's
    # limit): the MQTT thread must stop reading without going silent, or the
    # broker drops the gateway and redelivers everything unacknowledged.
    keepalive = 5
    client_id = f"fw-pause-{topic_prefix[-8:]}"
    config = _config(mosquitto, client_id).model_copy(update={"keepalive_s": keepalive})
    n, queue = 3000, 50
    messages = [(f"{topic_prefix}/s{i % 5}", f'{{"seq":{i}}}'.encode()) for i in range(n)]

    async def scenario() -> None:
        async with running(config, topic_prefix, queue_size=queue) as (source, buffer):
            await wait_connected(source)
            await asyncio.to_thread(publish, mosquitto, messages)
            # paused for three keepalives, with a ping every half keepalive (mosquitto
            # checks lazily: a silent client was dropped between 1.5 and 2.5 keepalives)
            await until(
                lambda: source.paused_for_s() >= 3 * keepalive and source.paused_pings >= 6,
                timeout_s=60,
                state=lambda: (len(buffer), source.paused_for_s(), source.paused_pings),
            )
            assert source.reading_paused and buffer.paused
            assert len(buffer) <= queue + 1  # nothing read past the packet in hand
            assert source.connected and source.stats.connects == 1
            assert not any("exceeded timeout" in ln for ln in _broker_lines(mosquitto, client_id))
            # the consumer comes back: everything arrives once, in order, on the same link
            got: list[Inbound] = []
            async with asyncio.timeout(60):
                while len(got) < n:
                    batch = await buffer.get_batch(20)
                    source.ack(batch)
                    got += batch
            assert [(m.topic, m.payload) for m in got] == messages
            assert not source.reading_paused
            assert source.stats.connects == 1 and source.stats.messages_in == n
            assert buffer.pauses >= 1
            await until(lambda: source.stats.acks_sent == n)
        lines = _broker_lines(mosquitto, client_id)
        assert sum("New client connected" in ln for ln in lines) == 1, lines
        assert not any("exceeded timeout" in ln for ln in lines), lines

        # the same session again: the broker holds nothing that was not acknowledged
        async with running(config, topic_prefix) as (source, buffer):
            await wait_connected(source)
            await asyncio.to_thread(publish, mosquitto, [(f"{topic_prefix}/end", b"end")])
            first = await take(buffer, 1)
            assert (first[0].topic, first[0].payload) == (f"{topic_prefix}/end", b"end")

    asyncio.run(scenario())


def test_a_backlog_drained_slowly_for_many_keepalives_keeps_the_link(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    # The broker queues its PINGRESP behind the backlog it is sending, so the answer
    # to paho's PINGREQ comes only when the gateway has read that far. paho keeps the
    # link while bytes arrive; the PUBLISHes the loop reads itself must count as such,
    # or paho drops the link two keepalives into the drain and everything unacked
    # comes again. The consumer takes 100 messages every 0.1 s (or slower on a
    # loaded machine): reading pauses and resumes for three keepalives or more.
    keepalive = 5
    client_id = f"fw-drain-{topic_prefix[-8:]}"
    config = _config(mosquitto, client_id).model_copy(update={"keepalive_s": keepalive})
    n = 3 * keepalive * 1000  # 15 s of draining at 1,000 a second: three keepalives
    messages = [(f"{topic_prefix}/s{i % 5}", f'{{"seq":{i}}}'.encode()) for i in range(n)]

    async def scenario() -> None:
        async with running(config, topic_prefix) as (source, _):
            await wait_connected(source)  # the persistent session and its subscription
        await asyncio.to_thread(publish, mosquitto, messages)
        async with running(config, topic_prefix, queue_size=1000) as (source, buffer):
            got: list[Inbound] = []
            async with asyncio.timeout(120):
                while len(got) < n:
                    batch = await buffer.get_batch(100)
                    source.ack(batch)
                    got += batch
                    await asyncio.sleep(0.1)  # a slow consumer (the scenario, not a wait)
            assert [(m.topic, m.payload) for m in got] == messages  # once each, in order
            assert source.stats.connects == 1 and source.stats.messages_in == n
        lines = _broker_lines(mosquitto, client_id)
        assert sum("New client connected" in ln for ln in lines) == 2, lines  # one per run

    asyncio.run(scenario())


def test_a_stalled_broker_holds_the_socket_output_at_its_bound(
    mosquitto_fresh: MosquittoServer, topic_prefix: str
) -> None:
    # mosquitto stopped (SIGSTOP) reads nothing: the kernel buffers fill, then
    # the wrapper's output buffer up to its bound, then paho keeps the rest of
    # its packets. After SIGCONT every message arrives intact and in order:
    # the partial writes did not cut a packet.
    broker = mosquitto_fresh
    n, size = 2500, 8 * 1024
    received: list[bytes] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"stall-{topic_prefix[-8:]}")
    watcher.on_message = lambda _c, _u, m: received.append(bytes(m.payload))
    subscribed = threading.Event()
    watcher.on_subscribe = lambda *_a: subscribed.set()
    watcher.connect(broker.host, broker.port)
    watcher.subscribe(f"{topic_prefix}/out", qos=0)
    watcher.loop_start()
    assert subscribed.wait(10)
    proc = broker._process.proc  # noqa: SLF001
    assert proc is not None
    payloads = [i.to_bytes(4, "big") + bytes([i % 251]) * (size - 4) for i in range(n)]

    async def scenario() -> None:
        config = _config(broker, f"fw-stall-{topic_prefix[-8:]}")
        async with running(config, topic_prefix) as (source, _):
            await wait_connected(source)
            sock = source._client.socket() if source._client else None  # noqa: SLF001
            assert isinstance(sock, BufferedSocket)
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                for payload in payloads:  # 20 MiB, more than the kernel buffers hold
                    source.publish(f"{topic_prefix}/out", payload, qos=0)
                await until(lambda: sock.send_refusals > 0, state=lambda: sock.output_bytes)
                assert sock.output_high_water <= sock.max_output
                assert source._client is not None and source._client.want_write()  # noqa: SLF001
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            await until(lambda: len(received) == n, timeout_s=60, state=lambda: len(received))
            assert sock.output_high_water <= sock.max_output
            assert source.stats.connects == 1

    try:
        asyncio.run(scenario())
    finally:
        watcher.loop_stop()
        watcher.disconnect()
    assert received == payloads


def test_mqtt_5_subscribes_receives_and_keeps_its_session(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    config = _config(mosquitto, f"fw-v5-{topic_prefix[-8:]}").model_copy(
        update={"protocol": "5", "session_expiry_s": 300}
    )
    messages = [(f"{topic_prefix}/v5", f"{i}".encode()) for i in range(100)]

    async def scenario() -> None:
        async with running(config, topic_prefix) as (source, buffer):
            await wait_connected(source)  # SUBACK with MQTT 5 reason codes
            await asyncio.to_thread(publish, mosquitto, messages)
            got = await take(buffer, len(messages))
            assert [m.payload for m in got] == [p for _, p in messages]
            source.ack(got)
            await until(lambda: source.stats.acks_sent == len(messages))
        async with running(config, topic_prefix) as (source, buffer):
            await wait_connected(source)
            await asyncio.to_thread(publish, mosquitto, [(f"{topic_prefix}/v5", b"end")])
            [first] = await take(buffer, 1)
            assert first.payload == b"end"  # the session kept nothing unacknowledged

    asyncio.run(scenario())
