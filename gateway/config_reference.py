"""Every key of the site file, from the settings models themselves. Pure module.

``reference_markdown()`` is the key table of docs/configuration.md (a test
keeps the document equal to it, so the reference cannot drift from the code);
``site_schema()`` is the JSON Schema editors validate a site file with (VS Code
YAML: ``# yaml-language-server: $schema=site.schema.json``).
"""

from __future__ import annotations

import types
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gateway.settings import SecretRef, Settings

BEGIN = "<!-- BEGIN generated key reference: floorwatch config reference -->"
END = "<!-- END generated key reference -->"
_UNITS = (
    ("_m2", "m²"),
    ("_ms", "ms"),
    ("_s", "s"),
    ("_m", "m"),
    ("_pct", "%"),
    ("_c", "°C"),
    ("_ppm", "ppm"),
    ("_ugm3", "µg/m³"),
    ("_bytes", "bytes"),
    ("_min", "min"),
    ("_m3h_per_person", "m³/h per person"),
    ("_ls_per_person", "L/s per person"),
    ("_ls_per_m2", "L/s per m²"),
)
Row = tuple[str, str, str, str, str]  # key, type, default, unit, meaning


def reference_rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[Row]:
    rows: list[Row] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        rows.extend(_field_rows(key, name, info))
    return rows


def _field_rows(key: str, name: str, info: FieldInfo) -> list[Row]:
    annotation = info.annotation
    models, many = _models_in(annotation)
    description = (info.description or "").replace("|", "\\|").replace("\n", " ")
    row = (key, _type(annotation), _default(info), _unit(name), description)
    if not models:
        return [row]
    child = f"{key}[]" if many else key
    rows = [row]
    if len(models) == 1:
        return rows + reference_rows(models[0], child)
    # a union told apart by a tag (`decoder`, `type`): keys all of them share once,
    # the others per tag value
    field = next(f for f in _TAGS if all(f in m.model_fields for m in models))
    tag_key = f"{child}.{field}"
    per_model = [(_tag(m, field), reference_rows(m, child)) for m in models]
    common = set.intersection(*(set(rs) for _, rs in per_model))
    tags = ", ".join(tag for tag, _ in per_model)
    rows.append((tag_key, f"one of: {tags}", "required", "", _TAGS[field]))
    rows += [r for r in per_model[0][1] if r in common and r[0] != tag_key]
    for tag, rs in per_model:
        rows += [(f"{r[0]} ({tag})", *r[1:]) for r in rs if r not in common and r[0] != tag_key]
    return rows


_TAGS = {"decoder": "the payload format", "type": "the kind of channel"}


def _tag(model: type[BaseModel], field: str) -> str:
    return str(get_args(model.model_fields[field].annotation)[0])


def _models_in(annotation: Any) -> tuple[list[type[BaseModel]], bool]:
    """The config models a field holds, and whether it holds a list of them."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models_in(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    if origin is list:
        models, _ = _models_in(get_args(annotation)[0])
        return models, True
    if origin in (Union, types.UnionType):
        found: list[type[BaseModel]] = []
        many = False
        for arg in get_args(annotation):
            m, lst = _models_in(arg)
            found += m
            many = many or lst
        return found, many
    return [], False


def _type(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _type(args[0])
    if origin in (Union, types.UnionType):
        parts = [_type(a) for a in args if a is not type(None)]
        optional = " or null" if type(None) in args else ""
        return " or ".join(dict.fromkeys(parts)) + optional
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map {_type(args[0])} → {_type(args[1])}"
    if origin is tuple:
        return f"[{', '.join(_type(a) for a in args)}]"
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "section"
        if issubclass(annotation, Enum):
            return "one of: " + ", ".join(str(m.value) for m in annotation)
        simple = {
            bool: "true/false",
            int: "integer",
            float: "number",
            str: "text",
            Path: "path",
            SecretStr: "secret: {env: NAME} or {file: PATH}",
            time: 'time "HH:MM"',
            date: "date YYYY-MM-DD",
            datetime: "date-time with offset",
        }
        for kind, text in simple.items():
            if annotation is kind:
                return text
    return str(annotation)


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    return _value(value)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, BaseModel):
        return "(see below)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, time):
        return f'"{value:%H:%M}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    return str(value)


def _unit(name: str) -> str:
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def reference_markdown() -> str:
    """The key table, between the markers docs/configuration.md holds it in."""
    lines = [
        BEGIN,
        "",
        "| key | type | default | unit | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, kind, default, unit, meaning in reference_rows():
        lines.append(f"| `{key}` | {kind} | {default} | {unit} | {meaning} |")
    lines += ["", END]
    return "\n".join(lines)


def site_schema() -> dict[str, Any]:
    """JSON Schema of a site file as written (secrets as {env}/{file} references)."""
    schema = Settings.model_json_schema()
    schema["title"] = "floorwatch site file"
    ref = SecretRef.model_json_schema()
    _secrets_as_references(schema, {k: v for k, v in ref.items() if k != "title"})
    return schema


def _secrets_as_references(node: Any, ref: dict[str, Any]) -> None:
    """A SecretStr is written as {env: NAME} or {file: PATH} (or, warned, a string)."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if isinstance(value, dict) and value.get("format") == "password":
                node[key] = {"anyOf": [ref, {"type": "string"}], **_keep(value)}
            else:
                _secrets_as_references(value, ref)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict) and value.get("format") == "password":
                node[i] = {"anyOf": [ref, {"type": "string"}]}
            else:
                _secrets_as_references(value, ref)


def _keep(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k in ("description", "title", "default")}
