"""Which sensors have gone quiet. Pure module: times are passed in.

Each sensor has a deadline: its reporting interval times a factor
(``interval_s`` x ``alerts.sensor_stale_factor``). ``check(now)`` reports a
sensor once when it has sent nothing decodable for longer than its deadline:
DeviceHealth(online=False, detail="stale: no data for 190 s (expected every
60 s)"). The next ``seen()`` of that sensor reports it once as back:
DeviceHealth(online=True, detail="reporting again"), stamped with the time of
the message that brought it back; the recovery is emitted from ``seen`` so it
is as early and as precise as the data itself. The first data of a sensor
since the tracker started is reported once too (detail "reporting"), so a
freshly started gateway shows its sensors online. A sensor never seen since
the tracker started counts its silence from ``start``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.observations import DeviceHealth, DeviceKind


@dataclass(frozen=True, slots=True)
class Expectation:
    """How often a sensor reports, and after how many intervals it is stale."""

    interval_s: float
    factor: float = 3.0

    @property
    def deadline_s(self) -> float:
        return self.interval_s * self.factor


class StalenessTracker:
    def __init__(self, expected: Mapping[str, Expectation | float], *, start: datetime) -> None:
        """``expected``: per sensor id, an Expectation, or just its deadline in seconds."""
        self._deadline: dict[str, float] = {}
        self._interval: dict[str, float] = {}
        for sensor_id, value in expected.items():
            if isinstance(value, Expectation):
                self._deadline[sensor_id] = value.deadline_s
                self._interval[sensor_id] = value.interval_s
            else:
                self._deadline[sensor_id] = float(value)
            if not self._deadline[sensor_id] > 0:
                raise ValueError(f"sensor {sensor_id}: the deadline must be positive")
        self._start = start
        self._last: dict[str, datetime] = {}
        self._stale: set[str] = set()

    @property
    def stale(self) -> frozenset[str]:
        """Sensors reported stale and not seen since."""
        return frozenset(self._stale)

    def last_seen(self, sensor_id: str) -> datetime | None:
        return self._last.get(sensor_id)

    def seen(self, sensor_id: str, at: datetime) -> list[DeviceHealth]:
        """Data from a sensor at ``at``; a recovery notice if it was stale."""
        if sensor_id not in self._deadline:
            return []
        last = self._last.get(sensor_id)
        self._last[sensor_id] = at if last is None else max(last, at)
        if last is None and sensor_id not in self._stale:
            # first data since start: the control room shows it online from now on
            return [self._online(sensor_id, at, "reporting")]
        if sensor_id not in self._stale:
            return []
        self._stale.discard(sensor_id)
        return [self._online(sensor_id, at, "reporting again")]

    @staticmethod
    def _online(sensor_id: str, at: datetime, detail: str) -> DeviceHealth:
        return DeviceHealth(
            device_id=sensor_id, kind=DeviceKind.SENSOR, online=True, at=at, detail=detail
        )

    def check(self, now: datetime) -> list[DeviceHealth]:
        """Sensors that passed their deadline since the last check, each once."""
        out: list[DeviceHealth] = []
        for sensor_id, deadline_s in self._deadline.items():
            if sensor_id in self._stale:
                continue
            silent_s = (now - self._last.get(sensor_id, self._start)) / timedelta(seconds=1)
            if silent_s <= deadline_s:
                continue
            self._stale.add(sensor_id)
            out.append(
                DeviceHealth(
                    device_id=sensor_id,
                    kind=DeviceKind.SENSOR,
                    online=False,
                    at=now,
                    detail=f"stale: no data for {int(silent_s)} s ({self._expectation(sensor_id)})",
                )
            )
        return out

    def _expectation(self, sensor_id: str) -> str:
        interval = self._interval.get(sensor_id)
        if interval is None:
            return f"deadline {self._deadline[sensor_id]:g} s"
        return f"expected every {interval:g} s"
