"""The site file's fleet TLS settings: off unless given, both client cert and key or neither,
every file readable; a config error names the setting, the path and why."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.config_loader import ConfigError, parse_settings
from gateway.fleet.nats_tls import nats_tls
from gateway.settings import FleetConfig

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("ca.crt", "gw.crt", "gw.key"):
        out[name] = tmp_path / name
        out[name].write_text("-----BEGIN CERTIFICATE-----\n")
    return out


def test_off_unless_given() -> None:
    cfg = FleetConfig()
    assert (cfg.tls_ca_file, cfg.tls_cert_file, cfg.tls_key_file) == (None, None, None)
    assert cfg.cert_warn_days == 30
    assert nats_tls(cfg) is None  # nats-py's own choice: no TLS for nats://


def test_all_three_files_and_a_threshold(files: dict[str, Path]) -> None:
    cfg = FleetConfig.model_validate(
        {
            "url": "tls://10.0.0.5:4222",
            "tls_ca_file": str(files["ca.crt"]),
            "tls_cert_file": str(files["gw.crt"]),
            "tls_key_file": str(files["gw.key"]),
            "cert_warn_days": 14,
        }
    )
    assert cfg.tls_ca_file == files["ca.crt"] and cfg.cert_warn_days == 14


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"tls_cert_file": "{dir}/gw.crt"}, "give both tls_cert_file and tls_key_file, or neither"),
        ({"tls_key_file": "{dir}/gw.key"}, "give both tls_cert_file and tls_key_file, or neither"),
        (
            {"tls_ca_file": "{dir}/missing.crt"},
            "tls_ca_file: cannot read {dir}/missing.crt (No such",
        ),
        (
            {"tls_cert_file": "{dir}/gw.crt", "tls_key_file": "{dir}/missing.key"},
            "tls_key_file: cannot read {dir}/missing.key (No such file",
        ),
        ({"tls_ca_file": "{dir}"}, "tls_ca_file: cannot read {dir} (Is a directory)"),
        ({"cert_warn_days": 0}, "greater than 0"),
    ],
)
def test_bad_tls_settings_are_refused_with_the_reason(
    files: dict[str, Path], given: dict[str, Any], message: str
) -> None:
    folder = files["ca.crt"].parent
    values = {k: v.format(dir=folder) if isinstance(v, str) else v for k, v in given.items()}
    with pytest.raises(ValidationError) as info:
        FleetConfig.model_validate(values)
    assert message.format(dir=folder) in str(info.value)


def test_an_unreadable_file_is_refused(files: dict[str, Path]) -> None:
    files["ca.crt"].chmod(0)
    try:
        files["ca.crt"].read_bytes()
    except PermissionError:
        pass
    else:
        pytest.skip("running as root: a mode-0 file is still readable")
    with pytest.raises(ValidationError, match=r"tls_ca_file: cannot read .*Permission denied"):
        FleetConfig(tls_ca_file=files["ca.crt"])


def test_the_site_file_names_the_setting_in_its_error(tmp_path: Path) -> None:
    text = DEMO_TEXT + (
        f"\nfleet:\n  enabled: true\n  province: hue\n  url: tls://10.0.0.5:4222\n"
        f"  tls_ca_file: {tmp_path / 'nowhere.crt'}\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_settings(text, {})
    issues = [str(i) for i in info.value.issues]
    assert any(
        i.startswith("fleet") and f"tls_ca_file: cannot read {tmp_path / 'nowhere.crt'}" in i
        for i in issues
    ), issues


def test_the_uplinks_context_trusts_the_sites_ca(tmp_path: Path) -> None:
    from tests.peers.certs import make_certificates

    certs = make_certificates(tmp_path / "ca")
    ctx = nats_tls(FleetConfig(tls_ca_file=certs.ca))
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert len(ctx.get_ca_certs()) == 1
