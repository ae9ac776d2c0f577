"""PlanPublisher: the next open day's staffing plan into InfluxDB, daily. Shell module.

The managers' dashboard sets the plan (measurement ``staffing_plan``, see
``plan_points``) against the counters actually open. At start the publisher
writes the plan of the next open day (and today's, when today is an open day
and ``planning.publish_at`` has not passed yet: a gateway started in the
morning still shows today's plan), then every day at ``publish_at`` local
time, after closing, the plan of the next open day. A failed round (InfluxDB
down, history unreadable) is logged and tried again after ``retry_s``.
The plan reads InfluxDB over HTTP, so each round runs in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta

import structlog

from gateway.influx_writer import make_client
from gateway.planning.plan_points import next_publish
from gateway.planning.service import PlanningService
from gateway.settings import InfluxConfig, PlanningConfig

log = structlog.get_logger("floorwatch.planning")

Write = Callable[[str], None]


def influx_write(config: InfluxConfig) -> Write:
    """A ``write(body)`` that posts line protocol to the database of ``config`` (v1 or v2)."""

    def write(body: str) -> None:
        client = make_client(config)
        try:
            client.prepare()
            client.write(body)
        finally:
            client.close()

    return write


def store_plan(service: PlanningService, day: date, write: Write) -> int:
    """Compute the plan of ``day`` and write it; the number of points written."""
    lines = service.staffing_lines(day)
    if lines:
        write("\n".join(lines))
    return len(lines)


class PlanPublisher:
    """Writes staffing plans at start and daily at ``config.publish_at`` (local time)."""

    def __init__(
        self,
        service: PlanningService,
        write: Write | InfluxConfig,
        *,
        clock: Callable[[], datetime],
        config: PlanningConfig,
        poll_s: float = 60.0,
        retry_s: float = 300.0,
    ) -> None:
        self._service = service
        self._write = influx_write(write) if isinstance(write, InfluxConfig) else write
        self._clock = clock
        self._at = config.publish_at
        self._poll = poll_s
        self._retry = timedelta(seconds=retry_s)
        self.published: list[date] = []  # days whose plan was written, in order
        self.failures = 0

    async def run(self) -> None:
        """Publish now, then daily at ``publish_at``, until cancelled."""
        first = True
        while True:
            ok = await self.publish_once(include_today=first)
            now = self._clock()
            due = next_publish(now, self._at, self._service.tz)
            if ok:
                first = False
            else:
                due = min(due, now + self._retry)
            await self._until(due)

    async def publish_once(self, *, include_today: bool = False) -> bool:
        """Write the plan of the next open day (and today's, see above); False if it failed."""
        now = self._clock()
        try:
            days = await asyncio.to_thread(self._publish, now, include_today)
        except Exception as exc:  # the per-round guard: log, count, try again later
            self.failures += 1
            log.warning("planning.plan_publish_failed", error=str(exc))
            return False
        self.published.extend(days)
        return True

    def _publish(self, now: datetime, include_today: bool) -> list[date]:
        local = now.astimezone(self._service.tz)
        today = local.date()
        days = [self._service.next_open_day(today)]
        before_publish = local.time() < self._at
        if (
            include_today
            and before_publish
            and self._service.next_open_day(today - timedelta(days=1)) == today
        ):
            days.insert(0, today)
        for day in days:
            points = store_plan(self._service, day, self._write)
            log.info("planning.plan_published", day=day.isoformat(), points=points)
        return days

    async def _until(self, due: datetime) -> None:
        """Sleep until the clock reaches ``due``, waking every ``poll_s`` to re-read the clock."""
        while True:
            left = (due - self._clock()).total_seconds()
            if left <= 0:
                return
            await asyncio.sleep(min(left, self._poll))
