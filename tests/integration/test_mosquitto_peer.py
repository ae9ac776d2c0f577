"""The mosquitto launcher against the real broker: QoS 1, persistent sessions, the tuning."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.peers.mosquitto import MOSQUITTO_TUNING, MosquittoServer
from gateway.peers.process import PeerError

pytestmark = pytest.mark.integration

WAIT_S = 30.0


class Subscriber:
    """A paho QoS 1 client that records every payload it is delivered."""

    def __init__(
        self,
        broker: MosquittoServer,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.broker = broker
        self.payloads: list[bytes] = []
        self.session_present: bool | None = None
        self.connect_reason: str | None = None
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        with self._changed:
            self.session_present = bool(flags.session_present)
            self.connect_reason = str(reason)
            self._changed.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, _codes: Any, _p: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.payloads.append(bytes(message.payload))
            self._changed.notify_all()

    def connect(self) -> str:
        """Connect and wait for the CONNACK; the broker's reason as text."""
        self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        with self._changed:
            assert self._changed.wait_for(lambda: self.connect_reason is not None, WAIT_S)
            assert self.connect_reason is not None
            return self.connect_reason

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(WAIT_S), "no SUBACK"

    def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[bytes]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.payloads) >= count, timeout_s)
            return list(self.payloads)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def subscriber(broker: MosquittoServer, client_id: str, **auth: str) -> Iterator[Subscriber]:
    sub = Subscriber(broker, client_id, **auth)
    try:
        yield sub
    finally:
        sub.close()


def publish_qos1(broker: MosquittoServer, topic: str, payloads: list[bytes]) -> None:
    """Publish with paho at QoS 1 and wait for every PUBACK: the broker holds them all."""
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        infos = [pub.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(WAIT_S)
            assert info.is_published()
    finally:
        pub.disconnect()
        pub.loop_stop()


def test_config_has_the_tuning_and_persistence(tmp_path: Any) -> None:
    server = MosquittoServer(tmp_path / "broker", port=18830)
    text = server.config_text()
    assert "listener 18830 127.0.0.1\n" in text
    assert "max_inflight_messages 0\n" in MOSQUITTO_TUNING
    assert MOSQUITTO_TUNING in text
    assert f"persistence_location {tmp_path / 'broker' / 'data'}/\n" in text
    assert "allow_anonymous true\n" in text


def test_qos1_publish_subscribe(mosquitto: MosquittoServer, topic_prefix: str) -> None:
    topic = f"{topic_prefix}/hello"
    with subscriber(mosquitto, f"sub-{uuid.uuid4().hex[:8]}") as sub:
        assert sub.connect() == "Success"
        sub.subscribe(topic)
        publish_qos1(mosquitto, topic, [b"xin chao", b"2"])
        assert sub.wait_for(2) == [b"xin chao", b"2"]


def test_persistent_session_and_queued_messages_survive_restart(
    mosquitto_fresh: MosquittoServer, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}/counts"
    client_id = f"gw-{uuid.uuid4().hex[:8]}"
    port = mosquitto_fresh.port
    with subscriber(mosquitto_fresh, client_id) as sub:
        sub.connect()
        sub.subscribe(topic)
        publish_qos1(mosquitto_fresh, topic, [b"before"])
        assert sub.wait_for(1) == [b"before"]
    # the subscriber is away: these are queued in its session
    away = [str(i).encode() for i in range(200)]
    publish_qos1(mosquitto_fresh, topic, away)

    mosquitto_fresh.restart()
    assert mosquitto_fresh.port == port

    with subscriber(mosquitto_fresh, client_id) as sub:
        sub.connect()
        assert sub.session_present is True
        got = sub.wait_for(len(away))
        assert sorted(set(got), key=int) == away
        publish_qos1(mosquitto_fresh, topic, [b"after"])  # the subscription survived too
        assert sub.wait_for(len(got) + 1)[-1] == b"after"


def test_tuned_broker_delivers_20k_qos1_messages_from_mosquitto_pub(
    mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    n = 20_000
    topic = f"{topic_prefix}/burst"
    lines = "".join(f"{i}\n" for i in range(n)).encode()
    with subscriber(mosquitto, f"sub-{uuid.uuid4().hex[:8]}") as sub:
        sub.connect()
        sub.subscribe(topic)
        started = time.monotonic()
        subprocess.run(
            ["mosquitto_pub", "-h", mosquitto.host, "-p", str(mosquitto.port)]
            + ["-q", "1", "-t", topic, "-l"],
            input=lines,
            check=True,
            timeout=120,
        )
        got = sub.wait_for(n, timeout_s=120)
        elapsed = time.monotonic() - started
    received = {int(p) for p in got}
    missing = n - len(received)
    assert missing == 0, f"{missing} of {n} QoS 1 messages lost"
    print(f"20k QoS 1 via mosquitto_pub -l -> paho: {n / elapsed:.0f} msg/s")


def test_username_password(tmp_path: Any, topic_prefix: str) -> None:
    with MosquittoServer(tmp_path / "auth", username="gateway", password="mật:khẩu 1") as broker:
        with subscriber(broker, "anon") as anon:
            assert anon.connect() == "Not authorized"
        with subscriber(broker, "wrong", username="gateway", password="nope") as wrong:
            assert wrong.connect() == "Not authorized"
        with subscriber(broker, "right", username="gateway", password="mật:khẩu 1") as right:
            assert right.connect() == "Success"
    assert not broker.running


def test_start_failure_reports_the_log(tmp_path: Any) -> None:
    first = MosquittoServer(tmp_path / "one")
    with first:
        taken = MosquittoServer(tmp_path / "two", port=first.port)
        with pytest.raises(PeerError, match="in use by another process"):
            taken.start()
        assert not taken.running
