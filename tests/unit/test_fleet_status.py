"""gateway.fleet.status: per-site rows, text and JSON from literal stream facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.fleet.status import (
    ConsumerLag,
    StreamFacts,
    SubjectSeen,
    site_rows,
    status_document,
    status_lines,
)

NOW = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)


def facts(*seen: SubjectSeen, consumers: tuple[ConsumerLag, ...] = ()) -> StreamFacts:
    return StreamFacts(
        stream="FLOORWATCH",
        subjects=["floorwatch.ha-noi.>"],
        messages=sum(s.messages for s in seen),
        bytes=12345,
        first_seq=1,
        last_seq=sum(s.messages for s in seen),
        duplicate_window_s=600.0,
        seen=seen,
        consumers=consumers,
    )


FACTS = facts(
    SubjectSeen("floorwatch.ha-noi.ba-dinh.zone", 40, NOW - timedelta(seconds=30)),
    SubjectSeen("floorwatch.ha-noi.ba-dinh.alert", 3, NOW - timedelta(minutes=20)),
    SubjectSeen("floorwatch.ha-noi.dong-anh.zone", 12, NOW - timedelta(hours=3)),
    SubjectSeen("floorwatch.ha-noi.dong-anh.device", 2, NOW - timedelta(hours=4)),
    SubjectSeen("other.subject", 5, NOW),
    consumers=(ConsumerLag("central-1", 17, 2, 1),),
)


def test_one_row_per_site_silent_first_last_seen_is_the_newest_subject() -> None:
    rows = site_rows(FACTS, "floorwatch", NOW, silent_after_s=600)
    assert [(r.site, r.silent) for r in rows] == [("dong-anh", True), ("ba-dinh", False)]
    dong_anh, ba_dinh = rows
    assert dong_anh.last_seen == NOW - timedelta(hours=3)
    assert dong_anh.age_s == 3 * 3600
    assert dong_anh.messages == {"zone": 12, "device": 2}
    assert ba_dinh.age_s == 30
    assert ba_dinh.messages == {"zone": 40, "alert": 3}


def test_the_threshold_decides_silence() -> None:
    rows = site_rows(FACTS, "floorwatch", NOW, silent_after_s=5 * 3600)
    assert not any(r.silent for r in rows)
    rows = site_rows(FACTS, "floorwatch", NOW, silent_after_s=10)
    assert all(r.silent for r in rows)


def test_subjects_of_another_prefix_are_not_sites() -> None:
    rows = site_rows(FACTS, "other", NOW, silent_after_s=600)
    assert rows == []


def test_text_lines() -> None:
    rows = site_rows(FACTS, "floorwatch", NOW, silent_after_s=600)
    lines = status_lines(rows, FACTS, 600)
    assert lines[0] == (
        "stream FLOORWATCH (floorwatch.ha-noi.>): 62 messages, 12345 bytes, seq 1..62,"
        " duplicate window 600 s"
    )
    assert lines[1] == "sites: 2, silent for more than 600 s: 1"
    assert lines[2].split()[:4] == ["SILENT", "ha-noi.dong-anh", "3", "h"]
    assert lines[3].split()[:4] == ["ok", "ha-noi.ba-dinh", "30", "s"]
    assert lines[3].endswith("zone 40, alert 3")
    assert (
        lines[-1]
        == "  central-1                        pending 17, unacknowledged 2, redelivered 1"
    )


def test_an_empty_stream_says_so() -> None:
    empty = facts()
    lines = status_lines(site_rows(empty, "floorwatch", NOW, 600), empty, 600)
    assert lines[1] == "sites: none has published to this stream yet"
    assert lines[2] == "consumers: none"


def test_json_document() -> None:
    rows = site_rows(FACTS, "floorwatch", NOW, silent_after_s=600)
    doc = status_document(rows, FACTS, 600)
    assert doc["stream"]["messages"] == 62
    assert doc["sites"][0] == {
        "province": "ha-noi",
        "site": "dong-anh",
        "last_seen": "2026-03-09T00:00:00+00:00",
        "age_s": 10800.0,
        "silent": True,
        "messages": {"zone": 12, "device": 2},
        "stored_until": None,
        "heartbeat_at": None,
        "certificates": [],  # none reported (no bucket, or an older gateway)
        "certificates_at": None,
    }
    assert doc["consumers"] == [
        {"name": "central-1", "pending": 17, "ack_pending": 2, "redelivered": 1}
    ]


def test_the_hourly_kinds_are_counted_per_site() -> None:
    seen = facts(
        SubjectSeen("floorwatch.ha-noi.ba-dinh.zone", 40, NOW - timedelta(seconds=30)),
        SubjectSeen("floorwatch.ha-noi.ba-dinh.hourly", 9, NOW - timedelta(minutes=55)),
        SubjectSeen("floorwatch.ha-noi.ba-dinh.health", 9, NOW - timedelta(minutes=55)),
        SubjectSeen("floorwatch.ha-noi.ba-dinh.plan", 1, NOW - timedelta(hours=9)),
    )
    (row,) = site_rows(seen, "floorwatch", NOW, silent_after_s=600)
    assert row.messages == {"zone": 40, "hourly": 9, "health": 9, "plan": 1}
    assert "zone 40, hourly 9, health 9, plan 1" in "\n".join(status_lines([row], seen, 600))
