"""Throw-away certificates for the fleet's TLS tests, made at run time with the openssl CLI.

Three CAs, as a province would have them: the province's (signs the cluster
nodes' certificate, naming 127.0.0.1), the centers' (signs each center's
client certificate) and another one (a center given the wrong CA). Nothing
here is committed: every key is made in the test's temporary folder.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.peers.certs import ServerCertificates, make_certificates


@dataclass(frozen=True, slots=True)
class FleetCertificates:
    province: ServerCertificates  # the CA the centers trust, and the nodes' certificate
    centers_ca: Path  # the CA of the centers' client certificates
    center_cert: Path  # one center's client certificate (centers' CA)
    center_key: Path
    wrong_ca: Path  # a CA that signed neither


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - our arguments
        ["openssl", *args],  # noqa: S607 - openssl from PATH, as tests/peers/certs.py
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )


def client_certificate(ca: ServerCertificates, folder: Path, name: str) -> tuple[Path, Path]:
    """An EC P-256 client certificate for ``name`` signed by ``ca``, valid 2 days."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(folder, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}")  # fmt: skip
    (folder / f"{name}.ext").write_text("extendedKeyUsage=clientAuth\n")
    _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", str(ca.ca),
             "-CAkey", str(ca.ca.with_name("ca.key")), "-CAcreateserial", "-days", "2",
             "-extfile", f"{name}.ext", "-out", f"{name}.crt")  # fmt: skip
    return folder / f"{name}.crt", folder / f"{name}.key"


def make_fleet_certificates(folder: Path) -> FleetCertificates:
    province = make_certificates(folder / "province")
    centers = make_certificates(folder / "centers")
    cert, key = client_certificate(centers, folder / "centers", "hue-thuan-hoa")
    wrong = make_certificates(folder / "wrong")
    return FleetCertificates(province, centers.ca, cert, key, wrong.ca)
