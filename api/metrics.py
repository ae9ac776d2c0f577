"""Prometheus metrics of the API and of the floor, for ``/metrics``.

- ``ApiMetrics``: requests, latency, failed logins, open live streams,
  alert actions: counted by the app as they happen.
- ``FloorCollector``: read from the ``FloorService`` at scrape time: alerts by
  state and severity, people and crowd level per zone, device online, camera fps.
- ``StatsCollector``: any numeric fields of a stats dataclass (the hub's
  ``HubStats``, the writer's ``WriterStats``) as gauges or counters, so the
  composition root exposes the gateway's figures with one line each.
"""

from __future__ import annotations

import dataclasses
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gateway.live import AlertState, FloorService, Severity
from gateway.observations import DeviceKind
from gateway.settings import CrowdLevel

_LEVEL_RANK = {level: i for i, level in enumerate(CrowdLevel)}


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "floorwatch_api_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "floorwatch_api_request_seconds",
            "HTTP request latency (live streams excluded)",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.auth_failures = Counter(
            "floorwatch_api_auth_failures",
            "requests refused for a missing or wrong token, by reason",
            ["reason"],
            registry=registry,
        )
        self.stream_clients = Gauge(
            "floorwatch_api_stream_clients", "open live-stream connections", registry=registry
        )
        self.stream_resets = Counter(
            "floorwatch_api_stream_resets",
            "live streams resumed from an id older than the replay buffer (sent a snapshot)",
            registry=registry,
        )
        self.alert_actions = Counter(
            "floorwatch_api_alert_actions",
            "acknowledgements and resolutions made through the API",
            ["action"],
            registry=registry,
        )


class FloorCollector(Collector):
    """The floor's figures, read at scrape time."""

    def __init__(self, floor: FloorService) -> None:
        self._floor = floor

    def collect(self) -> Iterator[Metric]:
        alerts = GaugeMetricFamily(
            "floorwatch_alerts",
            "alerts not resolved, by state and severity",
            labels=["state", "severity"],
        )
        tally = Tally((a.state, a.severity) for a in self._floor.alerts())
        for state in (AlertState.ACTIVE, AlertState.ACKNOWLEDGED):
            for severity in Severity:
                alerts.add_metric([state.value, severity.value], tally[(state, severity)])
        yield alerts
        people = GaugeMetricFamily("floorwatch_zone_people", "people in a zone", labels=["zone"])
        level = GaugeMetricFamily(
            "floorwatch_zone_level",
            "crowd level of a zone: 0 calm, 1 busy, 2 crowded, 3 critical",
            labels=["zone"],
        )
        for z in self._floor.zones():
            people.add_metric([z.zone_id], z.occupancy)
            level.add_metric([z.zone_id], _LEVEL_RANK[z.level])
        yield people
        yield level
        online = GaugeMetricFamily(
            "floorwatch_device_online", "1 when a device reports in", labels=["device", "kind"]
        )
        fps = GaugeMetricFamily(
            "floorwatch_camera_fps", "frames analysed per second", labels=["camera"]
        )
        for d in self._floor.devices():
            online.add_metric([d.device_id, d.kind.value], 1.0 if d.online else 0.0)
            if d.kind is DeviceKind.CAMERA and d.fps is not None:
                fps.add_metric([d.device_id], d.fps)
        yield online
        yield fps


class StatsCollector(Collector):
    """Numeric fields of ``read()`` (a dataclass) as ``<prefix>_<field>``.

    Fields named in ``counters`` are exported as counters (``_total``), the rest as gauges.
    """

    def __init__(
        self, prefix: str, read: Callable[[], object], *, counters: Iterable[str] = ()
    ) -> None:
        self._prefix = prefix
        self._read = read
        self._counters = frozenset(counters)

    def collect(self) -> Iterator[Metric]:
        stats = self._read()
        if not dataclasses.is_dataclass(stats):
            return
        for field in dataclasses.fields(stats):
            value = getattr(stats, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            name = f"{self._prefix}_{field.name}"
            family: Metric
            if field.name in self._counters:
                family = CounterMetricFamily(name, f"{field.name} (counter)", value=value)
            else:
                family = GaugeMetricFamily(name, f"{field.name} (gauge)", value=value)
            yield family
