"""api.fleet.store_vm's grouping from literal exported series (InfluxQL's GROUP BY time(1h))."""

from __future__ import annotations

from datetime import UTC, datetime

from api.fleet.store_vm import Series, highest, parse_export, selector, summed

H = 3_600_000
T = int(datetime(2026, 11, 3, 2, 0, tzinfo=UTC).timestamp() * 1000)


def s(site: str, zone: str, *samples: tuple[int, float]) -> Series:
    return Series({"province": "hue", "site": site, "zone": zone}, samples)


def test_zone_states_a_zones_mean_per_hour_then_the_zones_summed() -> None:
    series = [
        s("a", "waiting", (T + 1, 10.0), (T + 2, 30.0), (T + H, 5.0)),
        s("a", "entrance", (T + 5, 4.0)),
    ]
    out = summed(series, T, T + 2 * H, by_zone_mean=True)
    hour = datetime(2026, 11, 3, 2, tzinfo=UTC)
    assert out == {"a": {hour: 24.0, datetime(2026, 11, 3, 3, tzinfo=UTC): 5.0}}


def test_hourly_means_every_sample_summed_the_end_excluded_nan_skipped() -> None:
    series = [
        s("a", "waiting", (T, 30.5), (T + H, 99.0)),
        s("a", "entrance", (T, 10.0), (T + 1, float("nan"))),
    ]
    assert summed(series, T, T + H, by_zone_mean=False) == {
        "a": {datetime(2026, 11, 3, 2, tzinfo=UTC): 40.5}
    }


def test_the_highest_per_hour_in_hour_order() -> None:
    series = [s("a", "x", (T + H, 7.0), (T, 600.0)), s("a", "y", (T + 9, 1500.0), (T - 1, 1.0))]
    assert highest(series, T, T + 2 * H) == {"a": [1500.0, 7.0]}


def test_export_lines_and_the_selector() -> None:
    text = (
        '{"metric":{"__name__":"zone_hourly_people_mean","site":"a"},'
        '"values":[1.5,2],"timestamps":[1000,2000]}\n\n'
    )
    assert parse_export(text) == [Series({"site": "a"}, ((1000, 1.5), (2000, 2.0)))]
    assert selector("zone_hourly.people_mean", 'h"ue') == (
        '{__name__="zone_hourly_people_mean",province="h\\"ue"}'
    )
