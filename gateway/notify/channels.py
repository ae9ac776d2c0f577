"""Channel adapters: Apprise (e-mail, Telegram, ntfy, ...) and templated HTTP. Shell module.

``sender(channel)`` gives an object with ``async send(message, already)``:
it delivers one rendered message, or raises ``ChannelError`` with a short
reason (secrets scrubbed) and the recipients that did get it, so a retry
skips them. Apprise is blocking: it runs in a worker thread, one send at a
time (its log capture is process-wide). HTTP calls go through httpx and carry
the message's idempotency key (header ``Idempotency-Key`` by default, or
``{idempotency_key}`` in a template), per recipient ``<key>-<n>``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import apprise
import httpx
from pydantic import JsonValue

from gateway.notify.config import AppriseChannel, HttpChannel
from gateway.notify.templating import answer_ok, fill, http_call


class ChannelError(Exception):
    """A message was not delivered; ``delivered`` recipients did get it."""

    def __init__(self, reason: str, delivered: frozenset[int] = frozenset()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delivered = delivered


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered message as the channels send it."""

    key: str  # idempotency key: the same on every retry of this message
    title: str
    body: str
    severity: str = "info"
    kind: str = "raised"
    alert_ids: str = ""
    zone: str = ""
    site: str = ""
    # Files attached where the channel can (Apprise: e-mail, Telegram, ...; HTTP: never).
    attachments: tuple[Path, ...] = ()
    html: bool = False  # the body is HTML (Apprise turns it into text for text-only channels)

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}"

    def values(self) -> dict[str, str]:
        return {
            "title": self.title,
            "body": self.body,
            "text": self.text,
            "severity": self.severity,
            "kind": self.kind,
            "alert_ids": self.alert_ids,
            "zone": self.zone,
            "site": self.site,
        }


class Sender(Protocol):
    async def send(self, message: Outgoing, already: frozenset[int]) -> None: ...

    async def close(self) -> None: ...


def scrub(text: str, secrets: Mapping[str, str]) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, "***")
    return text


_APPRISE_LOCK = threading.Lock()


class AppriseSender:
    def __init__(self, channel: AppriseChannel) -> None:
        self._channel = channel

    async def close(self) -> None:
        """Nothing held between messages."""

    async def send(self, message: Outgoing, already: frozenset[int]) -> None:
        if 0 in already:
            return
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that comes with
        # the result, and the notifier, cancelled once by the gateway's TaskGroup, carries on
        async with asyncio.timeout(self._channel.timeout_s * 4):
            await asyncio.to_thread(self._send_sync, message)

    def _send_sync(self, message: Outgoing) -> None:
        secrets = self._channel.secrets()
        url = fill(self._channel.url, secrets)
        with _APPRISE_LOCK:
            client = apprise.Apprise()
            capture = apprise.LogCapture(level=apprise.logging.WARNING)  # type: ignore[no-untyped-call]
            with capture as captured:
                if not client.add(url):
                    scheme = url.partition("://")[0]
                    raise ChannelError(f"Apprise does not accept this {scheme}:// URL")
                ok = bool(
                    client.notify(
                        body=message.body,
                        title=message.title,
                        body_format=apprise.NotifyFormat.HTML if message.html else None,
                        attach=[str(p) for p in message.attachments] or None,
                    )
                )
                log_text = str(captured.getvalue())
        if not ok:
            lines = [ln.split(" - ", 2)[-1].strip() for ln in log_text.splitlines() if ln.strip()]
            reason = "; ".join(lines[-3:]) or "Apprise reported a failure"
            raise ChannelError(scrub(reason, secrets)[:500])


class HttpSender:
    """One httpx client per channel, made at the first message and kept (connections reused)."""

    def __init__(self, channel: HttpChannel) -> None:
        self._channel = channel
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, message: Outgoing, already: frozenset[int]) -> None:
        c = self._channel
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=c.timeout_s, follow_redirects=False)
        recipients: list[str | None] = list(c.recipients) or [None]
        done = set(already)
        for i, recipient in enumerate(recipients):
            if i in done:
                continue
            values = message.values()
            key = message.key
            if recipient is not None:
                values["recipient"] = recipient
                key = f"{message.key}-{i}" if len(recipients) > 1 else message.key
            try:
                await self._call(self._client, values, key)
            except ChannelError as exc:
                raise ChannelError(exc.reason, frozenset(done)) from None
            done.add(i)

    async def _call(self, client: httpx.AsyncClient, values: dict[str, str], key: str) -> None:
        c = self._channel
        call = http_call(c, values, key)
        secrets = c.secrets()
        try:
            response = await client.request(
                call.method,
                call.url,
                headers=call.headers,
                json=call.json if call.json is not None else None,
                data=call.form,
            )
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ChannelError(scrub(reason, secrets)[:300]) from None
        if not response.is_success:
            snippet = response.text[:200].strip()
            raise ChannelError(scrub(f"HTTP {response.status_code}: {snippet}", secrets))
        if c.success is not None:
            try:
                data: JsonValue = json.loads(response.content or b"null")
            except ValueError:
                raise ChannelError(
                    f"HTTP {response.status_code}, answer is not JSON: {response.text[:100]!r}"
                ) from None
            ok, why = answer_ok(c, data)
            if not ok:
                raise ChannelError(scrub(why, secrets))


def sender(channel: AppriseChannel | HttpChannel) -> Sender:
    if isinstance(channel, AppriseChannel):
        return AppriseSender(channel)
    return HttpSender(channel)
