"""fleet status's certificate check: validity end read from DER, days left, level."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest

from gateway.fleet.cert_expiry import CertificateError, check, days_left, level, not_after

# Public certificates only (their keys were thrown away), made with
#   openssl ca -selfsign -startdate 20261201000000Z -enddate ... (OpenSSL 3.0.19)
# A v1 certificate (no version field), notAfter 2027-01-15 12:00 as UTCTime:
V1_UTC = """-----BEGIN CERTIFICATE-----
MIIBGzCBwgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9mbG9vcndhdGNoIHVu
aXQwHhcNMjYxMjAxMDAwMDAwWhcNMjcwMTE1MTIwMDAwWjAaMRgwFgYDVQQDDA9m
bG9vcndhdGNoIHVuaXQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAS+4tunxYkH
28lWUf/Q83iD2Rj0jxoRIQyU90nAXDyQZ6FKwdIZ/dtwb8URDpkwwohhWD7PwQk5
ZdWDcAmIW4waMAoGCCqGSM49BAMCA0gAMEUCIQDI6NYY+fDpHZQH7y56Ja110x3E
VU7zsTu79DH4vFSWQgIgfb4IQkkR7AriqwHwKr/87G5ZLZta+0O6grZCgK7Zq04=
-----END CERTIFICATE-----
"""
# A v3 certificate (basicConstraints), notAfter 2051-03-01 as GeneralizedTime (after 2049):
V3_GENERALIZED = """-----BEGIN CERTIFICATE-----
MIIBUTCB96ADAgECAgECMAoGCCqGSM49BAMCMBoxGDAWBgNVBAMMD2Zsb29yd2F0
Y2ggdW5pdDAgFw0yNjEyMDEwMDAwMDBaGA8yMDUxMDMwMTAwMDAwMFowGjEYMBYG
A1UEAwwPZmxvb3J3YXRjaCB1bml0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
vuLbp8WJB9vJVlH/0PN4g9kY9I8aESEMlPdJwFw8kGehSsHSGf3bcG/FEQ6ZMMKI
YVg+z8EJOWXVg3AJiFuMGqMsMCowCQYDVR0TBAIwADAdBgNVHQ4EFgQUdNcr8kuJ
Zhceysb5aEr/wK4vcdwwCgYIKoZIzj0EAwIDSQAwRgIhANiiQ02q9os9MXOF9fZ1
+lIR4FhQiOl3MMbKmL2xn9ANAiEA1slkv7Fmz7eRH72g606uHdDYzk15A/gZciVF
XOOMDXw=
-----END CERTIFICATE-----
"""


def der(pem: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem)


def test_not_after_reads_a_utctime_from_a_v1_certificate() -> None:
    assert not_after(der(V1_UTC)) == datetime(2027, 1, 15, 12, tzinfo=UTC)


def test_not_after_reads_a_generalized_time_from_a_v3_certificate() -> None:
    assert not_after(der(V3_GENERALIZED)) == datetime(2051, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x02\x01\x00",
        b"\x30\x03\x02\x01\x00",
        der(V1_UTC)[:60],
        b"\x30\x85" + b"\0" * 9,
    ],
)
def test_bytes_that_are_no_certificate_are_refused(data: bytes) -> None:
    with pytest.raises(CertificateError):
        not_after(data)


def test_days_left_is_fractional_and_negative_once_past() -> None:
    until = datetime(2027, 1, 15, 12, tzinfo=UTC)
    assert days_left(until, until - timedelta(days=5, hours=12)) == 5.5
    assert days_left(until, until + timedelta(days=1)) == -1


@pytest.mark.parametrize(
    ("days", "warn", "expected"),
    [
        (90, 30, "ok"),
        (30, 30, "ok"),  # exactly the threshold: not yet
        (29.9, 30, "warn"),
        (5, 30, "warn"),
        (0.01, 30, "warn"),
        (0, 30, "expired"),
        (-3, 30, "expired"),
        (5, 3, "ok"),
    ],
)
def test_level(days: float, warn: float, expected: str) -> None:
    assert level(days, warn) == expected


def test_check_a_certificate_five_days_before_its_end_warns() -> None:
    now = datetime(2027, 1, 10, 12, tzinfo=UTC)
    c = check("127.0.0.1:4222", der(V1_UTC), now, 30)
    assert (c.days_left, c.level) == (5, "warn")
    assert c.line() == (
        "certificate 127.0.0.1:4222: 5 days left (until 2027-01-15 12:00 UTC)  WARNING: renew it"
    )
    assert c.document() == {
        "source": "127.0.0.1:4222",
        "not_after": "2027-01-15T12:00:00+00:00",
        "days_left": 5.0,
        "level": "warn",
    }


def test_check_an_expired_certificate() -> None:
    c = check("ca.crt", der(V1_UTC), datetime(2027, 2, 1, tzinfo=UTC), 30)
    assert c.level == "expired"
    assert c.line() == "certificate ca.crt: EXPIRED on 2027-01-15 12:00 UTC"


def test_check_a_certificate_far_from_its_end_is_ok() -> None:
    c = check("n", der(V3_GENERALIZED), datetime(2027, 1, 1, tzinfo=UTC), 30)
    assert c.level == "ok"
    assert "WARNING" not in c.line()
