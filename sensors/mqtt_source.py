"""The MQTT source: paho-mqtt 2.x in its own thread, handing raw messages to the hub.

Contract (at-least-once): messages are received at QoS 1 on a persistent session
with manual acknowledgement. A message is acknowledged only when the hub says
its data is durable (written to InfluxDB or in the spool). Until then the broker
keeps it, and redelivers it after a reconnect or a gateway crash.

An acknowledgement belongs to the connection the message came on: packet ids
are reused across connections, so an ack for a message of an earlier
connection is dropped (the broker redelivers that message; the points it makes
are idempotent).

Backpressure never costs the session: when the InboundBuffer is full (the hub
waits on a full spool, say) the MQTT thread stops reading the socket but keeps
writing acks and keepalive pings, so the broker keeps the gateway connected
and holds the rest of its messages, unacknowledged, until reading resumes at
the buffer's low-water mark. Nothing is redelivered, so nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gateway.settings import MqttConfig
from sensors.backoff import backoff_delay
from sensors.inbound import Inbound, InboundBuffer
from sensors.mqtt_frames import Publish
from sensors.mqtt_loop import ConnectionLoop
from sensors.mqtt_socket import BufferedClient

__all__ = ["HAND_OVER", "Inbound", "InboundBuffer", "MqttSource", "MqttStats"]

log = structlog.get_logger("floorwatch.mqtt")


@dataclass(slots=True)
class MqttStats:
    messages_in: int = 0
    connects: int = 0
    connect_failures: int = 0
    acks_sent: int = 0  # PUBACKs (and PUBCOMPs) handed to the socket
    acks_dropped: int = 0  # acks of messages from an ended connection (redelivered)
    publish_dropped: int = 0  # outbound publishes refused: paho's queue was full (a stalled broker)


#: PUBLISHes handed from the MQTT thread to the buffer in one go (one lock, one wake-up).
HAND_OVER = 256

#: Outbound QoS 1 publishes paho keeps while the broker does not take them
#: (zone states and alerts are retained and republished on every connect).
MAX_QUEUED_PUBLISHES = 10_000


class MqttSource:
    """Subscribes to the sensors' topics and feeds an InboundBuffer."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        status_topic: str,
        filters: Sequence[str],
        buffer: InboundBuffer,
        on_connected: Callable[[], None] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._status_topic = status_topic
        self._filters = list(filters)
        self._buffer = buffer
        self._on_connected = on_connected
        self._rand = rand
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._pending_subs: set[int] = set()
        self._generation = 0
        self._received: list[Inbound] = []  # read in this pass, not yet handed to the buffer
        self._hand_at = 1
        self._last_connect_ok = False
        self._client: mqtt.Client | None = None
        self._loop: ConnectionLoop | None = None
        self._thread: threading.Thread | None = None
        self.stats = MqttStats()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscribed(self) -> bool:
        """Connected, and the broker has granted every subscription of this connection."""
        return self._subscribed.is_set() and self._connected.is_set()

    @property
    def reading_paused(self) -> bool:
        """True while the MQTT thread holds off reading (the inbound buffer is full)."""
        return self._loop is not None and self._loop.is_paused

    def paused_for_s(self) -> float:
        """How long reading has been paused now; 0 while reading."""
        return 0.0 if self._loop is None else self._loop.paused_for_s()

    @property
    def paused_pings(self) -> int:
        """Keepalive PINGREQs written while reading was paused (since start)."""
        return 0 if self._loop is None else self._loop.paused_pings

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Run until cancelled; then say offline, disconnect and join the thread."""
        self._client = self._make_client()
        self._loop = ConnectionLoop(
            self._client,
            keepalive_s=self._config.keepalive_s,
            paused=lambda: self._buffer.paused,
            on_pause_event=self._on_pause_event,
            on_publish=self._on_publish,
            on_read_end=self._hand_over,
            v5=self._config.protocol == "5",
            connection=self._connection,
            on_acks=self._acks_written,
        )
        self._buffer.on_resume = self._loop.wake
        self._thread = threading.Thread(target=self._thread_main, name="mqtt-source", daemon=True)
        self._thread.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        client = self._client
        if client is not None and self._connected.is_set():
            info = client.publish(self._status_topic, b"offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2.0)
            client.disconnect()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _make_client(self) -> mqtt.Client:
        cfg = self._config
        v5 = cfg.protocol == "5"
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            clean_session=None if v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
            manual_ack=True,
        )
        client.max_queued_messages_set(MAX_QUEUED_PUBLISHES)
        client.will_set(self._status_topic, b"offline", qos=1, retain=True)
        if cfg.username is not None:
            password = cfg.password.get_secret_value() if cfg.password else None
            client.username_pw_set(cfg.username, password)
        if cfg.tls.enabled:
            client.tls_set(
                ca_certs=str(cfg.tls.ca_file) if cfg.tls.ca_file else None,
                certfile=str(cfg.tls.cert_file) if cfg.tls.cert_file else None,
                keyfile=str(cfg.tls.key_file) if cfg.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(cfg.tls.insecure)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    # ------------------------------------------------------------------ the thread

    def _thread_main(self) -> None:
        client, loop = self._client, self._loop
        if client is None or loop is None:
            raise RuntimeError("run() creates the client and its loop before the thread")
        cfg = self._config
        attempt = 0
        while not self._stop.is_set():
            try:
                self._connect(client)
            except (OSError, ssl.SSLError, ValueError) as exc:
                self.stats.connect_failures += 1
                delay = backoff_delay(attempt, cfg.reconnect_min_s, cfg.reconnect_max_s, self._rand)
                log.warning(
                    "mqtt.connect_failed",
                    host=cfg.host,
                    port=cfg.port,
                    reason=str(exc),
                    retry_in_s=round(delay, 2),
                )
                attempt += 1
                self._stop.wait(delay)
                continue
            while not self._stop.is_set():
                rc = loop.run_once()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            if self._connected.is_set():
                self._connected.clear()
            if self._stop.is_set():
                break
            attempt = 0 if self._last_connect_ok else attempt + 1
            delay = backoff_delay(attempt, cfg.reconnect_min_s, cfg.reconnect_max_s, self._rand)
            log.warning(
                "mqtt.disconnected", host=cfg.host, port=cfg.port, retry_in_s=round(delay, 2)
            )
            self._stop.wait(delay)
        with contextlib.suppress(Exception):
            loop.run_once(0.1)  # write a pending DISCONNECT
        loop.close()

    def _connect(self, client: mqtt.Client) -> None:
        cfg = self._config
        self._last_connect_ok = False
        if cfg.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = cfg.session_expiry_s
            client.connect(cfg.host, cfg.port, cfg.keepalive_s, clean_start=False, properties=props)
        else:
            client.connect(cfg.host, cfg.port, cfg.keepalive_s)

    # ------------------------------------------------------------------ paho callbacks

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._last_connect_ok = False
            self.stats.connect_failures += 1
            log.error("mqtt.connect_refused", host=self._config.host, reason=str(reason))
            return
        self._last_connect_ok = True
        self._generation += 1
        self.stats.connects += 1
        self._subscribed.clear()
        self._pending_subs.clear()
        for topic_filter in self._filters:
            _rc, mid = client.subscribe(topic_filter, qos=self._config.qos)
            if mid is not None:
                self._pending_subs.add(mid)
        if not self._pending_subs:
            self._subscribed.set()
        client.publish(self._status_topic, b"online", qos=1, retain=True)
        self._connected.set()
        log.info(
            "mqtt.connected",
            host=self._config.host,
            port=self._config.port,
            session_present=flags.session_present,
            topics=len(self._filters),
        )
        if self._on_connected is not None:
            self._on_connected()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        if not self._stop.is_set():
            log.info("mqtt.connection_lost", reason=str(reason))

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        _props: Properties | None,
    ) -> None:
        for reason in reasons:
            if reason.is_failure:
                log.error("mqtt.subscribe_refused", reason=str(reason))
        self._pending_subs.discard(mid)
        if not self._pending_subs and not self._subscribed.is_set():
            self._subscribed.set()
            log.info("mqtt.subscribed", topics=len(self._filters))

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.stats.messages_in += 1
        item = Inbound(
            topic=msg.topic,
            payload=bytes(msg.payload),
            received_at=datetime.now(UTC),
            mid=msg.mid,
            qos=msg.qos,
            generation=self._generation,
        )
        self._received.append(item)  # behind the PUBLISHes read before it: order is kept
        if len(self._received) >= self._hand_at:
            self._hand_over()

    def _on_publish(self, publish: Publish) -> bool:
        """A PUBLISH read by the ConnectionLoop itself (the same Inbound as ``_on_message``).

        False (paho then reads the packet, as the reference) for a topic that is
        not UTF-8, which a conforming broker never sends.
        """
        try:
            topic = publish.topic.decode("utf-8")
        except UnicodeDecodeError:
            return False
        self.stats.messages_in += 1
        received = Inbound(
            topic=topic,
            payload=publish.payload,
            received_at=datetime.now(UTC),
            mid=publish.mid,
            qos=publish.qos,
            generation=self._generation,
        )
        self._received.append(received)
        if len(self._received) >= self._hand_at:
            self._hand_over()
        return True

    def _hand_over(self) -> None:
        """MQTT thread: put the PUBLISHes of this read into the buffer, in one go.

        At most HAND_OVER at a time, and never more than the buffer's room, so it
        pauses reading exactly where ``put`` one by one would.
        """
        if self._received:
            received, self._received = self._received, []
            self._buffer.put_many(received, self._stop)
        self._hand_at = max(1, min(HAND_OVER, self._buffer.room()))

    def _acks_written(self, written: int, stale: int) -> None:
        """MQTT thread: queued PUBACKs written to the socket, or dropped as stale."""
        self.stats.acks_sent += written
        self.stats.acks_dropped += stale

    def _connection(self) -> int | None:
        """MQTT thread: the current connection's generation, None while disconnected."""
        return self._generation if self._connected.is_set() else None

    def _on_pause_event(self, what: str, paused_s: float, pings: int) -> None:
        """MQTT thread: log a pause that outlasts its first ping (brief ones are routine)."""
        if what == "ping" and pings == 2:
            log.warning(
                "mqtt.reading_paused",
                reason="the gateway cannot take more messages (storage is behind)",
                queue=len(self._buffer),
                paused_s=round(paused_s, 1),
                note="the session is kept alive with pings; the broker holds the rest",
            )
        elif what == "ping" and pings > 2 and pings & (pings - 1) == 0:  # 4, 8, 16, ...
            log.warning("mqtt.reading_still_paused", paused_s=round(paused_s, 1), pings=pings)
        elif what == "resumed" and pings >= 2:
            log.info("mqtt.reading_resumed", paused_s=round(paused_s, 1), pings=pings)

    # ------------------------------------------------------------------ called by the hub

    def ack(self, items: Iterable[Inbound]) -> None:
        """Acknowledge durable messages, in order, if their connection is still the current one."""
        client = self._client
        if client is None:
            return
        current = self._generation
        mids: list[int] = []
        for item in items:
            if item.qos == 0:
                continue
            if item.generation != current or not self._connected.is_set():
                self.stats.acks_dropped += 1
                continue
            if item.qos == 1:
                mids.append(item.mid)  # counted in acks_sent once written
            else:  # QoS 2's PUBCOMP: paho keeps that exchange's state
                client.ack(item.mid, item.qos)
                self.stats.acks_sent += 1
        loop = self._loop
        if loop is None:
            return
        if mids:
            loop.queue_acks(current, mids)  # written by the MQTT thread as one run of PUBACKs
        else:
            loop.wake()  # paho only queued them: the MQTT thread writes them in one send

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Publish an outbound message (zone state, alerts, advice); paho queues it."""
        if self._client is not None:
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                self.stats.publish_dropped += 1
                if self.stats.publish_dropped == 1 or self.stats.publish_dropped % 1000 == 0:
                    log.warning(
                        "mqtt.publish_dropped",
                        topic=topic,
                        reason="the broker takes nothing: paho's outbound queue is full",
                        dropped=self.stats.publish_dropped,
                    )
            if self._loop is not None:
                self._loop.wake()
