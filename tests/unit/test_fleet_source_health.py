"""gateway.fleet.source_health: reading the sources of a STREAM.INFO answer, picking suspects."""

from __future__ import annotations

import pytest

from gateway.fleet.source_health import SourceSeen, StallTracker, parse_sources


def info(*sources: dict[str, object]) -> dict[str, object]:
    return {"config": {"name": "FLOORWATCH"}, "sources": list(sources)}


def src(domain: str | None, active: int | None, lag: int = 0, **extra: object) -> dict[str, object]:
    out: dict[str, object] = {"name": "FLOORWATCH", "lag": lag, **extra}
    if active is not None:
        out["active"] = active
    if domain is not None:
        out["external"] = {"api": f"$JS.{domain}.API", "deliver": ""}
    return out


def test_sources_are_told_apart_by_their_domain_and_silence_is_in_seconds() -> None:
    got = parse_sources(
        info(
            src("hue-a", 1_500_000_000, lag=3),
            src("hue-b", -1),  # never heard
            src(None, 5),  # a source in the cluster's own domain: not a site's
            src("hue-c", 2, error={"code": 404, "description": "stream not found"}),
        )
    )
    assert got == [
        SourceSeen("hue-a", 1.5, 3),
        SourceSeen("hue-b", None, 0),
        SourceSeen("hue-c", 2e-9, 0, "stream not found"),
    ]
    assert parse_sources({"config": {}}) == []


def test_a_source_silent_past_the_limit_is_a_suspect_and_a_healthy_one_is_not() -> None:
    t = StallTracker(30)
    seen = [SourceSeen("hue-a", 0.4, 0), SourceSeen("hue-b", 31.0, 0), SourceSeen("hue-c", 30, 0)]
    assert t.suspects(100.0, seen) == ["hue-b"]


def test_a_never_heard_source_counts_its_silence_on_the_trackers_clock() -> None:
    t = StallTracker(30)
    never = [SourceSeen("hue-a", None, 0)]
    assert t.suspects(100.0, never) == []
    assert t.suspects(130.0, never) == []  # exactly the limit: not yet
    assert t.suspects(130.5, never) == ["hue-a"]
    # heard in between: the count starts again when it falls silent for good
    assert t.suspects(131.0, [SourceSeen("hue-a", 0.5, 0)]) == []
    assert t.suspects(132.0, never) == []
    assert t.suspects(162.5, never) == ["hue-a"]


def test_a_source_acted_on_is_left_alone_for_the_limit_then_suspected_again() -> None:
    t = StallTracker(30)
    silent = [SourceSeen("hue-a", 100.0, 0)]
    assert t.suspects(0.0, silent) == ["hue-a"]
    t.acted("hue-a", 0.0)
    assert t.suspects(10.0, silent) == []
    assert t.suspects(29.9, silent) == []
    assert t.suspects(30.0, silent) == ["hue-a"]


def test_a_source_removed_from_the_stream_is_forgotten() -> None:
    t = StallTracker(30)
    t.suspects(0.0, [SourceSeen("hue-a", None, 0)])
    t.acted("hue-a", 0.0)
    assert t.suspects(1.0, []) == []
    # added again later: a new source, its own count from now
    assert t.suspects(2.0, [SourceSeen("hue-a", None, 0)]) == []
    assert t.suspects(32.5, [SourceSeen("hue-a", None, 0)]) == ["hue-a"]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        StallTracker(0)
