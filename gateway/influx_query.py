"""InfluxQL over ``GET /query``: quoting, and the request a site's InfluxDB config makes. Pure module.

Both readers of the history (api.history for the zone charts, gateway.planning.history
for the forecasts and HVAC advice) send InfluxQL to ``/query``, which InfluxDB
1.x answers natively and 2.x/3.x through their v1 compatibility API:

- protocol ``v1``: ``db`` = ``database``, ``rp`` = ``retention_policy`` when
  set, basic auth with ``username``/``password`` when a user is set;
- protocol ``v2``: ``db`` = ``bucket`` (mapped by DBRP on 2.x),
  ``Authorization: Token <token>`` when a token is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import InfluxConfig


def string_literal(value: str) -> str:
    """An InfluxQL string literal: 'it\\'s'."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(value: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class HistoryError(Exception):
    """The stored history could not be read (unreachable, refused, nonsense); the message says why.

    The API answers it with 503 ``history_unavailable`` wherever it is raised.
    """


@dataclass(frozen=True, slots=True)
class QueryTarget:
    """What every ``/query`` request to this InfluxDB carries besides ``q``."""

    params: dict[str, str]  # db, rp, epoch=ms
    headers: dict[str, str]
    auth: tuple[str, str] | None  # basic auth (v1)


def query_target(config: InfluxConfig) -> QueryTarget:
    params = {"epoch": "ms"}
    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    if config.protocol == "v1":
        params["db"] = config.database
        if config.retention_policy:
            params["rp"] = config.retention_policy
        if config.username is not None:
            password = config.password.get_secret_value() if config.password else ""
            auth = (config.username, password)
    else:
        params["db"] = config.bucket
        if config.token is not None:
            headers["Authorization"] = "Token " + config.token.get_secret_value()
    return QueryTarget(params, headers, auth)
