"""Line protocol cost: floorwatch's hand-written lines against influxdb-client's ``Point``.

    .venv/bin/python -m bench.points [--n 20000]

In one run, on one machine, for the same zone-occupancy observation (3 tags,
4 fields, nanosecond time):

  (a) ceiling: ``influxdb_client.Point`` built and serialized (the library the
      writer would otherwise use);
  (b) floorwatch: ``gateway.points.to_lines``.

First checks that both produce the same point (series key, field values,
timestamp), then prints the best of 5 runs of each in µs per line and the
ratio b/a (target ≤ 1: the hand-written lines must not cost more than the
library's).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from datetime import UTC, datetime

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from gateway.observations import PeopleCount
from gateway.points import ZoneGeometry, to_lines

AT = datetime(2026, 12, 4, 2, 15, 30, 123456, tzinfo=UTC)
ZONES = {"waiting": ZoneGeometry(area_m2=120.0, capacity=100)}
OBS = PeopleCount("waiting", "cam-1", 37, AT, 0.92)


def with_point() -> str:
    point = (
        Point("zone_occupancy")  # type: ignore[no-untyped-call]
        .tag("site", "hcc-bn")
        .tag("source", "cam-1")
        .tag("zone", "waiting")
        .field("count", 37)
        .field("density", 37 / 120)
        .field("capacity_ratio", 0.37)
        .field("confidence", 0.92)
        .time(AT, WritePrecision.NS)
    )
    return str(point.to_line_protocol())


def with_to_lines() -> str:
    return to_lines("hcc-bn", OBS, ZONES)[0]


def same_point(a: str, b: str) -> bool:
    """Same series key and timestamp, same fields (Point sorts them; 0.92 is 0.92 either way)."""
    key_a, fields_a, ts_a = a.split(" ")
    key_b, fields_b, ts_b = b.split(" ")
    return (key_a, sorted(fields_a.split(",")), ts_a) == (key_b, sorted(fields_b.split(",")), ts_b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="lines per timing run")
    args = parser.parse_args()
    ours, theirs = with_to_lines(), with_point()
    if not same_point(ours, theirs):
        print(f"the two lines differ:\n  to_lines: {ours}\n  Point:    {theirs}", file=sys.stderr)
        return 1
    point_s = min(timeit.repeat(with_point, number=args.n, repeat=5)) / args.n
    ours_s = min(timeit.repeat(with_to_lines, number=args.n, repeat=5)) / args.n
    ratio = ours_s / point_s
    print(f"(a) influxdb_client.Point: {point_s * 1e6:6.2f} µs per line")
    print(f"(b) gateway.points.to_lines: {ours_s * 1e6:6.2f} µs per line")
    print(f"ratio b/a: {ratio:.2f} (target <= 1): {'ok' if ratio <= 1 else 'OVER'}")
    return 0 if ratio <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
