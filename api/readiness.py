"""Readiness: is the gateway doing its job, and if not, why. Pure module: facts in, verdict out.

``/health/ready`` asks a ``ReadinessSource`` (built by the composition root
over the MQTT source and the InfluxDB writer: ``gateway.readiness``) for
``ReadinessFacts``, takes the cameras' health from the live floor, and answers
``assess(...)``. Each check says what it saw, ready or not:

- ``mqtt``: connected to the broker (the sensors' data and the outbound topics
  go through it);
- ``storage``: InfluxDB takes writes, or, while it does not, the spool is below
  its warning ratio (points are kept and will be replayed: still ready);
- ``cameras``: at least one configured camera is online (none configured: ok);
  the offline ones are named;
- ``last_point``: a point reached InfluxDB less than ``max_point_age_s`` ago
  (the gateway writes its own health every few seconds, so silence means the
  pipeline is stuck); during the first ``max_point_age_s`` after start, no
  point yet is ok.

Reasons never carry the InfluxDB URL or an error text from a peer: they are
served without a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StorageFacts:
    failing: bool  # the last write to InfluxDB failed (and it has not taken one since)
    spool_fill_ratio: float
    spool_warn_ratio: float


@dataclass(frozen=True, slots=True)
class CameraFact:
    camera_id: str
    online: bool


@dataclass(frozen=True, slots=True)
class ReadinessFacts:
    mqtt_connected: bool
    storage: StorageFacts
    last_point_age_s: float | None  # None: no point has reached InfluxDB since the start
    uptime_s: float


class ReadinessSource(Protocol):
    def readiness_facts(self) -> ReadinessFacts: ...


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)


def assess(
    facts: ReadinessFacts, cameras: Sequence[CameraFact], *, max_point_age_s: float
) -> Readiness:
    return Readiness(
        (
            _mqtt(facts.mqtt_connected),
            _storage(facts.storage),
            _cameras(cameras),
            _last_point(facts.last_point_age_s, facts.uptime_s, max_point_age_s),
        )
    )


def _mqtt(connected: bool) -> Check:
    if connected:
        return Check("mqtt", True, "connected to the broker")
    return Check("mqtt", False, "not connected to the broker: no sensor data comes in")


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f} %"


def _storage(s: StorageFacts) -> Check:
    fill = f"spool {_pct(s.spool_fill_ratio)} full, warning at {_pct(s.spool_warn_ratio)}"
    if not s.failing:
        return Check("storage", True, f"InfluxDB takes writes; {fill}")
    if s.spool_fill_ratio < s.spool_warn_ratio:
        return Check("storage", True, f"InfluxDB refuses writes: points are spooled; {fill}")
    return Check("storage", False, f"InfluxDB refuses writes and the spool is filling; {fill}")


def _cameras(cameras: Sequence[CameraFact]) -> Check:
    if not cameras:
        return Check("cameras", True, "no camera configured")
    offline = sorted(c.camera_id for c in cameras if not c.online)
    online = len(cameras) - len(offline)
    if not offline:
        return Check("cameras", True, f"{online} of {len(cameras)} online")
    names = ", ".join(offline)
    return Check("cameras", online > 0, f"{online} of {len(cameras)} online; offline: {names}")


def _last_point(age_s: float | None, uptime_s: float, max_age_s: float) -> Check:
    if age_s is None:
        if uptime_s < max_age_s:
            return Check("last_point", True, f"starting: no point stored yet ({uptime_s:.0f} s)")
        return Check("last_point", False, f"no point stored since the start {uptime_s:.0f} s ago")
    if age_s <= max_age_s:
        return Check("last_point", True, f"last point stored {age_s:.0f} s ago")
    return Check(
        "last_point", False, f"last point stored {age_s:.0f} s ago (limit {max_age_s:.0f} s)"
    )
