"""The fleet topology on real nats-servers: a 3-node cluster and site leaves in their own domains.

Two sites publish to their own leaf (the uplink's way: the leaf's JetStream,
its domain); the central stream on the cluster (R3) sources both through
their domains and holds every message, in order per site, with its message
id. A site added later is one more source and catches up from its first
message. The generated configs pass ``nats-server -t``.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from gateway.fleet.central_stream import add_sites, sourced_domains
from gateway.fleet.messages import FleetSubjects
from gateway.fleet.topology import (
    CentralNode,
    CentralPlan,
    Login,
    SitePlan,
    central_conf,
    gateway_login,
    site_conf,
)
from gateway.peers.nats import NatsCluster, _nats_binary
from tests.peers.nats import LeafFactory

STREAM = "FLOORWATCH"
WAIT_S = 60.0


def site(name: str) -> FleetSubjects:
    return FleetSubjects("floorwatch", "hue", name)


async def publish(url: str, subjects: FleetSubjects, n: int) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=[subjects.site_wildcard], duplicate_window=600)
        for i in range(n):
            subject = f"{subjects.site_root}.zone"
            await js.publish(subject, b"%d" % i, headers={"Nats-Msg-Id": f"{subject}:{i}"})
    finally:
        await nc.close()


async def central_contents(js: JetStreamContext, count: int) -> list[tuple[str, bytes, str]]:
    async def poll() -> None:
        while (await js.stream_info(STREAM)).state.messages < count:  # noqa: ASYNC110 - a poll
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), WAIT_S)
    out = []
    for seq in range(1, count + 1):
        m = await js.get_msg(STREAM, seq)
        out.append((m.subject or "", m.data or b"", (m.headers or {})["Nats-Msg-Id"]))
    return out


def test_the_central_stream_sources_each_sites_stream_through_its_domain(
    nats_cluster: NatsCluster, nats_leaf: LeafFactory
) -> None:
    a, b, c = site("thuan-hoa"), site("phu-xuan"), site("huong-thuy")
    leaf_a, leaf_b = nats_leaf(a), nats_leaf(b)
    asyncio.run(publish(leaf_a.url, a, 20))
    asyncio.run(publish(leaf_b.url, b, 20))

    async def main() -> None:
        nc = await nats.connect(nats_cluster.urls)
        try:
            js = nc.jetstream()
            change = await add_sites(js, [leaf_a.domain, leaf_b.domain])
            assert change.created and change.added == ("hue-thuan-hoa", "hue-phu-xuan")
            got = await central_contents(js, 40)
            info = await js.stream_info(STREAM)
            assert info.config.subjects in (None, [])
            assert info.config.num_replicas == 3 and info.cluster is not None
            assert len(info.cluster.replicas or []) == 2  # a leader and two replicas
            for s in (a, b):
                mine = [(data, mid) for subj, data, mid in got if subj.startswith(s.site_root)]
                assert [d for d, _ in mine] == [b"%d" % i for i in range(20)]  # in order
                assert [m for _, m in mine] == [f"{s.site_root}.zone:{i}" for i in range(20)]

            # adding a site is adding a source: it catches up from its first message
            leaf_c = nats_leaf(c)
            await publish(leaf_c.url, c, 5)
            change = await add_sites(js, [leaf_a.domain, leaf_c.domain])
            assert not change.created and change.added == ("hue-huong-thuy",)
            assert change.present == ("hue-thuan-hoa",)
            got = await central_contents(js, 45)
            assert [d for s, d, _ in got if s.startswith(c.site_root)] == [
                b"0",
                b"1",
                b"2",
                b"3",
                b"4",
            ]
            info = await js.stream_info(STREAM)
            assert sourced_domains(info) == ("hue-thuan-hoa", "hue-phu-xuan", "hue-huong-thuy")
        finally:
            await nc.close()

    asyncio.run(main())


@pytest.mark.parametrize("which", ["central", "site"])
def test_the_generated_configs_pass_nats_servers_own_check(which: str, tmp_path: Path) -> None:
    s = site("thuan-hoa")
    plan = CentralPlan(
        tuple(CentralNode(f"c{i}", f"10.0.0.{i}") for i in (1, 2, 3)),
        users=(Login("fleet-central", "pw-central"),),
        links=(Login("link-hue-thuan-hoa", "pw-link"),),
    )
    if which == "central":
        text = central_conf(plan, "c2", str(tmp_path / "js"))
    else:
        leaf = SitePlan(
            s,
            plan.leaf_urls,
            gateway=gateway_login(s, "gateway", "pw-gw"),
            link=Login("link-hue-thuan-hoa", "p@ss/word"),
        )
        text = site_conf(leaf, str(tmp_path / "js"))
    conf = tmp_path / "nats.conf"
    conf.write_text(text)
    done = subprocess.run(  # noqa: S603 - our binary, our file
        [_nats_binary(), "-t", "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
