"""The dates and times the API takes: RFC 3339 / ISO 8601 text, years 2000 to 2099."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from api.timebounds import DATE_PATTERN, DATETIME_PATTERN, BoundedDate, BoundedDateTime

TIMES = TypeAdapter(BoundedDateTime)
DAYS = TypeAdapter(BoundedDate)
OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)


@settings(derandomize=True, max_examples=300)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)),
    OFFSETS,
)
def test_every_time_in_range_with_an_offset_is_taken_as_written(
    naive: datetime, tz: timezone
) -> None:
    at = naive.replace(tzinfo=tz)
    text = at.isoformat()
    assert re.fullmatch(DATETIME_PATTERN, text)
    assert TIMES.validate_python(text) == at


@settings(derandomize=True, max_examples=300)
@given(
    st.one_of(
        st.datetimes(max_value=datetime(1999, 12, 31, 23, 59, 59)),
        st.datetimes(min_value=datetime(2100, 1, 1)),
    )
)
def test_every_time_outside_the_years_is_refused(naive: datetime) -> None:
    text = naive.replace(tzinfo=UTC).isoformat()
    with pytest.raises(ValidationError, match="years 2000 to 2099"):
        TIMES.validate_python(text)


@pytest.mark.parametrize(
    "value",
    [
        1_700_000_000,
        1_700_000_000.5,
        "1700000000",
        "2026-12-01T08:00:00",  # no offset
        "2026-12-01T08:00Z",  # no seconds
        "2026-12-01 08:00:00Z",  # not RFC 3339
        "2026-12-01T08:00:00+0700",
        "2026-12-01",
        datetime(2026, 12, 1, 8),  # naive, from Python
        "",
        None,
    ],
)
def test_numbers_and_loose_text_are_not_times(value: object) -> None:
    with pytest.raises(ValidationError, match="RFC 3339|ISO 8601"):
        TIMES.validate_python(value)


def test_a_date_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValidationError):
        TIMES.validate_python("2026-02-29T00:00:00Z")
    with pytest.raises(ValidationError):
        DAYS.validate_python("2026-02-29")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2000-01-01", True),
        ("2099-12-31", True),
        ("1999-12-31", False),
        ("2100-01-01", False),
        ("0001-01-01", False),
        ("20261201", False),
        ("1764547200", False),
        (1764547200, False),
        (date(2026, 12, 1), True),
        (date(1677, 9, 21), False),
    ],
)
def test_dates(value: object, ok: bool) -> None:
    if ok:
        assert DAYS.validate_python(value).year in range(2000, 2100)
        assert isinstance(value, date) or re.fullmatch(DATE_PATTERN, str(value))
    else:
        with pytest.raises(ValidationError, match="years 2000 to 2099"):
            DAYS.validate_python(value)
