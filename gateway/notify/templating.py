"""Fill a templated HTTP call: URL, headers and JSON or form body. Pure module.

Placeholders are ``{name}`` with a name of ``config.PLACEHOLDERS``; nothing
else is interpreted (no attribute access, no format specs), so a message that
contains braces is sent as written. Values are put into strings and the JSON
is built afterwards: a quote or a newline in a message never breaks the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import JsonValue

from gateway.notify.config import PLACEHOLDER, HttpChannel


@dataclass(frozen=True, slots=True)
class HttpCall:
    method: str
    url: str
    headers: dict[str, str]
    json: JsonValue
    form: dict[str, str] | None


def fill(template: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def fill_json(value: JsonValue, values: Mapping[str, str]) -> JsonValue:
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [fill_json(v, values) for v in value]
    if isinstance(value, dict):
        return {fill(k, values): fill_json(v, values) for k, v in value.items()}
    return value


def shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def http_call(channel: HttpChannel, values: Mapping[str, str], idempotency_key: str) -> HttpCall:
    """The request for one message (and one recipient, if ``values`` names it)."""
    v = dict(values)
    v.update(channel.secrets())
    v["idempotency_key"] = idempotency_key
    for name in ("text", "body"):
        if name in v:
            v[name] = shorten(v[name], channel.max_chars)
    headers = {k: fill(h, v) for k, h in channel.headers.items()}
    if channel.idempotency_header:
        headers.setdefault(channel.idempotency_header, idempotency_key)
    return HttpCall(
        method=channel.method,
        url=fill(channel.url, v),
        headers=headers,
        json=fill_json(channel.json_body, v) if channel.json_body is not None else None,
        form={k: fill(f, v) for k, f in channel.form_body.items()} if channel.form_body else None,
    )


def field_value(data: JsonValue, path: str) -> JsonValue:
    """``field_value({"a": {"b": 1}}, "a.b")`` -> 1; a missing step gives None."""
    current = data
    for step in path.split("."):
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return None
    return current


def answer_ok(channel: HttpChannel, data: JsonValue) -> tuple[bool, str]:
    """Whether a 2xx answer is a success per ``channel.success``, with why not."""
    check = channel.success
    if check is None:
        return True, ""
    got = field_value(data, check.field)
    if got in check.ok or str(got) in {str(o) for o in check.ok}:
        return True, ""
    return False, f"answer field {check.field}={got!r}, expected one of {check.ok!r}"
