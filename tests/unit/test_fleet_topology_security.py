"""The fleet configs' security from literal plans: bcrypt hashes for users, TLS on the leaf link.

A fixed salt gives a literal hash (the salt is the caller's randomness: the
CLI passes ``bcrypt.gensalt``); ``bcrypt.checkpw`` confirms that the hash the
config holds is the password's.
"""

from __future__ import annotations

import bcrypt
import pytest

from gateway.fleet.messages import FleetSubjects
from gateway.fleet.topology import (
    CentralNode,
    CentralPlan,
    HubTls,
    LeafTls,
    Login,
    SitePlan,
    bcrypt_hash,
    central_conf,
    gateway_login,
    hashed,
    is_bcrypt,
    link_login,
    site_conf,
)

SITE = FleetSubjects("floorwatch", "hue", "thuan-hoa")
SALT = b"$2b$04$floorwatchfleettestsa."
HASH = "$2b$04$floorwatchfleettestsa.vEPrH4/UFnNGF828vEFaTmwyPmd0TuK"  # of "pw-link"
NODES = tuple(CentralNode(f"central-{i}", f"10.0.0.{i}") for i in (1, 2, 3))


def test_a_hashed_login_is_written_as_its_hash_and_logs_in_with_its_password() -> None:
    login = hashed(link_login("hue", "thuan-hoa", "pw-link"), SALT)
    assert login.password == "pw-link" and login.password_hash == HASH
    assert bcrypt_hash("pw-link", SALT) == HASH
    assert bcrypt.checkpw(b"pw-link", HASH.encode())
    text = central_conf(CentralPlan(NODES, links=(login,)), "central-1", "/js")
    assert f'{{"user": "link-hue-thuan-hoa", "password": "{HASH}", "permissions"' in text
    assert "pw-link" not in text
    assert HASH not in repr(login) and "pw-link" not in repr(login)


def test_every_user_of_both_configs_is_hashed_and_only_the_links_password_is_in_clear() -> None:
    central = CentralPlan(
        NODES,
        users=(hashed(Login("fleet-central", "pw-central"), SALT),),
        links=(hashed(link_login("hue", "thuan-hoa", "pw-link"), SALT),),
    )
    text = central_conf(central, "central-2", "/js")
    assert "pw-central" not in text and "pw-link" not in text
    assert text.count('"password": "$2b$04$floorwatchfleettestsa.') == 2
    site = SitePlan(
        SITE,
        central.leaf_urls,
        gateway=hashed(gateway_login(SITE, "gateway", "pw-gw"), SALT),
        link=link_login("hue", "thuan-hoa", "pw-link"),
        users=(hashed(Login("admin", "pw-admin"), SALT),),
    )
    text = site_conf(site, "/js")
    assert "pw-gw" not in text and "pw-admin" not in text
    assert text.count('"password": "$2b$04$floorwatchfleettestsa.') == 2
    # the leaf logs in to the cluster with the link's password: its remote holds it
    assert "nats-leaf://link-hue-thuan-hoa:pw-link@10.0.0.1:7422" in text


def test_a_password_given_as_its_hash_is_written_as_it_is() -> None:
    login = hashed(Login("link-hue-a", HASH), b"$2b$04$anotheranotheranothera.")
    assert login.stored == HASH
    assert hashed(login, SALT) is login
    assert is_bcrypt(HASH) and is_bcrypt("$2a$11$" + "a" * 53)
    assert not is_bcrypt("$2b$04$short") and not is_bcrypt("pw-link")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: bcrypt_hash("x" * 73, SALT), "73 bytes: bcrypt takes 72 at most"),
        (lambda: bcrypt_hash("ắ" * 25, SALT), "75 bytes"),
        (lambda: bcrypt_hash("", SALT), "empty"),
        (lambda: Login("a", "pw", password_hash="pw"), "not a bcrypt hash"),
        (
            lambda: SitePlan(SITE, ("nats-leaf://h:7422",), link=Login("link-hue-thuan-hoa", HASH)),
            "the leaf logs in with the password itself",
        ),
        (lambda: HubTls(""), "CA file"),
        (lambda: HubTls("/ca.pem", cert_file="/c.pem"), "needs its key"),
        (lambda: HubTls("/ca.pem", key_file="/c.key"), "needs its key"),
        (lambda: LeafTls("/leaf.pem", ""), "certificate and its key"),
    ],
)
def test_bad_secrets_and_tls_settings_are_refused_with_the_reason(
    make: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_the_clusters_leafnode_port_in_tls_with_and_without_client_certificates() -> None:
    plain = central_conf(CentralPlan(NODES), "central-1", "/js")
    assert "tls" not in plain
    tls = LeafTls("/etc/nats/tls/leaf.pem", "/etc/nats/tls/leaf.key")
    text = central_conf(CentralPlan(NODES, leaf_tls=tls), "central-1", "/js")
    assert (
        "  no_advertise: true\n"
        '  tls: {"cert_file": "/etc/nats/tls/leaf.pem", "key_file": "/etc/nats/tls/leaf.key",'
        ' "timeout": 5.0}\n}'
    ) in text
    verify = LeafTls("/l.pem", "/l.key", client_ca_file="/etc/nats/tls/centers-ca.pem")
    text = central_conf(CentralPlan(NODES, leaf_tls=verify), "central-3", "/js")
    assert (
        '  tls: {"cert_file": "/l.pem", "key_file": "/l.key",'
        ' "ca_file": "/etc/nats/tls/centers-ca.pem", "verify": true, "timeout": 5.0}'
    ) in text
    # the client port and the routes stay as they were: only the leaf link crosses the WAN
    assert text.count("tls: ") == 1


def test_a_sites_remote_checks_the_cluster_against_its_ca_and_may_present_a_certificate() -> None:
    urls = CentralPlan(NODES).leaf_urls
    link = link_login("hue", "thuan-hoa", "pw-link")
    plain = site_conf(SitePlan(SITE, urls, link=link), "/js")
    assert "tls" not in plain
    tls = SitePlan(SITE, urls, link=link, hub_tls=HubTls("/etc/nats/tls/province-ca.pem"))
    assert (
        '["nats-leaf://link-hue-thuan-hoa:pw-link@10.0.0.1:7422", '
        '"nats-leaf://link-hue-thuan-hoa:pw-link@10.0.0.2:7422", '
        '"nats-leaf://link-hue-thuan-hoa:pw-link@10.0.0.3:7422"], '
        'tls: {"ca_file": "/etc/nats/tls/province-ca.pem", "timeout": 5.0}}'
    ) in site_conf(tls, "/js")
    mutual = SitePlan(
        SITE, urls, link=link, hub_tls=HubTls("/ca.pem", "/center.pem", "/center.key", 10)
    )
    assert (
        'tls: {"ca_file": "/ca.pem", "cert_file": "/center.pem", "key_file": "/center.key",'
        ' "timeout": 10}}'
    ) in site_conf(mutual, "/js")
