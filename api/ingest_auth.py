"""Who may post to a ticket source: its ingest token and/or its HMAC-SHA256 signature. Pure.

A source's bearer token is an *ingest* credential: it is kept here, hashed
(HMAC-SHA256 under a per-process key, like the API's tokens), and not in the
API's TokenBook, so on any other route it is no token at all (401), and no
API token (viewer ... admin) is one of these (403 on the ingest route).

A signature is HMAC-SHA256 of the raw body under the source's ``secret``,
sent in the source's ``signature_header`` as hex or base64, with or without a
``sha256=`` prefix (GitHub's and most webhook senders' form). Every
comparison is ``hmac.compare_digest``. When a source has both a token and a
secret, a request needs both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.settings import TicketSource

DIGEST_BYTES = 32


class Verdict(StrEnum):
    OK = "ok"
    MISSING = "missing"  # a credential the source needs was not sent (401)
    BAD_TOKEN = "bad_token"  # noqa: S105 - a bearer token that is no ingest token of this source (401)
    BAD_SIGNATURE = "bad_signature"  # a signature that does not match the body (401)
    NOT_CONFIGURED = "not_configured"  # the source's secret could not be loaded: refuse all


@dataclass(frozen=True, slots=True)
class _Keys:
    token: bytes | None  # HMAC of the token under the process key
    secret: bytes | None  # the signing key itself
    header: str
    needs_token: bool
    needs_signature: bool


class IngestKeys:
    """The ticket sources' credentials, checked in constant time."""

    def __init__(self, sources: Iterable[TicketSource], key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the hashing key needs at least 16 bytes")
        self._key = key
        self._sources: dict[str, _Keys] = {}
        for s in sources:
            token = s.token.get_secret_value() if s.token is not None else None
            secret = s.secret.get_secret_value() if s.secret is not None else None
            self._sources[s.id] = _Keys(
                token=self._digest(token) if token is not None else None,
                secret=secret.encode("utf-8") if secret is not None else None,
                header=s.signature_header,
                needs_token="token" in s.model_fields_set,
                needs_signature="secret" in s.model_fields_set,
            )

    def __contains__(self, source_id: str) -> bool:
        return source_id in self._sources

    def signature_header(self, source_id: str) -> str:
        return self._sources[source_id].header

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()

    def is_ingest_token(self, presented: str) -> bool:
        """Whether ``presented`` is any source's ingest token (all compared, no early exit)."""
        digest = self._digest(presented)
        found = False
        for keys in self._sources.values():
            if keys.token is not None and hmac.compare_digest(keys.token, digest):
                found = True
        return found

    def check(
        self, source_id: str, bearer: str | None, signature: str | None, body: bytes
    ) -> Verdict:
        """May this request post to ``source_id``? (The source must exist.)"""
        keys = self._sources[source_id]
        if (keys.needs_token and keys.token is None) or (
            keys.needs_signature and keys.secret is None
        ):
            return Verdict.NOT_CONFIGURED
        if keys.needs_token:
            if bearer is None:
                return Verdict.MISSING
            if keys.token is None or not hmac.compare_digest(keys.token, self._digest(bearer)):
                return Verdict.BAD_TOKEN
        if keys.needs_signature:
            if signature is None:
                return Verdict.MISSING
            if keys.secret is None or not signature_matches(keys.secret, body, signature):
                return Verdict.BAD_SIGNATURE
        return Verdict.OK


def sign(secret: bytes, body: bytes) -> str:
    """The signature a sender puts in the header: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_matches(secret: bytes, body: bytes, presented: str) -> bool:
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    given = parse_signature(presented)
    # compare_digest on equal lengths: a malformed value compares against zeros
    return hmac.compare_digest(expected, given or bytes(DIGEST_BYTES)) and given is not None


def parse_signature(value: str) -> bytes | None:
    """The 32 bytes of a ``sha256=<hex>``, ``<hex>`` or base64 signature; None if malformed."""
    text = value.strip()
    if text[:7].lower() == "sha256=":
        text = text[7:]
    if len(text) == 2 * DIGEST_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
    return raw if len(raw) == DIGEST_BYTES else None
