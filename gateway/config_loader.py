"""Load the site file: YAML -> secrets resolved -> environment overrides (and their secrets) -> Settings.

Every problem becomes a ``ConfigIssue`` naming its YAML path (``sensors[3].topic``)
and, where the file has it, its line. The environment is passed in as a mapping
so the whole load is testable without touching ``os.environ``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.settings import Loc, Settings, dotted, reference_errors
from gateway.site_checks import site_errors, site_warnings
from sensors.profiles.expand import profile_context

ENV_PREFIX = "FLOORWATCH_"
# the tags pydantic puts in the location of an error in a sensor written with a
# profile (its decoder comes from the profile, so the site's dict does not have it)
DECODER_TAGS = frozenset(
    {"generic_json", "zigbee2mqtt", "tasmota", "homeassistant", "door_counter", "presence"}
    | {"queue_ticket"}
)
SECRET_KEYS = re.compile(r"^(password|token|secret)$")


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The site file cannot be used; ``issues`` says why, one entry per problem."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__(f"{source}: " + "; ".join(str(i) for i in issues))


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    settings: Settings
    warnings: list[ConfigIssue]


def load_settings(
    path: Path, environ: Mapping[str, str], *, need_secrets: bool = True
) -> LoadedSettings:
    """Read, resolve and validate a site file; raise ConfigError listing every problem.

    ``need_secrets=False`` is for commands that connect to nothing (``alerts
    list``, the demo, which brings its own servers): a secret reference that
    cannot be resolved is a warning and the secret is left out (an API token
    with it), instead of an error.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [ConfigIssue("(file)", f"cannot read: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}): save the file as UTF-8"
        raise ConfigError(source, [ConfigIssue("(file)", message, line)]) from exc
    return parse_settings(
        text, environ, source=source, base_dir=path.parent, need_secrets=need_secrets
    )


def parse_settings(
    text: str,
    environ: Mapping[str, str],
    *,
    source: str = "<text>",
    base_dir: Path | None = None,
    need_secrets: bool = True,
) -> LoadedSettings:
    """Validate a site file's text; raise ConfigError listing every problem."""
    try:
        return _parse(text, environ, source, base_dir, need_secrets)
    except RecursionError as exc:  # `a: &x [*x]`, or thousands of nested brackets
        message = "nested too deeply, or an alias (*name) refers to its own anchor"
        raise ConfigError(source, [ConfigIssue("(file)", message)]) from exc
    except _TooLarge as exc:
        message = f"more than {MAX_VALUES} values once its aliases (*name) are expanded"
        raise ConfigError(source, [ConfigIssue("(file)", message)]) from exc


def _parse(
    text: str,
    environ: Mapping[str, str],
    source: str,
    base_dir: Path | None,
    need_secrets: bool,
) -> LoadedSettings:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            source, [ConfigIssue("(file)", f"not valid YAML: {problem}", line)]
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("(file)", "expected a mapping at the top level")])
    lines = _line_map(node)
    issues: list[ConfigIssue] = []
    warnings: list[ConfigIssue] = []
    # Unresolved secrets are collected here instead of being issues when not needed.
    unresolved: list[ConfigIssue] | None = None if need_secrets else []
    _resolve_secrets(data, (), environ, base_dir, _Sink(issues, warnings, unresolved), lines)
    _apply_env(data, environ, issues)
    # An override may carry a reference too (FLOORWATCH_API__TOKENS='[{"token":
    # {"env": "X"}}]'): resolve what the overrides brought; the file's secrets are
    # strings by now, and a literal secret from the environment is no warning.
    _resolve_secrets(data, (), environ, base_dir, _Sink(issues, [], unresolved), lines)
    if unresolved:
        warnings.extend(unresolved)
        _drop_tokens_without_secret(data, warnings)
    if issues:
        raise ConfigError(source, issues)
    try:
        settings = Settings.model_validate(
            data, context={"defer_references": True, **profile_context(base_dir)}
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = _strip_tags(data, tuple(err["loc"]))
            issues.append(ConfigIssue(dotted(loc), _message(err), _line_of(lines, loc)))
        raise ConfigError(source, issues) from exc
    for loc, msg in reference_errors(settings):
        issues.append(ConfigIssue(dotted(loc), msg, _line_of(lines, loc)))
    if issues:
        raise ConfigError(source, issues)
    left_out = {w.path for w in unresolved or []}
    for loc, msg in site_errors(settings):
        if dotted(loc) not in left_out:  # a camera password left out on purpose
            issues.append(ConfigIssue(dotted(loc), msg, _line_of(lines, loc)))
    if issues:
        raise ConfigError(source, issues)
    for loc, msg in site_warnings(settings):
        if dotted(loc) not in left_out:
            warnings.append(ConfigIssue(dotted(loc), msg, _line_of(lines, loc)))
    return LoadedSettings(settings, warnings)


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True, slots=True)
class _Sink:
    """Where secret problems go: errors, literal-secret warnings, and (when secrets
    are not needed) the references left unresolved."""

    issues: list[ConfigIssue]
    warnings: list[ConfigIssue]
    unresolved: list[ConfigIssue] | None


