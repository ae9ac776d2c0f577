"""Profile files: the shipped ones (package data) and a site's own. File reading only.

Shipped profiles are ``sensors/profiles/devices/<name>.yaml``, read through
importlib.resources so they come with an installed package. A site may name
its own profile file instead of a shipped name: a path ending in .yaml or
.yml, relative to the site file's folder. A file is read, checked and
compiled once per process (keyed by its path and modification time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from sensors.discovery import ProfileHint
from sensors.profiles.model import NAME_PATTERN, Profile, bad_paths
from sensors.profiles.options import check_options

PACKAGE = "sensors.profiles"
FOLDER = "devices"


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the key path."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A checked profile and how a sensor refers to it (its name, or its file's path)."""

    ref: str
    origin: str  # for messages: "shipped profile aqara-fp1" or the file's path
    profile: Profile


def is_file_ref(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref


@cache
def shipped_names() -> tuple[str, ...]:
    folder = resources.files(PACKAGE).joinpath(FOLDER)
    names = [
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".yaml")
    ]
    return tuple(sorted(names))


@cache
def shipped(name: str) -> Loaded:
    """A shipped profile by name; ProfileError naming the known ones when it is not."""
    if not re.match(NAME_PATTERN, name) or name not in shipped_names():
        raise ProfileError(
            f"no shipped profile {name!r} ('floorwatch sensors profiles' lists them;"
            " a profile file of your own ends in .yaml)"
        )
    text = resources.files(PACKAGE).joinpath(FOLDER, f"{name}.yaml").read_text(encoding="utf-8")
    return Loaded(
        name, f"shipped profile {name}", parse(text, f"sensors/profiles/{FOLDER}/{name}.yaml")
    )


def from_file(ref: str, base_dir: Path | None) -> Loaded:
    path = Path(ref).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    path = path.resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise ProfileError(f"profile file {path}: cannot read ({exc.strerror})") from None
    return _from_file(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _from_file(path: str, _mtime_ns: int, _size: int) -> Loaded:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile file {path}: cannot read ({exc})") from None
    return Loaded(path, path, parse(text, path))


def load(ref: str, base_dir: Path | None = None) -> Loaded:
    """The profile a sensor's ``profile:`` names."""
    return from_file(ref, base_dir) if is_file_ref(ref) else shipped(ref)


def parse(text: str, origin: str) -> Profile:
    """A profile from its YAML text; ProfileError with ``origin: key.path: what is wrong``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ProfileError(
            f"{origin}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ProfileError(f"{origin}: expected a mapping of profile keys")
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{origin}: {_first_error(exc)}") from None
    problems = [
        f"{loc}: {value!r} is not a dotted path (a.b.0)"
        for loc, value in bad_paths(profile.options)
    ]
    problems.extend(check_options(profile))
    if problems:
        raise ProfileError(f"{origin}: " + "; ".join(problems))
    return profile


def _first_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def profile_hints() -> list[ProfileHint]:
    """The shipped Zigbee2MQTT profiles with model ids, for ``sensors discover``."""
    hints = []
    for name in shipped_names():
        p = shipped(name).profile
        if p.family == "zigbee2mqtt" and p.models:
            hints.append(ProfileHint(name, p.topic, tuple(p.models)))
    return hints
