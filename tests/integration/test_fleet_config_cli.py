"""``floorwatch fleet config site|central|stream`` and ``fleet sources`` (real nats-servers).

The printed configs carry the users and passwords from the files and pass
``nats-server -t``; ``fleet sources`` creates the central stream on a real
3-node cluster with the site's source, then adds only the sources it lacks; a
missing password file, a bad member or a hub URL with credentials exits 2.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import nats
from typer.testing import CliRunner

from gateway.cli import app
from gateway.peers.nats import NatsCluster, _nats_binary

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
    assert '"user": "link-hue-thuan-hoa", "password": "link-pw-1"' in text
    assert '"subscribe": ["$JS.hue-thuan-hoa.API.>", "$JS.FC.>", "$JS.ACK.>"]' in text
    assert '"user": "fleet-central", "password": "c-pw"' in text
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

    stream = invoke("fleet", "config", "stream", "--domain", "hue-thuan-hoa", "--replicas", "3")
    assert '"api": "$JS.hue-thuan-hoa.API"' in stream

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
            return [s.external.api for s in info.config.sources or [] if s.external]
        finally:
            await nc.close()

    assert asyncio.run(sources()) == ["$JS.hue-thuan-hoa.API", "$JS.hue-a.API"]


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
