"""Response models of zone history. Pure module."""

from __future__ import annotations

from datetime import datetime

from api.influxql import Resolution
from api.schemas import Out, with_examples


class OccupancyPoint(Out):
    time: datetime
    mean: float | None
    max: float | None
    density: float | None
    capacity_ratio: float | None


class ClimatePoint(Out):
    time: datetime
    temperature: float | None
    humidity: float | None
    co2: float | None
    pm25: float | None


class OccupancySeries(Out):
    source: str
    points: list[OccupancyPoint]


class ClimateSeries(Out):
    sensor: str
    points: list[ClimatePoint]


class ZoneHistoryOut(Out):
    model_config = with_examples(
        {
            "zone_id": "f2-waiting",
            "resolution": "15m",
            "start": "2026-12-01T07:00:00+07:00",
            "end": "2026-12-01T12:00:00+07:00",
            "occupancy": [
                {
                    "source": "pc-f2-waiting",
                    "points": [
                        {
                            "time": "2026-12-01T07:30:00+07:00",
                            "mean": 41.5,
                            "max": 55,
                            "density": 0.13,
                            "capacity_ratio": 0.23,
                        }
                    ],
                }
            ],
            "climate": [],
        }
    )
    zone_id: str
    resolution: Resolution
    start: datetime
    end: datetime
    occupancy: list[OccupancySeries]
    climate: list[ClimateSeries]
