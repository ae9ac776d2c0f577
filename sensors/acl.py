"""mosquitto's ACL for a site: each device publishes only its own topics, and only the
gateway writes under ``<mqtt.base_topic>/``. Pure: settings in, the ACL file's text out.

mosquitto denies whatever an ``acl_file`` does not allow, so the file lists:

- the gateway's account: read every sensor topic of the site, read and write
  ``<base_topic>/#`` (status, zone states, alerts, HVAC advice), read
  ``$SYS/broker/uptime`` (the compose healthcheck logs in as the gateway);
- one account per sensor, named by the sensor's id, that may publish the
  sensor's topic and nothing else;
- accounts that publish for several sensors (a Zigbee2MQTT bridge, a LoRaWAN
  network server, the demo simulator): ``accounts={"z2m": ("cl-f1-canteen",)}``,
  or ``("*",)`` for every sensor. Their sensors get no account of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateway.settings import Settings

ALL = "*"


class AclError(ValueError):
    """An account names a sensor the site file does not have, or two accounts share one."""


def acl_text(
    settings: Settings,
    *,
    gateway_user: str,
    accounts: Mapping[str, Sequence[str]] | None = None,
    source: str = "the site file",
) -> str:
    sensors = {s.id: s.topic for s in settings.sensors}
    grouped = _grouped(sensors, accounts or {})
    base = settings.mqtt.base_topic
    lines = [
        f"# mosquitto ACL for site {settings.site.id}, written by `floorwatch mqtt acl` from",
        f"# {source}: write it again when sensors change. Whatever is not listed is denied.",
        "",
        f"# The gateway: reads the sensors, and alone writes under {base}/.",
        f"user {gateway_user}",
        "topic read $SYS/broker/uptime",
        f"topic readwrite {base}/#",
        *(f"topic read {t}" for t in sorted(set(sensors.values()))),
    ]
    for account, ids in grouped.items():
        if account in sensors and ids == [account]:
            comment = f"# sensor {account}: its own topic only"
        else:
            comment = f"# {account} publishes for: {', '.join(ids)}"
        lines += ["", comment, f"user {account}"]
        lines += [f"topic write {t}" for t in sorted({sensors[i] for i in ids})]
    return "\n".join(lines) + "\n"


def _grouped(
    sensors: Mapping[str, str], accounts: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Account -> sensor ids: the named accounts first, then one per remaining sensor."""
    taken: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for account, ids in accounts.items():
        wanted = list(sensors) if ALL in ids else list(ids)
        for sensor_id in wanted:
            if sensor_id not in sensors:
                known = ", ".join(sensors) or "none"
                raise AclError(f"account {account}: no sensor {sensor_id!r} (known: {known})")
            if sensor_id in taken and ALL not in ids:
                raise AclError(
                    f"sensor {sensor_id} is in two accounts: {taken[sensor_id]} and {account}"
                )
            taken.setdefault(sensor_id, account)
        grouped[account] = wanted
    for sensor_id in sensors:
        if sensor_id not in taken:
            grouped[sensor_id] = [sensor_id]
    return grouped


def parse_account(text: str) -> tuple[str, list[str]]:
    """``"z2m=cl-a,cl-b"`` -> ``("z2m", ["cl-a", "cl-b"])``; ``"devices=*"`` for all sensors."""
    name, sep, ids = text.partition("=")
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if not sep or not name.strip() or not wanted or any(c.isspace() for c in name.strip()):
        raise AclError(f"--account {text!r}: expected NAME=SENSOR_ID[,SENSOR_ID...] or NAME=*")
    return name.strip(), wanted
