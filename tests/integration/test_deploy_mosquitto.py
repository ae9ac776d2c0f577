"""deploy/mosquitto/mosquitto.conf runs on a real mosquitto and refuses anonymous clients.

Docker is not available here, so the compose stack's broker config is run by
Debian's mosquitto with its container paths moved into a temp folder.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from gateway.peers.process import ManagedProcess, free_port, wait_for_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("/mosquitto/passwords/passwd", str(tmp_path / "passwd"))
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/data/")
    conf += f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    (tmp_path / "data").mkdir()
    (tmp_path / "mosquitto.conf").write_text(conf, encoding="utf-8")
    (tmp_path / "passwd").touch(mode=0o600)
    subprocess.run(
        ["mosquitto_passwd", "-b", str(tmp_path / "passwd"), "floorwatch", "s3cret"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    process = ManagedProcess(
        "mosquitto", ["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], tmp_path / "log"
    )
    proc = process.start()
    try:
        wait_for_port("127.0.0.1", port, 15.0, proc)
        yield port
    finally:
        process.stop()


def _connect(port: int, username: str | None, password: str | None) -> mqtt.ReasonCode:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-deploy")
    if username is not None:
        client.username_pw_set(username, password)
    result: list[mqtt.ReasonCode] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: result.append(rc)
    client.connect("127.0.0.1", port)
    for _ in range(100):  # bounded: at most 100 loop rounds of 0.1 s
        client.loop(timeout=0.1)
        if result:
            break
    client.disconnect()
    assert result, "no CONNACK"
    return result[0]


def test_the_deploy_broker_config_requires_a_password(broker: int) -> None:
    assert _connect(broker, "floorwatch", "s3cret").is_failure is False
    assert _connect(broker, None, None).is_failure
    assert _connect(broker, "floorwatch", "wrong").is_failure
