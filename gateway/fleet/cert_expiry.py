"""How long the fleet's TLS certificates have left, and when that is worth a warning. Pure module.

``fleet status`` reads certificates two ways (gateway.fleet.nats_tls): the one
a cluster node presents in a TLS handshake (its clients' or leafnode port)
and the files the central file names. Both arrive here as DER bytes;
``not_after`` reads the certificate's validity end from them without a
crypto library (the X.509 structure up to ``validity`` is fixed: RFC 5280
4.1), ``subject`` the name it was issued to (a center's certificates,
gateway.fleet.site_certs), and ``check`` turns it into days left and a level
against a threshold, with the time passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Level = Literal["ok", "warn", "expired"]

_SEQUENCE = 0x30
_INTEGER = 0x02
_VERSION = 0xA0  # [0] EXPLICIT Version, absent in a v1 certificate
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


class CertificateError(ValueError):
    """Bytes that are not a DER X.509 certificate this module can read."""


def _element(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the content, end of the content) of the DER element at ``at``."""
    if at + 2 > len(der):
        raise CertificateError("truncated DER")
    tag, first = der[at], der[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + count > len(der):
            raise CertificateError("a DER length this module does not read")
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    if at + length > len(der):
        raise CertificateError("truncated DER")
    return tag, at, at + length


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii", errors="replace")
    if not text.endswith("Z"):
        raise CertificateError(f"a validity time not in UTC: {text!r}")
    if tag == _UTC_TIME and len(text) == 13:
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"  # RFC 5280 4.1.2.5.1
    elif not (tag == _GENERALIZED_TIME and len(text) == 15):
        raise CertificateError(f"a validity time this module does not read: {text!r}")
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise CertificateError(f"a validity time that is no date: {text!r}") from exc


def not_after(der: bytes) -> datetime:
    """The end of a DER certificate's validity (``notAfter``), in UTC."""
    tag, at, _ = _element(der, 0)
    if tag != _SEQUENCE:
        raise CertificateError("not a certificate (no outer SEQUENCE)")
    tag, at, end = _element(der, at)  # tbsCertificate
    if tag != _SEQUENCE:
        raise CertificateError("not a certificate (no tbsCertificate)")
    tag, start, stop = _element(der, at)
    if tag == _VERSION:
        at = stop
        tag, start, stop = _element(der, at)
    for expected in (_INTEGER, _SEQUENCE, _SEQUENCE):  # serial, signature, issuer
        if tag != expected:
            raise CertificateError("not a certificate (unexpected field before validity)")
        at = stop
        tag, start, stop = _element(der, at)
    if tag != _SEQUENCE or stop > end:
        raise CertificateError("not a certificate (no validity)")
    tag, _, before_end = _element(der, start)  # notBefore
    tag, start, stop = _element(der, before_end)  # notAfter
    return _time(tag, der[start:stop])


def days_left(until: datetime, now: datetime) -> float:
    """Days from ``now`` to ``until`` (negative: past)."""
    return (until - now).total_seconds() / 86400


def level(days: float, warn_days: float) -> Level:
    """``expired`` when past, ``warn`` under ``warn_days`` left, else ``ok``."""
    if days <= 0:
        return "expired"
    if days < warn_days:
        return "warn"
    return "ok"


@dataclass(frozen=True, slots=True)
class CertCheck:
    """One certificate seen: where (a server's port or a file), until when, days left, level."""

    source: str
    not_after: datetime
    days_left: float
    level: Level

    def line(self) -> str:
        until = self.not_after.strftime("%Y-%m-%d %H:%M UTC")
        if self.level == "expired":
            return f"certificate {self.source}: EXPIRED on {until}"
        mark = "  WARNING: renew it" if self.level == "warn" else ""
        return f"certificate {self.source}: {self.days_left:.0f} days left (until {until}){mark}"

    def document(self) -> dict[str, object]:
        return {
            "source": self.source,
            "not_after": self.not_after.isoformat(),
            "days_left": round(self.days_left, 2),
            "level": self.level,
        }


def check(source: str, der: bytes, now: datetime, warn_days: float) -> CertCheck:
    """``der``'s days left at ``now`` and its level against ``warn_days``."""
    until = not_after(der)
    days = days_left(until, now)
    return CertCheck(source, until, days, level(days, warn_days))


# --------------------------------------------------------------------------- the subject

#: The attribute types a subject names in practice (RFC 5280 4.1.2.4), by their DER OID.
_NAMES = {
    bytes.fromhex("550403"): "CN",
    bytes.fromhex("550406"): "C",
    bytes.fromhex("550407"): "L",
    bytes.fromhex("550408"): "ST",
    bytes.fromhex("55040a"): "O",
    bytes.fromhex("55040b"): "OU",
    bytes.fromhex("550405"): "serialNumber",
}
_OID = 0x06
_SET = 0x31
_BMP_STRING = 0x1E


def _walk(der: bytes, start: int, stop: int) -> list[tuple[int, int, int]]:
    """The DER elements one after another from ``start`` to ``stop``."""
    out = []
    while start < stop:
        tag, begin, end = _element(der, start)
        if end > stop:
            raise CertificateError("truncated DER")
        out.append((tag, begin, end))
        start = end
    return out


def _text(tag: int, raw: bytes) -> str:
    if tag == _BMP_STRING:
        return raw.decode("utf-16-be", errors="replace")
    return raw.decode("utf-8", errors="replace")  # UTF8String, PrintableString, IA5String...


def subject(der: bytes) -> str:
    """A DER certificate's subject as ``C=VN,O=...,CN=...``: its attributes in the
    certificate's order (as ``openssl x509 -subject`` prints them), one of a type not
    named here under its OID's DER bytes in hex."""
    tag, at, _ = _element(der, 0)
    if tag != _SEQUENCE:
        raise CertificateError("not a certificate (no outer SEQUENCE)")
    tag, at, end = _element(der, at)  # tbsCertificate
    fields = _walk(der, at, end)
    if fields and fields[0][0] == _VERSION:
        fields = fields[1:]
    # serial, signature, issuer, validity, subject
    if len(fields) < 5 or fields[4][0] != _SEQUENCE:
        raise CertificateError("not a certificate (no subject)")
    _, begin, stop = fields[4]
    parts = []
    for set_tag, set_begin, set_end in _walk(der, begin, stop):
        if set_tag != _SET:
            raise CertificateError("a subject that is not a sequence of sets")
        for seq_tag, seq_begin, seq_end in _walk(der, set_begin, set_end):
            pair = _walk(der, seq_begin, seq_end) if seq_tag == _SEQUENCE else []
            if len(pair) != 2 or pair[0][0] != _OID:
                raise CertificateError("a subject attribute that is not (type, value)")
            (_, oid_begin, oid_end), (value_tag, value_begin, value_end) = pair
            oid = der[oid_begin:oid_end]
            name = _NAMES.get(oid, oid.hex())
            parts.append(f"{name}={_text(value_tag, der[value_begin:value_end])}")
    return ",".join(parts)
