"""``floorwatch fleet config site|central|stream`` and ``fleet sources`` (real nats-servers).

The printed configs carry the users from the files with their passwords'
bcrypt hashes (a file holding a hash is written as it is; a center's config
holds the link's password, which its leaf logs in with) and pass
``nats-server -t``, in TLS too (certificates made at run time);
``fleet sources`` creates the central stream on a real 3-node cluster with
the site's source, then adds only the sources it lacks; a missing password
file, a bad member, a hub URL with credentials, half a TLS setting or a link
password given as its hash exits 2.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import bcrypt
import nats
import pytest
from nats.js.api import StreamConfig
from typer.testing import CliRunner

from gateway.cli import app
from gateway.fleet.topology import central_stream_config
from gateway.peers.nats import NatsCluster, _nats_binary
from tests.integration.fleet_tls_support import FleetCertificates, make_fleet_certificates

RUNNER = CliRunner()


def invoke(*args: str) -> str:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def check(conf: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our binary, our file
        [_nats_binary(), "-t", "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def secret(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return path


def hash_of(text: str, user: str) -> bytes:
    """The password the config holds for ``user`` (users are written one JSON object a line)."""
    for line in text.splitlines():
        if f'"user": "{user}"' in line:
            return str(json.loads(line.strip())["password"]).encode()
    raise AssertionError(f"no user {user}")


def test_the_printed_configs_run_and_fleet_sources_adds_the_site(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    links = tmp_path / "links"
    secret(links / "hue-thuan-hoa", "link-pw-1")
    central = tmp_path / "central-2.conf"
    central.write_text(
        invoke(
            *("fleet", "config", "central", "--node", "c2", "--links", str(links)),
            *("--member", "c1=10.0.0.1", "--member", "c2=10.0.0.2", "--member", "c3=10.0.0.3"),
            *("--user", f"fleet-central={secret(tmp_path / 'central-pw', 'c-pw')}"),
            *("--store-dir", str(tmp_path / "js")),
        )
    )
    text = central.read_text()
    assert "link-pw-1" not in text and "c-pw" not in text
    assert bcrypt.checkpw(b"link-pw-1", hash_of(text, "link-hue-thuan-hoa"))
    assert hash_of(text, "link-hue-thuan-hoa").startswith(b"$2b$11$")  # nats-server's cost
    assert '"subscribe": ["$JS.hue-thuan-hoa.API.>", "$JS.FC.>", "$JS.ACK.>"]' in text
    assert '"publish": ["$JSC.R.>", "$JS.S.hue-thuan-hoa.>"]' in text  # its own source only
    assert bcrypt.checkpw(b"c-pw", hash_of(text, "fleet-central"))
    check(central)

    site = tmp_path / "site.conf"
    site.write_text(
        invoke(
            *("fleet", "config", "site", "--province", "hue", "--site", "thuan-hoa"),
            *("--hub", nats_cluster.leaf_urls[0], "--hub", nats_cluster.leaf_urls[1]),
            "--link-password-file",
            str(secret(tmp_path / "link", "link-pw-1")),
            "--gateway-password-file",
            str(secret(tmp_path / "gw", "gw-pw")),
            *("--store-dir", str(tmp_path / "site-js")),
        )
    )
    check(site)
    assert "link-hue-thuan-hoa:link-pw-1@127.0.0.1" in site.read_text()
    assert "gw-pw" not in site.read_text()
    assert bcrypt.checkpw(b"gw-pw", hash_of(site.read_text(), "gateway"))

    stream = invoke("fleet", "config", "stream", "--domain", "hue-thuan-hoa", "--replicas", "3")
    assert '"api": "$JS.hue-thuan-hoa.API"' in stream
    assert '"deliver": "$JS.S.hue-thuan-hoa"' in stream

    conf = tmp_path / "central.yaml"
    conf.write_text(f"nats:\n  url: {nats_cluster.urls[0]}\n  stream: CLI_SOURCES\n")
    out = invoke("fleet", "sources", "-c", str(conf), "--add", "hue-thuan-hoa")
    assert out == "stream CLI_SOURCES created with: hue-thuan-hoa\n"
    out = invoke("fleet", "sources", "-c", str(conf), "--add", "hue-thuan-hoa", "--add", "hue-a")
    assert out == "stream CLI_SOURCES now also sources: hue-a\nalready sourced: hue-thuan-hoa\n"

    async def sources() -> list[str]:
        nc = await nats.connect(nats_cluster.urls)
        try:
            info = await nc.jetstream().stream_info("CLI_SOURCES")
            return [
                f"{s.external.api} {s.external.deliver or '-'}"
                for s in info.config.sources or []
                if s.external
            ]
        finally:
            await nc.close()

    assert asyncio.run(sources()) == [
        "$JS.hue-thuan-hoa.API $JS.S.hue-thuan-hoa",
        "$JS.hue-a.API $JS.S.hue-a",
    ]

    # a stream from before the sources' own prefixes: --add restarts its sources with them
    async def old_style() -> None:
        nc = await nats.connect(nats_cluster.urls)
        try:
            await nc.jetstream().delete_stream("CLI_SOURCES")
            config = central_stream_config(["hue-thuan-hoa", "hue-a"], name="CLI_SOURCES")
            for src in config["sources"]:
                del src["external"]["deliver"]
            await nc.jetstream().add_stream(StreamConfig.from_response(config))
        finally:
            await nc.close()

    asyncio.run(old_style())
    out = invoke("fleet", "sources", "-c", str(conf), "--add", "hue-thuan-hoa")
    assert out == (
        "already sourced: hue-thuan-hoa\nrestarted with the site's own delivery prefix (they"
        " resume after their last message): hue-thuan-hoa\n"
    )
    assert asyncio.run(sources()) == [
        "$JS.hue-a.API -",  # not named: left as it was
        "$JS.hue-thuan-hoa.API $JS.S.hue-thuan-hoa",
    ]


def test_a_missing_password_file_exits_2_and_says_which(tmp_path: Path) -> None:
    result = RUNNER.invoke(
        app,
        [
            *("fleet", "config", "site", "--province", "hue", "--site", "thuan-hoa"),
            *("--hub", "nats-leaf://10.0.0.1:7422"),
            *("--link-password-file", str(tmp_path / "nope")),
            *("--gateway-password-file", str(tmp_path / "nope")),
        ],
    )
    assert result.exit_code == 2
    assert "password: cannot read" in result.output and "nope" in result.output


def test_a_bad_member_or_hub_exits_2(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["fleet", "config", "central", "--node", "c1", "--member", "c1"])
    assert result.exit_code == 2 and "NAME=HOST" in result.output
    pw = secret(tmp_path / "pw", "x")
    result = RUNNER.invoke(
        app,
        [
            *("fleet", "config", "site", "--province", "hue", "--site", "a"),
            *("--hub", "nats-leaf://u:p@10.0.0.1:7422"),
            *("--link-password-file", str(pw), "--gateway-password-file", str(pw)),
        ],
    )
    assert result.exit_code == 2 and "no credentials" in result.output


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> FleetCertificates:
    return make_fleet_certificates(tmp_path_factory.mktemp("cli-certs"))


def test_tls_options_give_configs_nats_server_accepts_and_a_hash_file_is_kept(
    certs: FleetCertificates, tmp_path: Path
) -> None:
    links = tmp_path / "links"
    given = bcrypt.hashpw(b"only-the-center-knows", bcrypt.gensalt(4)).decode()
    secret(links / "hue-thuan-hoa", given)  # the center sent only its hash
    central = tmp_path / "central-1.conf"
    central.write_text(
        invoke(
            *("fleet", "config", "central", "--node", "c1", "--links", str(links)),
            *("--member", "c1=10.0.0.1", "--member", "c2=10.0.0.2", "--member", "c3=10.0.0.3"),
            *("--leaf-cert", str(certs.province.cert), "--leaf-key", str(certs.province.key)),
            *("--leaf-client-ca", str(certs.centers_ca), "--bcrypt-cost", "4"),
            *("--store-dir", str(tmp_path / "js")),
        )
    )
    text = central.read_text()
    assert hash_of(text, "link-hue-thuan-hoa").decode() == given
    assert f'"ca_file": "{certs.centers_ca}", "verify": true' in text
    check(central)
    site = tmp_path / "site.conf"
    site.write_text(
        invoke(
            *("fleet", "config", "site", "--province", "hue", "--site", "thuan-hoa"),
            *("--hub", "nats-leaf://10.0.0.1:7422", "--bcrypt-cost", "4"),
            *("--link-password-file", str(secret(tmp_path / "link", "only-the-center-knows"))),
            *("--gateway-password-file", str(secret(tmp_path / "gw", "gw-pw"))),
            *("--hub-ca", str(certs.province.ca), "--client-cert", str(certs.center_cert)),
            *("--client-key", str(certs.center_key), "--store-dir", str(tmp_path / "site-js")),
        )
    )
    assert hash_of(site.read_text(), "gateway").startswith(b"$2b$04$")
    assert f'tls: {{"ca_file": "{certs.province.ca}", "cert_file"' in site.read_text()
    check(site)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("central", "--leaf-cert", "/c.pem"), "both --leaf-cert and --leaf-key"),
        (("central", "--leaf-client-ca", "/ca.pem"), "both --leaf-cert and --leaf-key"),
        (("site", "--client-cert", "/c.pem", "--client-key", "/c.key"), "need --hub-ca"),
        (("site", "--hub-ca", "/ca.pem", "--client-cert", "/c.pem"), "needs its key"),
        (("site", "--link-hash"), "the leaf logs in with the password itself"),
    ],
)
def test_half_a_tls_setting_or_a_link_hash_for_the_leaf_exits_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    pw = secret(tmp_path / "pw", "x")
    link = secret(tmp_path / "link", "$2b$04$" + "a" * 53) if "--link-hash" in args else pw
    if args[0] == "central":
        argv = ["central", "--node", "c1", "--member", "c1=10.0.0.1", *args[1:]]
    else:
        argv = [
            *("site", "--province", "hue", "--site", "a", "--hub", "nats-leaf://10.0.0.1:7422"),
            *("--link-password-file", str(link), "--gateway-password-file", str(pw)),
            *(a for a in args[1:] if a != "--link-hash"),
        ]
    result = RUNNER.invoke(app, ["fleet", "config", *argv])
    assert result.exit_code == 2, result.output
    assert message in result.output
