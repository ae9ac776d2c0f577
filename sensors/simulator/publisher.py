"""Drive the simulated center in accelerated time and publish its readings over MQTT.

Shell module (paho-mqtt, wall clock, blocking): run it in its own thread or
process. Simulated time runs ``speed`` times faster than the wall clock from
``start``; every reading is published on its device's topic with QoS 1 as soon
as simulated time passes it. paho keeps unacknowledged and not-yet-sent
messages and resends them after a reconnect (it reconnects by itself while
its network thread runs); ``max_pending`` bounds that backlog, beyond which
readings are dropped and counted, as a device with a full buffer would.
"""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gateway.settings import MqttConfig, SensorConfig, Settings
from sensors.simulator.demand import Demand
from sensors.simulator.model import CenterModel
from sensors.simulator.payloads import encode, topic_for
from sensors.simulator.readings import SimReading

log = structlog.get_logger("floorwatch.simulator")

TICK_MIN_S = 0.005
TICK_MAX_S = 0.2
PROGRESS_EVERY_S = 10.0


class SimulatorError(Exception):
    """The simulator cannot run (no broker within the connect timeout)."""


@dataclass(frozen=True, slots=True)
class Published:
    """One message handed to the MQTT client."""

    topic: str
    payload: bytes
    reading: SimReading


@dataclass(slots=True)
class SimulatorStats:
    published: int = 0  # handed to the client
    acknowledged: int = 0  # PUBACK received (QoS 1) or written (QoS 0)
    dropped: int = 0  # the client's backlog was full
    connects: int = 0
    disconnects: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    simulated_until: datetime | None = None

    @property
    def unacknowledged(self) -> int:
        return self.published - self.acknowledged


