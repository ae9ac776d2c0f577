"""HvacAdvisor: HVAC advice for every zone, published on MQTT every few minutes. Shell module.

Topic ``<base>/<site>/hvac/<zone>/advice``, retained (a building management
system that connects later gets the latest advice at once), JSON from
``hvac_rules.advice_json``. Publishing goes through ``publish(topic, payload,
retain)``, the same callable the state writer uses (the MQTT client queues the
message for its network thread: it never blocks). The advice itself may read
InfluxDB once a day (the occupancy forecast), so it is worked out in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from gateway.live import FloorService
from gateway.planning.hvac import HvacAdvice
from gateway.planning.hvac_rules import advice_json, advice_topic
from gateway.planning.service import PlanningService

log = structlog.get_logger("floorwatch.planning")

Publish = Callable[[str, bytes, bool], None]


class HvacAdvisor:
    def __init__(
        self,
        service: PlanningService,
        floor: FloorService,
        publish: Publish,
        *,
        base_topic: str,
        site_id: str,
        interval_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._floor = floor
        self._publish = publish
        self._base = base_topic
        self._site = site_id
        self._interval = interval_s
        self._clock = clock
        self.published = 0
        self.last: Sequence[HvacAdvice] = ()

    async def run(self) -> None:
        """Publish now and then every ``interval_s`` until cancelled."""
        while True:
            await self.publish_once()
            await asyncio.sleep(self._interval)

    async def publish_once(self) -> Sequence[HvacAdvice]:
        """Work out the advice for the zones' present states and publish it."""
        zones = self._floor.zones()
        try:
            advice = await asyncio.to_thread(self._service.hvac_advice, zones, self._clock())
        except Exception as exc:  # the per-round guard: log, count, try again next round
            log.warning("planning.hvac_advice_failed", error=str(exc))
            return ()
        for a in advice:
            topic = advice_topic(self._base, self._site, a.zone_id)
            self._publish(topic, advice_json(a).encode(), True)
            self.published += 1
        self.last = advice
        return advice
