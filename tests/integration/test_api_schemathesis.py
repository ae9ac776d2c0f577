"""schemathesis against the OpenAPI schema: generated requests, no server error, responses conform.

The app runs in-process (ASGI) over the in-memory floor and a HistoryReader on
the real InfluxDB 1.x fixture, with an admin token; a few examples per
operation keep it bounded. The live stream never ends, so it is tested in
test_api_stream.py instead; the planning routes need a PlanningService.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth  # sends probes: the matrix covers it

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.history import HistoryReader
from gateway.live import Severity
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.settings import InfluxConfig, Role
from tests.api_support import api_config, bearer, build_app, demo_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def api_schema(influxdb1: InfluxDB1Server, influxdb1_database: str) -> schemathesis.BaseSchema:
    site = demo_settings()
    history = HistoryReader(
        InfluxConfig(url=influxdb1.url, protocol="v1", database=influxdb1_database), site.site.id
    )
    app, floor, _ = build_app(
        site=site, history=history, config=api_config(auth_max_failures=100_000)
    )
    floor.set_count("f2-waiting", 170)
    floor.raise_alert(
        "co2_high:f2-waiting",
        rule="co2_high",
        severity=Severity.WARNING,
        message="CO2 high",
        zone_id="f2-waiting",
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The planning routes answer 503 without a PlanningService (tested with one by
    # tests/integration/test_planning_history.py).
    return schema.exclude(path="/api/v1/stream").exclude(path_regex="^/api/v1/planning/")


ADMIN = bearer(Role.ADMIN)


def send(client: TestClient, kwargs: dict[str, Any]) -> httpx.Response:
    cookies = kwargs.get("cookies") or {}
    headers = dict(kwargs["headers"])
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    response: httpx.Response = client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=headers,
        json=kwargs.get("json"),
        content=kwargs.get("data"),
    )
    return response


def test_no_server_error_and_responses_conform(api_schema: schemathesis.BaseSchema) -> None:
    # schemathesis' fixture-based pytest integration does not run on pytest 9, and its
    # requests transport not on the installed urllib3; so hypothesis drives each operation's
    # strategy here and the requests go through starlette's (httpx) TestClient.
    app = api_schema.app
    client = TestClient(app)
    statuses: list[int] = []
    operations = [r.ok() for r in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15
    for operation in operations:

        @given(
            case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE)
            | operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
        )
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=ADMIN)
            response = send(client, kwargs)
            statuses.append(response.status_code)
            case.validate_response(
                response, headers=kwargs["headers"], excluded_checks=[ignored_auth]
            )

        check()
    assert len(statuses) >= 3 * len(operations)
    assert 200 in statuses and 404 in statuses and 422 in statuses
