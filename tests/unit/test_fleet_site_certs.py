"""A center's own certificates seen from the province, from literal values and an injected
clock: the subject and end read from DER, the heartbeat's entries (and an older gateway's
heartbeat without them), the fold into the site document, fleet status's lines and JSON,
the page's badge, and when the uplink's heartbeat carries them."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.fleet.central import merge_site_state
from gateway.fleet.cert_expiry import CertificateError, subject
from gateway.fleet.messages import (
    FleetDecodeError,
    FleetSubjects,
    Heartbeat,
    decode,
    heartbeat_message,
    zone_message,
)
from gateway.fleet.nats_tls import site_certificates
from gateway.fleet.overview import center_row
from gateway.fleet.site_certs import (
    SiteCertificate,
    checks,
    days_shown,
    first_end,
    from_der,
    parse,
    reported,
    unreadable,
)
from gateway.fleet.status import StreamFacts, SubjectSeen, site_rows, status_document, status_lines
from gateway.fleet.uplink import FleetUplink
from gateway.live import LiveEvent
from gateway.settings import FleetConfig
from tests.unit.test_fleet_cert_expiry import V1_UTC
from tests.unit.test_fleet_heartbeat import zone

SUBJECTS = FleetSubjects("floorwatch", "hue", "thuan-hoa")
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PATH = "/etc/nats/tls/center.pem"
# Public, its key thrown away: openssl req -x509 -utf8 -subj "/C=VN/O=Sở TTTT Huế/CN=hue-thuan-hoa"
# (OpenSSL 3.0), notAfter 2027-01-05 09:13:09 UTC.
CENTER = """-----BEGIN CERTIFICATE-----
MIIB0zCCAXmgAwIBAgIUSZnuSFKd3HNPq5sATy6neXDM+RowCgYIKoZIzj0EAwIw
PzELMAkGA1UEBhMCVk4xGDAWBgNVBAoMD1Phu58gVFRUVCBIdeG6vzEWMBQGA1UE
AwwNaHVlLXRodWFuLWhvYTAeFw0yNjEyMDYwOTEzMDlaFw0yNzAxMDUwOTEzMDla
MD8xCzAJBgNVBAYTAlZOMRgwFgYDVQQKDA9T4bufIFRUVFQgSHXhur8xFjAUBgNV
BAMMDWh1ZS10aHVhbi1ob2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQxoF7G
eL79b5fcYv/JWigYHLY7t1j9tpRzZaAjJgHq5S9P+fRhZSlOJ+ntgnCy7FpCwtbb
KmgrP8KjEc0/R+C9o1MwUTAdBgNVHQ4EFgQUVRYCdqDpgbtfja65uk5WHK23jfkw
HwYDVR0jBBgwFoAUVRYCdqDpgbtfja65uk5WHK23jfkwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNIADBFAiAfLli3FhaKPm2rW9XxhcjmmNotRSNPhVQqIUpR
C7urRgIhAN79Z62zAiJQ4yJ54dSHku9YdIbWsZh1YS6Wqh5AaRKX
-----END CERTIFICATE-----
"""
ENDS = datetime(2027, 1, 5, 9, 13, 9, tzinfo=UTC)
LINK = SiteCertificate("link", PATH, "C=VN,O=Sở TTTT Huế,CN=hue-thuan-hoa", ENDS)


def der(pem: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem)


# --------------------------------------------------------------------------- reading DER


def test_subject_and_end_of_a_center_certificate_in_utf8() -> None:
    assert subject(der(CENTER)) == "C=VN,O=Sở TTTT Huế,CN=hue-thuan-hoa"
    assert subject(der(V1_UTC)) == "CN=floorwatch unit"  # a v1 certificate: no version field
    assert from_der("link", PATH, der(CENTER)) == LINK


def test_bytes_that_are_no_certificate_give_an_error_entry() -> None:
    with pytest.raises(CertificateError):
        subject(der(CENTER)[:90])
    bad = from_der("uplink", "/x.pem", b"\x30\x03\x02\x01\x00")
    assert (bad.not_after, bad.subject) == (None, None) and bad.error
    assert bad.entry() == {"source": "uplink", "path": "/x.pem", "error": bad.error}


# --------------------------------------------------------------------------- entries


def test_entries_round_trip_and_a_newer_gateways_extra_keys_are_ignored() -> None:
    gone = unreadable("uplink", "/etc/fw/gw.pem", "[Errno 2] No such file or directory")
    sent = [LINK.entry(), gone.entry()]
    assert sent[0] == {
        "source": "link",
        "path": PATH,
        "subject": "C=VN,O=Sở TTTT Huế,CN=hue-thuan-hoa",
        "not_after": "2027-01-05T09:13:09+00:00",
    }
    assert parse(sent) == (LINK, gone)
    assert parse([{**sent[0], "serial": "49"}]) == (LINK,)


@pytest.mark.parametrize(
    "raw",
    [
        {"source": "link"},
        [["link"]],
        [{"source": "link", "path": PATH}],  # neither an end nor an error
        [{"source": "link", "path": PATH, "subject": "CN=x", "not_after": "soon"}],
        [{"source": "link", "path": PATH, "subject": "CN=x", "not_after": "2027-01-05T09:13:09"}],
        [{"source": 1, "path": PATH, "error": "x"}],
    ],
)
def test_parse_refuses_what_is_not_a_list_of_entries(raw: object) -> None:
    with pytest.raises(ValueError):
        parse(raw)


# --------------------------------------------------------------------------- the heartbeat


def test_a_heartbeat_with_certificates_decodes_and_one_without_them_still_does() -> None:
    with_certs = heartbeat_message(SUBJECTS, Heartbeat(T0, 60.0, 0, certificates=(LINK,)), 60)
    body = decode("floorwatch", with_certs.subject, with_certs.payload).body
    assert parse(body["certificates"]) == (LINK,)
    # an older gateway's heartbeat (literal, as sent before this field): decoded as before
    old = (
        b'{"v":1,"province":"hue","site":"thuan-hoa","kind":"heartbeat",'
        b'"heartbeat":{"at":"2026-12-01T01:00:30+00:00","uptime_s":3600.0,"queue":3}}'
    )
    assert "certificates" not in decode("floorwatch", with_certs.subject, old).body
    plain = heartbeat_message(SUBJECTS, Heartbeat(T0, 60.0, 0), 60)
    assert "certificates" not in json.loads(plain.payload)["heartbeat"]


def test_a_heartbeat_with_a_malformed_certificates_field_is_refused() -> None:
    m = heartbeat_message(SUBJECTS, Heartbeat(T0, 60.0, 0, certificates=(LINK,)), 60)
    doc = json.loads(m.payload)
    doc["heartbeat"]["certificates"] = [{"source": "link"}]
    with pytest.raises(FleetDecodeError, match="certificate"):
        decode("floorwatch", m.subject, json.dumps(doc).encode())


def beat(at: datetime, certs: tuple[SiteCertificate, ...] | None) -> Any:
    m = heartbeat_message(SUBJECTS, Heartbeat(at, 60.0, 0, certificates=certs), 60)
    return decode("floorwatch", m.subject, m.payload)


def test_the_site_document_keeps_the_latest_reported_list() -> None:
    renewed = SiteCertificate("link", PATH, LINK.subject, ENDS + timedelta(days=365))
    state = merge_site_state(None, beat(T0, (LINK,)))
    state = merge_site_state(state, beat(T0 + timedelta(minutes=1), None))  # carries none
    assert reported(state) == (T0, (LINK,))
    state = merge_site_state(state, beat(T0 + timedelta(minutes=2), (renewed,)))
    state = merge_site_state(state, beat(T0 + timedelta(seconds=30), (LINK,)))  # late: ignored
    assert reported(state) == (T0 + timedelta(minutes=2), (renewed,))
    assert state["heartbeat"]["at"] == (T0 + timedelta(minutes=2)).isoformat()
    assert reported({"heartbeat": {}}) is None  # an older gateway's document


# --------------------------------------------------------------------------- judged at a time


def test_levels_lines_and_the_pages_badge_at_an_injected_time() -> None:
    gone = unreadable("uplink", "/etc/fw/gw.pem", "no certificate in the file")
    at = {
        "ok": ENDS - timedelta(days=30),
        "warn": ENDS - timedelta(days=29, hours=12),
        "expired": ENDS,
    }
    for want, now in at.items():
        (judged, bad) = checks((LINK, gone), now, 30)
        assert (judged.level, bad.level) == (want, "unreadable")
    (warn,) = checks((LINK,), at["warn"], 30)
    assert warn.line() == (
        f"certificate link C=VN,O=Sở TTTT Huế,CN=hue-thuan-hoa ({PATH}): 30 days left"
        " (until 2027-01-05 09:13 UTC)  WARNING: renew it"
    )
    (expired,) = checks((LINK,), ENDS + timedelta(hours=1), 30)
    assert expired.line().endswith("EXPIRED on 2027-01-05 09:13 UTC")
    assert (
        bad.line()
        == "certificate uplink (/etc/fw/gw.pem): cannot read it (no certificate in the file)"
    )
    assert first_end((gone, LINK)) == ENDS and first_end((gone,)) is None
    assert days_shown(ENDS, ENDS - timedelta(days=30), 30) is None
    assert days_shown(ENDS, ENDS - timedelta(days=29, hours=1), 30) == 30
    assert days_shown(ENDS, ENDS - timedelta(hours=2), 30) == 1
    assert days_shown(ENDS, ENDS, 30) == 0  # expired
    assert days_shown(ENDS, ENDS + timedelta(days=3), 30) == -3


def test_fleet_status_shows_a_centers_certificate_under_its_row() -> None:
    facts = StreamFacts(
        stream="FLOORWATCH",
        subjects=["floorwatch.hue.>"],
        messages=2,
        bytes=900,
        first_seq=1,
        last_seq=2,
        duplicate_window_s=600,
        seen=[SubjectSeen("floorwatch.hue.thuan-hoa.heartbeat", 2, T0)],
        consumers=[],
        certificates={"hue.thuan-hoa": (T0, (LINK,))},
    )
    now = ENDS - timedelta(days=5)
    (row,) = site_rows(facts, "floorwatch", now, 10**9, cert_warn_days=30)
    (cert,) = row.certificates
    assert (cert.level, round(cert.days_left or 0)) == ("warn", 5)
    lines = status_lines([row], facts, 10**9)
    assert lines[3].strip() == (
        f"certificate link C=VN,O=Sở TTTT Huế,CN=hue-thuan-hoa ({PATH}): 5 days left"
        " (until 2027-01-05 09:13 UTC)  WARNING: renew it  (reported 2026-12-06T09:00:00+00:00)"
    )
    site = status_document([row], facts, 10**9)["sites"][0]
    assert site["certificates"] == [
        {
            "source": "link",
            "path": PATH,
            "subject": "C=VN,O=Sở TTTT Huế,CN=hue-thuan-hoa",
            "not_after": "2027-01-05T09:13:09+00:00",
            "days_left": 5.0,
            "level": "warn",
            "error": None,
        }
    ]
    assert site["certificates_at"] == "2026-12-06T09:00:00+00:00"
    (calm,) = site_rows(facts, "floorwatch", now, 10**9, cert_warn_days=4)
    assert calm.certificates[0].level == "ok"


def test_the_pages_row_says_the_days_only_within_30() -> None:
    state = merge_site_state(None, beat(T0, (LINK,)))
    far = center_row("hue.thuan-hoa", state, None, ENDS - timedelta(days=40), 600)
    near = center_row("hue.thuan-hoa", state, None, ENDS - timedelta(days=12, hours=3), 600)
    assert (far.cert_not_after, far.cert_days_left) == (ENDS, None)
    assert (near.cert_not_after, near.cert_days_left) == (ENDS, 13)
    older = center_row("hue.thuan-hoa", {"last_seen": T0.isoformat()}, None, T0, 600)
    assert (older.cert_not_after, older.cert_days_left) == (None, None)


# --------------------------------------------------------------------------- the uplink


async def no_events() -> AsyncIterator[LiveEvent]:
    return
    yield  # pragma: no cover


def carried(m: Any) -> object:
    return json.loads(m.payload)["heartbeat"].get("certificates")


def test_the_uplink_sends_them_at_start_on_a_change_and_hourly() -> None:
    now = [T0]
    cfg = FleetConfig(enabled=True, province="hue", queue_size=100)
    uplink = FleetUplink(cfg, SUBJECTS, no_events, clock=lambda: now[0])
    renewed = SiteCertificate("link", PATH, LINK.subject, ENDS + timedelta(days=365))

    def at(minutes: float, certs: tuple[SiteCertificate, ...]) -> object:
        now[0] = T0 + timedelta(minutes=minutes)
        beat = carried(uplink.heartbeat(certs))
        uplink._queue.clear()  # published and acked, as _publish_head leaves the queue
        return beat

    assert at(0, (LINK,)) == [LINK.entry()]  # at start
    assert at(1, (LINK,)) is None
    assert at(2, (renewed,)) == [renewed.entry()]  # changed
    assert at(61, (renewed,)) is None
    assert at(62, (renewed,)) == [renewed.entry()]  # an hour since
    assert at(63, ()) == []  # the files taken out of the site file: an empty list


def test_a_replaced_or_dropped_heartbeat_hands_its_certificates_on() -> None:
    now = [T0]
    cfg = FleetConfig(enabled=True, province="hue", queue_size=100)
    uplink = FleetUplink(cfg, SUBJECTS, no_events, clock=lambda: now[0])
    uplink.offer(zone_message(SUBJECTS, zone(T0)))  # the head: the link is down
    assert carried(uplink.heartbeat((LINK,))) == [LINK.entry()]
    now[0] += timedelta(minutes=1)
    second = uplink.heartbeat((LINK,))  # replaces the first, which never went
    assert carried(second) == [LINK.entry()]
    assert [carried(m) for m in uplink.pending_messages()[1:]] == [[LINK.entry()]]
    # a full queue drops the heartbeat that carried them: the next one carries them
    small = FleetUplink(
        cfg.model_copy(update={"queue_size": 1}), SUBJECTS, no_events, clock=lambda: now[0]
    )
    assert carried(small.heartbeat((LINK,))) == [LINK.entry()]
    small.offer(zone_message(SUBJECTS, zone(T0)))
    assert carried(small.heartbeat((LINK,))) == [LINK.entry()]


def test_the_site_files_certificates_as_read_for_the_heartbeat(tmp_path: Path) -> None:
    pem = tmp_path / "center.pem"
    pem.write_text(CENTER)
    cfg = FleetConfig(enabled=True, province="hue", link_cert_file=pem)
    (read,) = site_certificates(cfg)
    assert (read.source, read.path, read.not_after) == ("link", str(pem), ENDS)
    pem.write_text("not a certificate")
    (gone,) = site_certificates(cfg)
    assert gone.not_after is None and gone.error == "no certificate in the file"
