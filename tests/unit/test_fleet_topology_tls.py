"""TLS on the central cluster's client port and on its routes, as topology writes it."""

from __future__ import annotations

import pytest

from gateway.fleet.topology import CentralNode, CentralPlan, LeafTls, RouteTls, central_conf

NODES = tuple(CentralNode(f"central-{i}", f"10.0.0.{i}") for i in (1, 2, 3))


def test_the_client_port_in_tls_is_a_top_level_block_after_listen() -> None:
    tls = LeafTls("/etc/nats/tls/client.pem", "/etc/nats/tls/client.key")
    text = central_conf(CentralPlan(NODES, client_tls=tls), "central-2", "/js")
    assert (
        'listen: "0.0.0.0:4222"\n'
        'tls: {"cert_file": "/etc/nats/tls/client.pem", "key_file": "/etc/nats/tls/client.key",'
        ' "timeout": 5.0}\n'
        "jetstream {"
    ) in text
    assert text.count("tls: ") == 1  # neither the routes nor the leafnode port


def test_the_client_port_may_require_client_certificates() -> None:
    tls = LeafTls("/c.pem", "/c.key", client_ca_file="/etc/nats/tls/operators-ca.pem")
    text = central_conf(CentralPlan(NODES, client_tls=tls), "central-1", "/js")
    assert (
        'tls: {"cert_file": "/c.pem", "key_file": "/c.key",'
        ' "ca_file": "/etc/nats/tls/operators-ca.pem", "verify": true, "timeout": 5.0}\n'
    ) in text


def test_the_routes_in_tls_verify_the_other_nodes_both_ways() -> None:
    tls = RouteTls("/r.pem", "/r.key", "/etc/nats/tls/nodes-ca.pem")
    text = central_conf(CentralPlan(NODES, route_tls=tls), "central-3", "/js")
    cluster = text[text.index("cluster {") : text.index("leafnodes {")]
    assert (
        '  tls: {"cert_file": "/r.pem", "key_file": "/r.key", "ca_file":'
        ' "/etc/nats/tls/nodes-ca.pem", "verify": true, "timeout": 5.0}\n}'
    ) in cluster
    assert text.count("tls: ") == 1


def test_all_three_ports_in_tls_each_with_its_own_block() -> None:
    plan = CentralPlan(
        NODES,
        leaf_tls=LeafTls("/l.pem", "/l.key"),
        client_tls=LeafTls("/c.pem", "/c.key"),
        route_tls=RouteTls("/r.pem", "/r.key", "/ca.pem"),
    )
    text = central_conf(plan, "central-1", "/js")
    assert [line.split('"cert_file": ')[1][:7] for line in text.splitlines() if "tls:" in line] == [
        '"/c.pem',
        '"/r.pem',
        '"/l.pem',
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "/r.key", "/ca.pem"), "certificate, its key and the nodes' CA"),
        (("/r.pem", "", "/ca.pem"), "certificate, its key and the nodes' CA"),
        (("/r.pem", "/r.key", ""), "certificate, its key and the nodes' CA"),
    ],
)
def test_route_tls_needs_its_certificate_key_and_ca(
    args: tuple[str, str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RouteTls(*args)