def _resolve_secrets(
    data: Any,
    loc: Loc,
    environ: Mapping[str, str],
    base_dir: Path | None,
    sink: _Sink,
    lines: dict[Loc, int],
) -> None:
    items: list[tuple[str | int, Any]]
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        return
    for key, value in items:
        here = (*loc, key)
        if isinstance(key, str) and SECRET_KEYS.match(key):
            if isinstance(value, dict):
                data[key] = _secret_value(value, here, environ, base_dir, sink, lines)
            elif isinstance(value, str):
                sink.warnings.append(
                    ConfigIssue(
                        dotted(here),
                        "secret written in the file; prefer {env: NAME} or {file: PATH}",
                        _line_of(lines, here),
                    )
                )
            continue
        _resolve_secrets(value, here, environ, base_dir, sink, lines)


def _secret_value(
    ref: dict[str, Any],
    loc: Loc,
    environ: Mapping[str, str],
    base_dir: Path | None,
    sink: _Sink,
    lines: dict[Loc, int],
) -> str | None:
    line = _line_of(lines, loc)

    def missing(message: str) -> None:
        if sink.unresolved is None:
            sink.issues.append(ConfigIssue(dotted(loc), message, line))
        else:
            note = f"{message}: left out (this command needs no secrets)"
            sink.unresolved.append(ConfigIssue(dotted(loc), note, line))

    if set(ref) == {"env"} and isinstance(ref["env"], str):
        value = environ.get(ref["env"])
        if value is None:
            missing(f"environment variable {ref['env']} is not set")
        return value
    if set(ref) == {"file"} and isinstance(ref["file"], str):
        path = Path(ref["file"])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            missing(f"cannot read secret file {path}: {exc.strerror}")
            return None
    sink.issues.append(ConfigIssue(dotted(loc), "expected {env: NAME} or {file: PATH}", line))
    return None


def _drop_tokens_without_secret(data: dict[str, Any], warnings: list[ConfigIssue]) -> None:
    """API tokens whose secret was left out cannot exist: they are left out too."""
    api = data.get("api")
    tokens = api.get("tokens") if isinstance(api, dict) else None
    if not isinstance(tokens, list) or not isinstance(api, dict):
        return
    kept = [t for t in tokens if not (isinstance(t, dict) and "token" in t and t["token"] is None)]
    if len(kept) < len(tokens):
        api["tokens"] = kept
        warnings.append(
            ConfigIssue("api.tokens", f"{len(tokens) - len(kept)} token(s) without secret left out")
        )


# --------------------------------------------------------------------------- environment


def _apply_env(data: dict[str, Any], environ: Mapping[str, str], issues: list[ConfigIssue]) -> None:
    """FLOORWATCH_MQTT__PORT=1884 sets mqtt.port; JSON values ([..], {..}) are parsed."""
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if parts[0] not in Settings.model_fields:
            continue  # FLOORWATCH_LOG_FORMAT and friends are not settings
        value: Any = environ[name]
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                issues.append(ConfigIssue(f"${name}", f"not valid JSON: {exc.msg}"))
                continue
        target: Any = data
        for i, part in enumerate(parts[:-1]):
            key: str | int = int(part) if part.isdigit() else part
            nxt = _child(target, key)
            if nxt is None:
                if isinstance(key, int):
                    issues.append(
                        ConfigIssue(f"${name}", f"no list item {key} at {'.'.join(parts[:i])}")
                    )
                    break
                nxt = {}
                target[key] = nxt
            target = nxt
        else:
            last: str | int = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
            if not _assign(target, last, value):
                issues.append(ConfigIssue(f"${name}", "does not name a setting"))


def _assign(target: Any, key: str | int, value: Any) -> bool:
    if isinstance(target, list) and isinstance(key, int) and key < len(target):
        target[key] = value
        return True
    if isinstance(target, dict) and isinstance(key, str):
        target[key] = value
        return True
    return False


def _child(target: Any, key: str | int) -> Any:
    if isinstance(target, dict) and isinstance(key, str):
        child = target.get(key)
        return child if isinstance(child, dict | list) else None
    if isinstance(target, list) and isinstance(key, int) and key < len(target):
        child = target[key]
        return child if isinstance(child, dict | list) else None
    return None


# --------------------------------------------------------------------------- errors


def _strip_tags(data: Any, loc: Loc) -> Loc:
    """Drop discriminator tags (the decoder name pydantic inserts) from a location."""
    out: list[str | int] = []
    here = data
    for part in loc:
        is_tag = (
            isinstance(here, dict)
            and part not in here
            and (here.get("decoder") == part or ("profile" in here and part in DECODER_TAGS))
        )
        if is_tag:
            continue
        out.append(part)
        if isinstance(here, dict) and isinstance(part, str):
            here = here.get(part)
        elif isinstance(here, list) and isinstance(part, int) and part < len(here):
            here = here[part]
        else:
            here = None
    return tuple(out)


def _message(err: Any) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see docs/configuration.md)"
    if kind == "missing":
        return "required but missing"
    if kind == "union_tag_invalid":
        return msg.replace("Input tag", "decoder").replace("found using 'decoder' ", "")
    if kind == "union_tag_not_found":
        return "required 'decoder' is missing"
    return msg.removeprefix("Value error, ")


# A site file has a few thousand values; aliases that expand past this are a YAML bomb.
MAX_VALUES = 200_000


class _TooLarge(Exception):
    pass


def _line_map(node: yaml.Node | None) -> dict[Loc, int]:
    lines: dict[Loc, int] = {}

    def walk(n: yaml.Node, loc: Loc) -> None:
        if len(lines) > MAX_VALUES:
            raise _TooLarge
        lines[loc] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                lines[(*loc, key)] = k.start_mark.line + 1
                walk(v, (*loc, key))
                lines[(*loc, key)] = k.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*loc, i))

    if node is not None:
        walk(node, ())
    return lines


def _line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None