class _Link:
    """paho client, its callbacks and the counters they update (from paho's thread)."""

    def __init__(self, cfg: MqttConfig, client_id: str, max_pending: int) -> None:
        self.connected = threading.Event()
        self.closing = False
        self._lock = threading.Lock()
        self._acks = 0
        self._connects = 0
        self._disconnects = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        client.max_queued_messages_set(max_pending)
        client.reconnect_delay_set(min_delay=1, max_delay=8)
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
        client.on_publish = self._on_publish
        self.client = client

    def _on_connect(self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("simulator.connect_refused", reason=str(reason))
            return
        with self._lock:
            self._connects += 1
        self.connected.set()
        log.info("simulator.connected")

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if self.closing:
            log.info("simulator.disconnected", reason=str(reason))
        elif was_connected:
            with self._lock:
                self._disconnects += 1
            log.warning("simulator.disconnected", reason=str(reason))

    def _on_publish(self, _c: mqtt.Client, _u: Any, _mid: int, _reason: Any, _props: Any) -> None:
        with self._lock:
            self._acks += 1

    def counts(self) -> tuple[int, int, int]:
        with self._lock:
            return self._acks, self._connects, self._disconnects


def run_simulator(
    settings: Settings,
    *,
    host: str,
    port: int,
    seed: int,
    start: datetime,
    speed: float,
    stop: threading.Event,
    qos: int = 1,
    until: datetime | None = None,
    on_published: Callable[[Published], None] | None = None,
    counter_reboot: bool = False,
    client_id: str | None = None,
    connect_timeout_s: float = 30.0,
    drain_timeout_s: float = 10.0,
    max_pending: int = 50_000,
    live: bool = False,
    on_model: Callable[[CenterModel], None] | None = None,
    demand: Demand | None = None,
    pin_day: bool = False,
) -> SimulatorStats:
    """Publish the simulated center from ``start`` until ``until`` or ``stop`` is set.

    ``live``: readings carry the wall-clock time they are sent at instead of
    their simulated time, so an accelerated day looks live to a gateway (the
    demo's control room). ``on_model`` receives the model once it is built:
    its ``occupancy`` is the ground truth the demo's virtual cameras film.
    ``pin_day``: the start day's visitors come from ``seed`` alone, not from
    its date (``CenterModel``): the demo plays the same day on any date.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    tz = ZoneInfo(settings.site.timezone)
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=tz)
    sensors: dict[str, SensorConfig] = {s.id: s for s in settings.sensors}
    topics = {s.id: topic_for(s) for s in settings.sensors}
    model = CenterModel(
        settings, seed, start, demand=demand, counter_reboot=counter_reboot, pin_day=pin_day
    )
    if on_model is not None:
        on_model(model)
    cid = client_id or f"fw-sim-{settings.site.id}-{uuid.uuid4().hex[:8]}"
    link = _Link(settings.mqtt, cid, max_pending)
    stats = SimulatorStats()
    log.info(
        "simulator.started",
        site=settings.site.id,
        host=host,
        port=port,
        seed=seed,
        start=start.isoformat(),
        until=until.isoformat() if until else None,
        speed=speed,
        client_id=cid,
    )
    link.client.connect_async(host, port, keepalive=settings.mqtt.keepalive_s)
    link.client.loop_start()
    try:
        _wait_connected(link, stop, connect_timeout_s, host, port)
        wall0 = time.monotonic()
        next_progress = wall0 + PROGRESS_EVERY_S
        while True:
            target = start + timedelta(seconds=(time.monotonic() - wall0) * speed)
            if until is not None and target >= until:
                target = until
            for reading in model.step(target):
                if live:
                    reading = replace(reading, at=datetime.now(UTC))
                sensor = sensors[reading.sensor_id]
                payload = encode(sensor, reading, tz)
                _publish(link, stats, topics[sensor.id], payload, qos)
                if on_published is not None:
                    on_published(Published(topics[sensor.id], payload, reading))
            stats.simulated_until = target
            if (until is not None and target >= until) or stop.is_set():
                break
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                _sync(link, stats)
                log.info(
                    "simulator.published",
                    simulated=target.astimezone(tz).isoformat(),
                    published=stats.published,
                    acknowledged=stats.acknowledged,
                    dropped=stats.dropped,
                    occupancy=sum(model.occupancy.values()),
                )
            stop.wait(_pause_s(model.next_time(), target, speed))
        _drain(link, stats, drain_timeout_s)
    finally:
        link.closing = True
        link.client.disconnect()
        link.client.loop_stop()
        _sync(link, stats)
    log.info(
        "simulator.stopped",
        published=stats.published,
        acknowledged=stats.acknowledged,
        unacknowledged=stats.unacknowledged,
        dropped=stats.dropped,
        reconnects=max(0, stats.connects - 1),
        simulated_until=stats.simulated_until.isoformat() if stats.simulated_until else None,
    )
    return stats


def _wait_connected(
    link: _Link, stop: threading.Event, timeout_s: float, host: str, port: int
) -> None:
    deadline = time.monotonic() + timeout_s
    while not link.connected.wait(0.1):
        if stop.is_set():
            return
        if time.monotonic() >= deadline:
            log.error("simulator.connect_failed", host=host, port=port, timeout_s=timeout_s)
            raise SimulatorError(f"no MQTT broker at {host}:{port} within {timeout_s:g} s")


def _publish(link: _Link, stats: SimulatorStats, topic: str, payload: bytes, qos: int) -> None:
    info = link.client.publish(topic, payload, qos=qos)
    if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
        stats.dropped += 1
        if stats.dropped == 1 or stats.dropped % 1000 == 0:
            log.warning("simulator.dropped", topic=topic, dropped=stats.dropped)
        return
    # MQTT_ERR_NO_CONN: paho keeps the message and sends it after reconnecting.
    stats.published += 1
    stats.by_topic[topic] = stats.by_topic.get(topic, 0) + 1


def _pause_s(next_event: datetime | None, now: datetime, speed: float) -> float:
    if next_event is None:
        return TICK_MAX_S
    real_s = (next_event - now).total_seconds() / speed
    return min(TICK_MAX_S, max(TICK_MIN_S, real_s))


def _sync(link: _Link, stats: SimulatorStats) -> None:
    stats.acknowledged, stats.connects, stats.disconnects = link.counts()


def _drain(link: _Link, stats: SimulatorStats, timeout_s: float) -> None:
    """Wait, bounded, for the broker to acknowledge what was published."""
    deadline = time.monotonic() + timeout_s
    while True:
        _sync(link, stats)
        if stats.unacknowledged <= 0 or time.monotonic() >= deadline:
            return
        time.sleep(0.02)
