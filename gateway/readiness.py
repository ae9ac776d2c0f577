"""The gateway's facts for the API's readiness check (``api.readiness``). Shell module.

Reads, never drives: the MQTT source's link, the InfluxDB writer's state and
its spool. The age of the last stored point is measured from the writer's
count of written points: each call notes when the count last grew, so the age
is exact to within the time between two calls (a health probe every few
seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from api.readiness import ReadinessFacts, StorageFacts
from gateway.influx_writer import InfluxWriter


class GatewayReadiness:
    def __init__(
        self,
        *,
        mqtt_connected: Callable[[], bool],
        writer: InfluxWriter,
        spool_warn_ratio: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mqtt_connected = mqtt_connected
        self._writer = writer
        self._warn = spool_warn_ratio
        self._clock = clock
        self._started = clock()
        self._points = 0
        self._stored_at: float | None = None

    def readiness_facts(self) -> ReadinessFacts:
        now = self._clock()
        stats = self._writer.stats()
        if stats.points_written > self._points:
            self._points = stats.points_written
            self._stored_at = now
        return ReadinessFacts(
            mqtt_connected=self._mqtt_connected(),
            storage=StorageFacts(
                failing=self._writer.failing,
                spool_fill_ratio=stats.spool_fill_ratio,
                spool_warn_ratio=self._warn,
            ),
            last_point_age_s=None if self._stored_at is None else now - self._stored_at,
            uptime_s=now - self._started,
        )
