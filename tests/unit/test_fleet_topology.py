"""The fleet's nats-server configs from literal plans (gateway.fleet.topology, pure)."""

from __future__ import annotations

import pytest

from gateway.fleet.messages import FleetSubjects
from gateway.fleet.topology import (
    CentralNode,
    CentralPlan,
    Login,
    SitePlan,
    central_conf,
    central_stream_config,
    gateway_login,
    link_login,
    link_permissions,
    link_user,
    site_conf,
    site_domain,
    site_inbox_prefix,
)

SITE = FleetSubjects("floorwatch", "hue", "thuan-hoa")
PLAN = CentralPlan(
    tuple(CentralNode(f"central-{i}", f"10.0.0.{i}") for i in (1, 2, 3)),
    users=(Login("fleet-central", "pw-central"),),
    links=(link_login("hue", "thuan-hoa", "pw-link"),),
)


def test_a_central_node_routes_to_every_node_in_the_central_domain_with_a_leafnode_port() -> None:
    text = central_conf(PLAN, "central-2", "/var/lib/nats/js")
    assert 'server_name: "central-2"' in text
    assert 'listen: "0.0.0.0:4222"' in text
    assert 'domain: "central"' in text and 'store_dir: "/var/lib/nats/js"' in text
    assert 'name: "floorwatch-central"' in text
    routes = (
        '["nats-route://10.0.0.1:6222", "nats-route://10.0.0.2:6222", "nats-route://10.0.0.3:6222"]'
    )
    assert f"routes: {routes}" in text
    assert 'listen: "0.0.0.0:7422"' in text
    assert '{"user": "fleet-central", "password": "pw-central"}' in text
    assert (
        '{"user": "link-hue-thuan-hoa", "password": "pw-link", "permissions": '
        '{"publish": ["$JSC.R.>", "$JS.S.hue-thuan-hoa.>"], '
        '"subscribe": ["$JS.hue-thuan-hoa.API.>", "$JS.FC.>", "$JS.ACK.>"]}}'
    ) in text


def test_a_site_leaf_has_its_own_domain_its_gateway_user_and_the_link_in_the_remote_urls() -> None:
    plan = SitePlan(
        SITE,
        PLAN.leaf_urls,
        gateway=gateway_login(SITE, "gateway", "pw-gw"),
        link=Login("link-hue-thuan-hoa", "p@ss/w:rd"),
    )
    text = site_conf(plan, "/var/lib/nats/js")
    assert plan.domain == "hue-thuan-hoa" == site_domain("hue", "thuan-hoa")
    assert 'domain: "hue-thuan-hoa"' in text and 'listen: "127.0.0.1:4222"' in text
    assert "nats-leaf://link-hue-thuan-hoa:p%40ss%2Fw%3Ard@10.0.0.1:7422" in text
    assert '"publish": ["floorwatch.hue.thuan-hoa.>", "$JS.API.STREAM.INFO.FLOORWATCH"' in text
    assert '"subscribe": ["_INBOX.hue.thuan-hoa.>"]' in text
    assert site_inbox_prefix(SITE) == "_INBOX.hue.thuan-hoa"


def test_the_central_stream_has_no_subjects_and_one_source_per_site_domain() -> None:
    cfg = central_stream_config(["hue-thuan-hoa", "hue-phu-xuan"], duplicate_window_s=600)
    assert "subjects" not in cfg
    assert cfg["num_replicas"] == 3 and cfg["storage"] == "file"
    assert cfg["duplicate_window"] == 600 * 10**9
    assert cfg["sources"] == [
        {
            "name": "FLOORWATCH",
            "external": {"api": "$JS.hue-thuan-hoa.API", "deliver": "$JS.S.hue-thuan-hoa"},
        },
        {
            "name": "FLOORWATCH",
            "external": {"api": "$JS.hue-phu-xuan.API", "deliver": "$JS.S.hue-phu-xuan"},
        },
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: central_stream_config(["a-b", "a-b"]), "listed twice"),
        (lambda: central_stream_config(["a.b"]), "domain 'a.b'"),
        (lambda: SitePlan(SITE, ("nats-leaf://u:p@h:7422",)), "no credentials"),
        (lambda: SitePlan(SITE, (), domain="central"), "central domain"),
        (lambda: CentralPlan(()), "at least one node"),
        (lambda: PLAN.node("central-9"), "no node 'central-9'"),
        (
            lambda: CentralPlan(PLAN.nodes, users=(Login("x", "1"),), links=(Login("x", "2"),)),
            "repeat",
        ),
    ],
)
def test_bad_plans_are_refused_with_the_reason(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_a_link_may_carry_its_own_domains_sourcing_only() -> None:
    publish, subscribe = link_permissions("hue-thuan-hoa")
    assert publish == ("$JSC.R.>", "$JS.S.hue-thuan-hoa.>")  # its own source's deliveries
    assert subscribe == ("$JS.hue-thuan-hoa.API.>", "$JS.FC.>", "$JS.ACK.>")
    assert link_user("hue", "thuan-hoa") == "link-hue-thuan-hoa"
    with pytest.raises(ValueError, match="domain"):
        link_permissions("hue.*")


def test_a_login_keeps_its_password_out_of_its_repr() -> None:
    assert "pw-link" not in repr(PLAN.links[0])
