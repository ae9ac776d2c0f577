"""Dates and times the API takes in queries: ISO 8601 text, years 2000 to 2099. Pure module.

pydantic alone takes numbers as dates (``1700000000`` is a Unix time), naive
times, and any year from 1 to 9999; a history query then overflows
(``0001-01-01`` minus a span) or asks InfluxDB for a time outside its
nanosecond range (1677 to 2262), which it refuses. These types take text only,
RFC 3339 (ISO 8601 with seconds and a UTC offset) for times, within years 2000 to 2099 (a gateway
stores nothing older, and InfluxDB holds every time in that span); anything
else is a 422 that says what is expected. The same bounds are written into the
OpenAPI schema as a ``pattern``, so clients and schemathesis see them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

FIRST_YEAR = 2000
LAST_YEAR = 2099
_YEAR = r"20[0-9]{2}"
_DAY = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = rf"^{_DAY}$"
DATETIME_PATTERN = (  # RFC 3339 (the OpenAPI "date-time"), years 2000-2099
    rf"^{_DAY}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,9}})?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)

DATETIME_EXPECTED = (
    "an RFC 3339 date and time (ISO 8601 with seconds and a UTC offset),"
    f" years {FIRST_YEAR} to {LAST_YEAR}, e.g. 2026-12-01T08:00:00+07:00"
)
DATE_EXPECTED = f"an ISO 8601 date, years {FIRST_YEAR} to {LAST_YEAR}, e.g. 2026-12-01"


def _datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):  # from Python (tests, defaults): check the year only
        text = value.isoformat() if value.tzinfo is not None else ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = ""
    if not _DATETIME.fullmatch(text):
        raise ValueError(f"expected {DATETIME_EXPECTED}")
    return value


def _date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = ""
    if not _DATE.fullmatch(text):
        raise ValueError(f"expected {DATE_EXPECTED}")
    return value


BoundedDateTime = Annotated[
    datetime,
    BeforeValidator(_datetime_text),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": DATETIME_PATTERN,
            "description": DATETIME_EXPECTED,
        }
    ),
]
BoundedDate = Annotated[
    date,
    BeforeValidator(_date_text),
    WithJsonSchema(
        {"type": "string", "format": "date", "pattern": DATE_PATTERN, "description": DATE_EXPECTED}
    ),
]
