"""nats_tls's helpers that need no server: the URL's addresses, a PEM file's certificates."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.fleet.cert_expiry import not_after
from gateway.fleet.nats_tls import client_context, file_certificates, server_addresses
from tests.unit.test_fleet_cert_expiry import V1_UTC, V3_GENERALIZED


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tls://nats1.hue.example:4222", [("nats1.hue.example", 4222)]),
        ("nats://10.0.0.1", [("10.0.0.1", 4222)]),
        ("tls://10.0.0.1:4222,10.0.0.2:4223", [("10.0.0.1", 4222), ("10.0.0.2", 4223)]),
        ("nats://a:1,nats://b:2", [("a", 1), ("b", 2)]),
    ],
)
def test_server_addresses(url: str, expected: list[tuple[str, int]]) -> None:
    assert server_addresses(url) == expected


def test_a_ca_file_with_two_certificates_gives_both(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_text(V1_UTC + "\n" + V3_GENERALIZED)
    assert [not_after(d).year for d in file_certificates(path)] == [2027, 2051]


def test_a_file_without_certificates_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert file_certificates(path) == []


def test_no_tls_settings_no_context() -> None:
    assert client_context(None) is None
