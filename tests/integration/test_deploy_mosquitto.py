"""deploy/mosquitto/ runs on a real mosquitto: passwords, the ACL, placeholder secrets.

Docker is not available here, so the compose stack's broker is started the way
its container starts it — deploy/start.sh, then deploy/mosquitto/entrypoint.sh
with secret files, then Debian's mosquitto with deploy/mosquitto/mosquitto.conf —
with the container's paths moved into a temp folder. The ACL is what
``floorwatch mqtt acl`` writes for the demo site, one account per sensor.
"""

from __future__ import annotations

import os
import pwd
import queue
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from gateway.config_loader import load_settings
from gateway.peers.process import ManagedProcess, free_port, wait_for_port
from sensors.acl import acl_text

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DEMO = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
TOPICS = {s.id: s.topic for s in DEMO.sensors}
GATEWAY_PASSWORD = "gw-0123456789abcdef"  # noqa: S105 -- a test broker's account
DEVICES = {"cl-f1-entrance": "dev-a-0123456789", "dc-main": "dev-b-0123456789"}


def _broker_files(tmp_path: Path, port: int) -> dict[str, str]:
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("/mosquitto/passwords/passwd", str(tmp_path / "passwords" / "passwd"))
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/data/")
    conf = conf.replace("/mosquitto/config/acl", str(tmp_path / "acl"))
    conf += f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    (tmp_path / "data").mkdir()
    (tmp_path / "mosquitto.conf").write_text(conf, encoding="utf-8")
    (tmp_path / "acl").write_text(acl_text(DEMO, gateway_user="floorwatch"), encoding="utf-8")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "mqtt_password").write_text(GATEWAY_PASSWORD + "\n")
    lines = ["# device accounts", *(f"{k}:{v}" for k, v in DEVICES.items())]
    (secrets / "mqtt_devices").write_text("\n".join(lines) + "\n")
    return {
        **os.environ,
        "FLOORWATCH_SECRETS_DIR": str(secrets),
        "MOSQUITTO_PASSWORDS_DIR": str(tmp_path / "passwords"),
        "MOSQUITTO_CONF": str(tmp_path / "mosquitto.conf"),
        "MQTT_USERNAME": "floorwatch",
    }


def _command() -> list[str]:
    deploy = ROOT / "deploy"
    return ["/bin/sh", str(deploy / "start.sh"), "--"] + [
        "/bin/sh",
        str(deploy / "mosquitto" / "entrypoint.sh"),
    ]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = _broker_files(tmp_path, port)
    process = ManagedProcess("mosquitto", _command(), tmp_path / "log", env=env)
    proc = process.start()
    try:
        wait_for_port("127.0.0.1", port, 15.0, proc)
        yield port
    finally:
        process.stop()


class Client:
    """A paho client on its own network thread; messages land in a queue."""

    def __init__(self, port: int, username: str | None, password: str | None, name: str):
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected: queue.Queue[mqtt.ReasonCode] = queue.Queue()
        self.acks: queue.Queue[tuple[int, list[mqtt.ReasonCode]]] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(rc)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))
        self.client.on_subscribe = lambda _c, _u, mid, rcs, _p: self.acks.put((mid, rcs))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def reason(self) -> mqtt.ReasonCode:
        return self.connected.get(timeout=10)

    def subscribe(self, *filters: str) -> None:
        self.client.subscribe([(f, 1) for f in filters])
        _mid, codes = self.acks.get(timeout=10)
        assert all(not c.is_failure for c in codes), codes

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _connect(port: int, username: str | None, password: str | None) -> mqtt.ReasonCode:
    client = Client(port, username, password, f"t-{username}")
    try:
        return client.reason()
    finally:
        client.close()


def test_the_deploy_broker_requires_a_password(broker: int) -> None:
    assert _connect(broker, "floorwatch", GATEWAY_PASSWORD).is_failure is False
    assert _connect(broker, "cl-f1-entrance", DEVICES["cl-f1-entrance"]).is_failure is False
    assert _connect(broker, None, None).is_failure
    assert _connect(broker, "floorwatch", "wrong").is_failure
    assert _connect(broker, "cl-f1-entrance", DEVICES["dc-main"]).is_failure


def test_devices_publish_only_their_own_topics_and_only_the_gateway_writes_floorwatch(
    broker: int,
) -> None:
    gateway = Client(broker, "floorwatch", GATEWAY_PASSWORD, "gateway")
    device = Client(broker, "cl-f1-entrance", DEVICES["cl-f1-entrance"], "cl-f1-entrance")
    other = Client(broker, "dc-main", DEVICES["dc-main"], "dc-main")
    try:
        assert not gateway.reason().is_failure
        assert not device.reason().is_failure
        assert not other.reason().is_failure
        gateway.subscribe(*sorted(set(TOPICS.values())), "floorwatch/#")
        own, others = TOPICS["cl-f1-entrance"], TOPICS["dc-main"]
        # Denied publishes first, then an allowed one on the same connection: mosquitto
        # delivers one publisher's QoS 1 messages in order, so when the allowed one
        # arrives, a denied one would have arrived before it.
        device.publish(others, b"forged door count")
        device.publish("floorwatch/demo-hcc/alerts/fake", b"forged alert")
        device.publish("floorwatch/demo-hcc/status", b"offline")
        device.publish(own, b"own reading")
        assert gateway.messages.get(timeout=10) == (own, b"own reading")
        other.publish(others, b"real door count")
        assert gateway.messages.get(timeout=10) == (others, b"real door count")
        gateway.publish("floorwatch/demo-hcc/status", b"online")
        assert gateway.messages.get(timeout=10) == ("floorwatch/demo-hcc/status", b"online")
        assert gateway.messages.empty()
        # Devices do not read the gateway's topics, nor each other's.
        device.client.subscribe([("floorwatch/#", 1), (others, 1)])
        device.acks.get(timeout=10)  # refused (0x87) or granted and filtered: nothing arrives
        gateway.publish("floorwatch/demo-hcc/status", b"online again")
        other.publish(others, b"second count")
        device.publish(own, b"marker")
        assert gateway.messages.get(timeout=10)[1] == b"online again"
        assert gateway.messages.get(timeout=10)[1] == b"second count"
        assert gateway.messages.get(timeout=10)[1] == b"marker"
        assert device.messages.empty()
    finally:
        for client in (gateway, device, other):
            client.close()


def test_the_broker_refuses_to_start_with_a_placeholder_secret(tmp_path: Path) -> None:
    env = _broker_files(tmp_path, free_port())
    devices = Path(env["FLOORWATCH_SECRETS_DIR"]) / "mqtt_devices"
    devices.write_text("cl-f1-entrance:change-me\n")
    result = subprocess.run(
        _command(), capture_output=True, text=True, timeout=30, env=env, check=False
    )
    assert result.returncode == 78
    assert "refusing to start" in result.stderr and "mqtt_devices" in result.stderr
    assert not (tmp_path / "passwords" / "passwd").exists()
