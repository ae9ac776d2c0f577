"""A site's sensor written with ``profile:`` made into the decoder config it stands for.

Called once per sensor while the site file is validated (gateway.settings
finds ``expand_sensor`` in the validation context ``profile_context`` makes),
so a message is decoded by the same code, at the same cost, as a sensor
written with ``decoder:``: the profile is compiled away at config load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensors.profiles.catalog import load
from sensors.profiles.options import base_settings


def expand_sensor(raw: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """The sensor's keys over its profile's; ValueError (a config error) when they do not fit."""
    loaded = load(str(raw["profile"]), base_dir)
    profile = loaded.profile
    site = dict(raw)
    device = site.pop("device", None)
    if device is not None and not isinstance(device, str):
        raise ValueError("device: the device's name in its topics, as text")
    if site.get("topic") is None:
        site.pop("topic", None)
        if profile.topic is None:
            raise ValueError(f"topic: {loaded.origin} has no topic template; set topic")
        if device is None:
            raise ValueError(
                f"topic: set topic, or device (the name filling {profile.topic} of {loaded.origin})"
            )
        site["topic"] = profile.topic.replace("{device}", device)
    elif device is not None:
        raise ValueError("device: give topic or device, not both")
    if "mode" in site and profile.counts is not None:
        raise ValueError(
            f"mode: {loaded.origin} counts {profile.counts} counts; it is not a choice"
        )
    expanded = base_settings(profile)
    expanded.update(site)
    expanded["profile"] = loaded.ref
    return expanded


def profile_context(base_dir: Path | None = None) -> dict[str, object]:
    """The pydantic validation context that lets a site's sensors name profiles.

    ``base_dir``: the site file's folder (a profile file's path is relative to it).
    """
    return {"profiles": expand_sensor, "base_dir": base_dir}
