"""Where a dead letter goes and what it says (gateway.fleet.messages): its subject keeps the
province and site when the original had them, never overlaps the sites' subjects, and its
headers are one printable line each, with the message id that stores it once."""

from __future__ import annotations

import pytest

from gateway.fleet.central_config import CentralConfig
from gateway.fleet.messages import (
    FleetKind,
    FleetSubjects,
    dead_letter_headers,
    dead_letter_subject,
    dead_letter_wildcard,
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("floorwatch.ha-noi.ba-dinh.zone", "floorwatch_dead.ha-noi.ba-dinh"),
        ("floorwatch.ha-noi.ba-dinh.bogus", "floorwatch_dead.ha-noi.ba-dinh"),
        ("floorwatch.ha-noi.ba-dinh.zone.extra", "floorwatch_dead.ha-noi.ba-dinh"),
        ("floorwatch.ha-noi.ba-dinh", "floorwatch_dead.ha-noi.ba-dinh"),
        ("floorwatch.ha-noi", "floorwatch_dead.unknown.unknown"),
        ("floorwatch", "floorwatch_dead.unknown.unknown"),
        ("other.ha-noi.ba-dinh.zone", "floorwatch_dead.unknown.unknown"),
        ("floorwatch.hà-nội.ba-dinh.zone", "floorwatch_dead.unknown.unknown"),
    ],
)
def test_subject(subject: str, expected: str) -> None:
    assert dead_letter_subject("floorwatch", subject) == expected


def test_dead_letters_never_match_the_sites_subjects() -> None:
    """The sites' streams and the central stream hold ``<prefix>.>``: a dead letter's first
    token is another, so no stream of theirs can take it, nor the dead letters' theirs."""
    site = FleetSubjects("floorwatch", "ha-noi", "ba-dinh")
    assert dead_letter_wildcard("floorwatch") == "floorwatch_dead.>"
    for kind in FleetKind:
        dead = dead_letter_subject("floorwatch", site.subject(kind))
        assert dead == "floorwatch_dead.ha-noi.ba-dinh"
        assert dead.split(".")[0] != site.prefix


def test_headers_carry_the_origin_and_the_id_of_the_stream_and_sequence() -> None:
    assert dead_letter_headers("payload is not JSON", "floorwatch.a.b.zone", "FLOORWATCH", 42) == {
        "Floorwatch-Reason": "payload is not JSON",
        "Floorwatch-Subject": "floorwatch.a.b.zone",
        "Floorwatch-Stream": "FLOORWATCH",
        "Floorwatch-Stream-Seq": "42",
        "Nats-Msg-Id": "FLOORWATCH:42",
    }


def test_a_plain_message_has_no_origin_and_no_id() -> None:
    headers = dead_letter_headers("why", "floorwatch.a", None, None)
    assert set(headers) == {"Floorwatch-Reason", "Floorwatch-Subject"}


def test_header_values_are_one_printable_ascii_line_and_bounded() -> None:
    headers = dead_letter_headers("bad\r\nline «ý»" + "x" * 5000, "floorwatch.hà.b", "S", 1)
    for value in headers.values():
        assert value.isascii() and value.isprintable()
        assert len(value) <= 1024
    assert headers["Floorwatch-Reason"].startswith("bad line \\xab")
    assert headers["Floorwatch-Subject"] == "floorwatch.h\\xe0.b"


def test_the_central_file_keeps_dead_letters_by_default() -> None:
    cfg = CentralConfig.model_validate({}).dead_letters
    assert (cfg.enabled, cfg.stream, cfg.max_age_days, cfg.replicas) == (
        True,
        "FLEET_DEAD",
        30,
        None,
    )
