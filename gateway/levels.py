"""Crowd levels: occupancy -> calm / busy / crowded / critical, with dwell and hysteresis. Pure.

Two mappings, each configured per zone (``zones[].crowd``):

- density -> Fruin's Level of Service for queuing and waiting areas, by space
  per person: A >= 1.21 m², B >= 0.90, C >= 0.70, D >= 0.30, E >= 0.20, F below;
- occupancy / capacity (seats for seated areas, the safety maximum otherwise).

Both become a people count per level: the zone is ``busy`` from
``min(busy ratio x capacity, people at which the LOS reaches the busy LOS)``.
The level shown is the worse of the two mappings, which is the same as taking
the lower of the two people thresholds. Working in people keeps the rules
simple and obviously monotone: more people never gives a lower level.

``LevelTracker`` adds time: a higher level shows only once the occupancy has
held at or above its threshold for ``dwell_s``; a level falls back only when the
occupancy drops below its threshold x (1 - hysteresis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from gateway.settings import CrowdConfig, CrowdLevel, LevelOfService

LEVELS: tuple[CrowdLevel, ...] = (
    CrowdLevel.CALM,
    CrowdLevel.BUSY,
    CrowdLevel.CROWDED,
    CrowdLevel.CRITICAL,
)
RANK: dict[CrowdLevel, int] = {level: i for i, level in enumerate(LEVELS)}

#: Fruin LOS for queuing/waiting areas: the smallest space per person (m²) of each level.
LOS_MIN_SPACE: tuple[tuple[LevelOfService, float], ...] = (
    (LevelOfService.A, 1.21),
    (LevelOfService.B, 0.90),
    (LevelOfService.C, 0.70),
    (LevelOfService.D, 0.30),
    (LevelOfService.E, 0.20),
    (LevelOfService.F, 0.0),
)
_LOS_ORDER = [los for los, _ in LOS_MIN_SPACE]


def level_of_service(people: float, area_m2: float) -> LevelOfService:
    """Fruin LOS of ``people`` standing in ``area_m2``; an empty zone is A."""
    if people <= 0:
        return LevelOfService.A
    space = area_m2 / people
    for los, minimum in LOS_MIN_SPACE:
        if space >= minimum:
            return los
    return LevelOfService.F


def los_people_threshold(los: LevelOfService, area_m2: float) -> float:
    """The smallest occupancy at which the zone is at ``los`` or worse.

    LOS X begins where the space per person drops below the minimum of the LOS
    one better than X; the people count is the next float above area / that
    minimum, so ``people >= threshold`` means "strictly less space".
    """
    i = _LOS_ORDER.index(los)
    if i == 0:
        return 0.0
    better_min = LOS_MIN_SPACE[i - 1][1]
    return math.nextafter(area_m2 / better_min, math.inf)


@dataclass(frozen=True, slots=True)
class LevelThresholds:
    """People counts from which a zone is busy, crowded, critical (rising)."""

    busy: float
    crowded: float
    critical: float

    def of(self, level: CrowdLevel) -> float:
        if level is CrowdLevel.BUSY:
            return self.busy
        if level is CrowdLevel.CROWDED:
            return self.crowded
        if level is CrowdLevel.CRITICAL:
            return self.critical
        return 0.0


def thresholds(crowd: CrowdConfig, *, capacity: int, area_m2: float) -> LevelThresholds:
    """The worse of the occupancy-ratio and LOS mappings, as people per level."""
    occ = crowd.occupancy
    values = [occ.busy * capacity, occ.crowded * capacity, occ.critical * capacity]
    if crowd.los is not None:
        los = (crowd.los.busy, crowd.los.crowded, crowd.los.critical)
        values = [
            min(v, los_people_threshold(x, area_m2)) for v, x in zip(values, los, strict=True)
        ]
    return LevelThresholds(*values)


def instant_level(people: float, t: LevelThresholds) -> CrowdLevel:
    """The level of an occupancy with no dwell and no hysteresis."""
    for level in reversed(LEVELS[1:]):
        if people >= t.of(level):
            return level
    return CrowdLevel.CALM


def worse(a: CrowdLevel, b: CrowdLevel) -> CrowdLevel:
    return a if RANK[a] >= RANK[b] else b


@dataclass(slots=True)
class LevelTracker:
    """The shown level of one zone over time. Feed it with ``update(people, now)``."""

    thresholds: LevelThresholds
    dwell_s: float
    hysteresis: float
    level: CrowdLevel = CrowdLevel.CALM
    changed_at: datetime | None = None
    # since when the occupancy has been continuously at or above each level's threshold
    _above_since: dict[CrowdLevel, datetime] = field(default_factory=dict)

    def update(self, people: float, now: datetime) -> CrowdLevel:
        """The level after seeing ``people`` at ``now``; fall first, then rise."""
        for level in LEVELS[1:]:
            if people >= self.thresholds.of(level):
                self._above_since.setdefault(level, now)
            else:
                self._above_since.pop(level, None)
        new = self._after_fall(people)
        for level in reversed(LEVELS[1:]):
            if RANK[level] <= RANK[new]:
                break
            since = self._above_since.get(level)
            if since is not None and (now - since).total_seconds() >= self.dwell_s:
                new = level
                break
        if new is not self.level:
            self.level = new
            self.changed_at = now
        return new

    def _after_fall(self, people: float) -> CrowdLevel:
        keep = 1.0 - self.hysteresis
        if self.level is CrowdLevel.CALM or people >= self.thresholds.of(self.level) * keep:
            return self.level
        for level in reversed(LEVELS[1 : RANK[self.level]]):
            if people >= self.thresholds.of(level) * keep:
                return level
        return CrowdLevel.CALM

    def pending(self, now: datetime) -> tuple[CrowdLevel, float] | None:
        """The next higher level waiting out its dwell, and the seconds left."""
        for level in reversed(LEVELS[RANK[self.level] + 1 :]):
            since = self._above_since.get(level)
            if since is not None:
                return level, max(0.0, self.dwell_s - (now - since).total_seconds())
        return None
