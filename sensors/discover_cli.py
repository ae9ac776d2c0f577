"""``floorwatch sensors discover``: the site's announced devices as a ``sensors:`` block. Shell module.

Connects to the broker (of a site file, or ``--host``/``--port``), subscribes
to Home Assistant discovery (``homeassistant/#``) and Zigbee2MQTT's device
list (``+/bridge/devices`` and ``<base>/bridge/devices`` for each
``--z2m-base``), takes the retained messages for ``--wait`` seconds and
prints what sensors/discovery.py makes of them. It publishes nothing.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion

from gateway.cli_support import settings_or_exit
from sensors.discovery import Discovery, read, sensors_block
from sensors.profiles.catalog import profile_hints
from sensors.profiles.cli import profiles

sensors_app = typer.Typer(
    help="Sensors already announced on the site's broker, and the device profiles.",
    no_args_is_help=True,
)
sensors_app.command("profiles")(profiles)


@sensors_app.command("discover")
def discover(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="site file: its mqtt section")
    ] = None,
    host: Annotated[str | None, typer.Option(help="broker host (without a site file)")] = None,
    port: Annotated[int, typer.Option(help="broker port (without a site file)")] = 1883,
    username: Annotated[str | None, typer.Option(help="MQTT user (without a site file)")] = None,
    password_env: Annotated[
        str | None, typer.Option(help="environment variable holding the MQTT password")
    ] = None,
    z2m_base: Annotated[
        list[str] | None,
        typer.Option(help="a Zigbee2MQTT base_topic of more than one level; repeatable"),
    ] = None,
    wait: Annotated[
        float, typer.Option(min=0.2, max=120, help="seconds to take retained messages")
    ] = 3.0,
) -> None:
    """Print a ready-to-paste sensors: block of what Home Assistant / Zigbee2MQTT announce."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"floorwatch-discover-{uuid.uuid4().hex[:8]}"
    )
    if config is not None:
        m = settings_or_exit(config).mqtt
        host, port = m.host, m.port
        if m.username is not None:
            secret = m.password.get_secret_value() if m.password is not None else None
            client.username_pw_set(m.username, secret)
        if m.tls.enabled:
            client.tls_set(
                ca_certs=str(m.tls.ca_file) if m.tls.ca_file else None,
                certfile=str(m.tls.cert_file) if m.tls.cert_file else None,
                keyfile=str(m.tls.key_file) if m.tls.key_file else None,
            )
            client.tls_insecure_set(m.tls.insecure)
    elif host is None:
        typer.echo("error: give --config site.yaml or --host", err=True)
        raise typer.Exit(2)
    elif username is not None:
        client.username_pw_set(username, os.environ.get(password_env) if password_env else None)

    topics = ["homeassistant/#", "+/bridge/devices"]
    topics += [f"{base.rstrip('/')}/bridge/devices" for base in z2m_base or []]
    result = Discovery()
    lock = threading.Lock()
    subscribed = threading.Event()
    failed: list[str] = []

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            failed.append(str(reason))
            subscribed.set()
            return
        c.subscribe([(t, 0) for t in topics])

    def on_subscribe(*_args: Any) -> None:
        subscribed.set()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            read(result, msg.topic, bytes(msg.payload))

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(host, port)
    except OSError as exc:
        typer.echo(f"error: cannot reach the broker at {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from exc
    client.loop_start()
    try:
        if not subscribed.wait(15) or failed:
            why = failed[0] if failed else "no answer in 15 s"
            typer.echo(f"error: the broker at {host}:{port} refused: {why}", err=True)
            raise typer.Exit(1)
        time.sleep(wait)  # the broker sends the retained messages right after SUBACK
    finally:
        client.loop_stop()
        client.disconnect()
    with lock:
        typer.echo(sensors_block(result, profile_hints()), nl=False)
