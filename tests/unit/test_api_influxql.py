"""InfluxQL building and result parsing for zone history (api/influxql.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.influxql import (
    QueryError,
    RangeError,
    Resolution,
    check_range,
    identifier,
    occupancy_query,
    parse_result,
    string_literal,
    time_ns,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def unquote_literal(text: str) -> str:
    """Read an InfluxQL single-quoted literal back, failing on any unescaped quote."""
    assert text[0] == "'" and text[-1] == "'"
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            out.append(body[i + 1])
            i += 2
            continue
        assert ch != "'", f"unescaped quote in {text!r}"
        out.append(ch)
        i += 1
    return "".join(out)


@given(st.text())
def test_string_literals_round_trip_and_never_close_early(value: str) -> None:
    assert unquote_literal(string_literal(value)) == value


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("f2-waiting", "'f2-waiting'"),
        ("it's", "'it\\'s'"),
        ("a\\' OR 1=1 --", "'a\\\\\\' OR 1=1 --'"),
        ("Sảnh chờ", "'Sảnh chờ'"),
    ],
)
def test_string_literal_table(value: str, literal: str) -> None:
    assert string_literal(value) == literal


def test_identifier_escapes_quotes() -> None:
    assert identifier('we"ird') == '"we\\"ird"'


def test_injection_attempt_stays_inside_the_literal() -> None:
    q = occupancy_query("demo", "x' OR ''='", T0, T0 + timedelta(hours=1), Resolution.M15)
    assert "\"zone\" = 'x\\' OR \\'\\'=\\''" in q
    assert q.count(" AND time >= ") == 1


def test_query_uses_integer_nanosecond_times_and_the_resolution() -> None:
    q = occupancy_query("demo", "f2-waiting", T0, T0 + timedelta(hours=1), Resolution.M1)
    assert f"time >= {time_ns(T0)} AND time < {time_ns(T0) + 3_600_000_000_000}" in q
    assert 'GROUP BY time(1m), "source" fill(none)' in q


def test_time_ns_is_exact() -> None:
    assert time_ns(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005_000
    assert time_ns(datetime(2026, 12, 1, 8, 0, tzinfo=timezone(timedelta(hours=7)))) == time_ns(T0)


@pytest.mark.parametrize(
    ("span", "resolution", "error"),
    [
        (timedelta(hours=24), Resolution.M1, None),
        (timedelta(hours=24, seconds=1), Resolution.M1, "at most 1 day"),
        (timedelta(days=15), Resolution.M15, None),
        (timedelta(days=16), Resolution.M15, "15 days"),
        (timedelta(days=62), Resolution.H1, None),
        (timedelta(days=63), Resolution.H1, "62 days"),
        (timedelta(0), Resolution.H1, "after start"),
        (timedelta(hours=-1), Resolution.H1, "after start"),
    ],
)
def test_ranges_are_bounded(span: timedelta, resolution: Resolution, error: str | None) -> None:
    if error is None:
        check_range(T0, T0 + span, resolution)
    else:
        with pytest.raises(RangeError, match=error):
            check_range(T0, T0 + span, resolution)


def test_naive_times_are_refused() -> None:
    with pytest.raises(RangeError, match="time zone"):
        check_range(datetime(2026, 12, 1), T0, Resolution.H1)


def test_parse_result_reads_series_per_tag() -> None:
    body = {
        "results": [
            {
                "statement_id": 0,
                "series": [
                    {
                        "name": "zone_occupancy",
                        "tags": {"source": "pc-1"},
                        "columns": ["time", "mean", "max"],
                        "values": [[1764550800000, 12.5, 20], [1764551700000, None, None]],
                    }
                ],
            }
        ]
    }
    [series] = parse_result(body, "source")
    assert series.tag == "pc-1"
    assert series.rows[0] == (datetime(2025, 12, 1, 1, 0, tzinfo=UTC), {"mean": 12.5, "max": 20.0})
    assert series.rows[1][1] == {"mean": None, "max": None}


@pytest.mark.parametrize(
    "body",
    [
        {"error": "bad"},
        {"results": [{"error": "database not found: x"}]},
        {"results": []},
        {"results": [{"series": [{"columns": ["time"], "values": [["yesterday"]]}]}]},
    ],
)
def test_parse_result_refuses_errors_and_nonsense(body: dict[str, object]) -> None:
    with pytest.raises(QueryError):
        parse_result(body, "source")


def test_an_empty_result_has_no_series() -> None:
    assert parse_result({"results": [{"statement_id": 0}]}, "source") == []
