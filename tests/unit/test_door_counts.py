"""DoorCounterTracker: deltas, resets, redeliveries, delta-mode de-duplication, persistence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.observations import DoorTraffic
from sensors.door_counts import DoorCounterTracker
from sensors.models import DoorCounterReading

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def t(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def cum(
    minute: int, entries: int, exits: int, seq: int | None = None, sensor: str = "dc-main"
) -> DoorCounterReading:
    return DoorCounterReading("d-main", sensor, t(minute), entries, exits, True, seq)


def dlt(minute: int, entries: int, exits: int, seq: int | None = None) -> DoorCounterReading:
    return DoorCounterReading("d-side", "dc-side", t(minute), entries, exits, False, seq)


def traffic(
    minute: int, entries: int, exits: int, door: str = "d-main", sensor: str = "dc-main"
) -> DoorTraffic:
    return DoorTraffic(door, sensor, entries, exits, t(minute))


def side(minute: int, entries: int, exits: int) -> DoorTraffic:
    return traffic(minute, entries, exits, "d-side", "dc-side")


Step = tuple[DoorCounterReading, DoorTraffic | None]


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(
            [(cum(0, 100, 90), None), (cum(1, 103, 91), traffic(1, 3, 1))], id="baseline-then-delta"
        ),
        pytest.param(
            [(cum(0, 100, 90), None), (cum(1, 100, 90), traffic(1, 0, 0))], id="nobody-passed"
        ),
        pytest.param([(cum(0, 100, 90), None), (cum(0, 100, 90), None)], id="redelivery-same-time"),
        pytest.param(
            [
                (cum(0, 100, 90), None),
                (cum(1, 103, 91), traffic(1, 3, 1)),
                (cum(0, 100, 90), None),
                (cum(2, 104, 93), traffic(2, 1, 2)),
            ],
            id="redelivery-older",
        ),
        pytest.param(
            [(cum(0, 100, 90), None), (cum(0, 102, 90), None), (cum(1, 105, 92), traffic(1, 5, 2))],
            id="same-time-other-totals-counted-in-next",
        ),
        pytest.param(
            [
                (cum(0, 100, 90), None),
                (cum(1, 103, 91), traffic(1, 3, 1)),
                (cum(2, 4, 2), traffic(2, 4, 2)),
                (cum(3, 10, 5), traffic(3, 6, 3)),
            ],
            id="reset",
        ),
        pytest.param(
            [(cum(0, 100, 90), None), (cum(1, 103, 80), traffic(1, 103, 80))],
            id="one-total-down-is-a-reset",
        ),
        pytest.param(
            # no payload time: the redelivered reading is stamped with a later receipt time
            [
                (cum(0, 100, 90, 1), None),
                (cum(1, 110, 95, 2), traffic(1, 10, 5)),
                (cum(2, 100, 90, 1), None),
                (cum(3, 112, 96, 3), traffic(3, 2, 1)),
            ],
            id="redelivery-at-receipt-time",
        ),
        pytest.param(
            [
                (cum(0, 100, 90, 1), None),
                (cum(1, 110, 95, 2), traffic(1, 10, 5)),
                (cum(2, 3, 1, 1), traffic(2, 3, 1)),
                (cum(3, 110, 95, 2), None),
                (cum(4, 5, 1, 2), traffic(4, 2, 0)),
            ],
            id="redelivery-from-before-a-reset",
        ),
        pytest.param(
            [
                (cum(0, 100, 90), None),
                (cum(1, 101, 90, sensor="dc-other"), None),
                (cum(1, 102, 91), traffic(1, 2, 1)),
            ],
            id="counters-are-independent",
        ),
        pytest.param(
            [
                (cum(0, 100, 90), None),
                (dlt(1, 2, 1), side(1, 2, 1)),
                (cum(2, 101, 90), traffic(2, 1, 0)),
            ],
            id="delta-beside-cumulative",
        ),
    ],
)
def test_cumulative(steps: list[Step]) -> None:
    tracker = DoorCounterTracker()
    assert [tracker.update(r) for r, _ in steps] == [out for _, out in steps]


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(
            [(dlt(0, 3, 1, 57), side(0, 3, 1)), (dlt(1, 2, 0, 58), side(1, 2, 0))],
            id="first-counts",
        ),
        pytest.param(
            [(dlt(0, 3, 1, 57), side(0, 3, 1)), (dlt(0, 3, 1, 57), None)], id="seq-redelivery"
        ),
        pytest.param(
            # the same seq stamped with a later receipt time: still a redelivery
            [(dlt(0, 3, 1, 57), side(0, 3, 1)), (dlt(4, 3, 1, 57), None)],
            id="seq-redelivery-later-receipt",
        ),
        pytest.param(
            [
                (dlt(0, 3, 1, 57), side(0, 3, 1)),
                (dlt(1, 1, 1, 58), side(1, 1, 1)),
                (dlt(0, 3, 1, 57), None),
                (dlt(1, 1, 1, 58), None),
            ],
            id="out-of-order-redeliveries",
        ),
        pytest.param(
            # rebooted device reusing its sequence numbers with other counts
            [(dlt(0, 3, 1, 1), side(0, 3, 1)), (dlt(9, 5, 2, 1), side(9, 5, 2))],
            id="seq-reused-after-reboot",
        ),
        pytest.param(
            [(dlt(0, 3, 1), side(0, 3, 1)), (dlt(0, 3, 1), None), (dlt(1, 3, 1), side(1, 3, 1))],
            id="no-seq-key-is-time",
        ),
        pytest.param(
            [(dlt(0, 0, 0, 5), side(0, 0, 0)), (dlt(1, 0, 0, 6), side(1, 0, 0))], id="zero-counts"
        ),
        pytest.param(
            [(dlt(0, 3, 1, 9), side(0, 3, 1)), (cum(1, 50, 40), None), (dlt(2, 3, 1, 9), None)],
            id="independent-of-other-counters",
        ),
    ],
)
def test_delta(steps: list[Step]) -> None:
    tracker = DoorCounterTracker()
    assert [tracker.update(r) for r, _ in steps] == [out for _, out in steps]


def test_delta_window_is_bounded() -> None:
    tracker = DoorCounterTracker(window=2)
    assert tracker.update(dlt(0, 1, 0, 1)) is not None
    assert tracker.update(dlt(1, 1, 0, 2)) is not None
    assert tracker.update(dlt(0, 1, 0, 1)) is None  # still in the window
    assert tracker.update(dlt(2, 1, 0, 3)) is not None  # pushes the oldest, seq 1, out
    assert tracker.update(dlt(1, 1, 0, 2)) is None  # still in the window
    assert tracker.update(dlt(0, 1, 0, 1)) is not None  # forgotten: counted again


def test_mode_change_starts_over() -> None:
    tracker = DoorCounterTracker()
    assert tracker.update(dlt(0, 3, 1, 1)) == side(0, 3, 1)
    switched = DoorCounterReading("d-side", "dc-side", t(1), 500, 400, True, 2)
    assert tracker.update(switched) is None  # a new cumulative baseline
    again = DoorCounterReading("d-side", "dc-side", t(2), 503, 401, True, 3)
    assert tracker.update(again) == side(2, 3, 1)


def test_window_must_hold_something() -> None:
    with pytest.raises(ValueError, match="window"):
        DoorCounterTracker(window=0)


# --------------------------------------------------------------------------- persistence

READINGS = [
    cum(0, 100, 90, 1),
    cum(1, 103, 91, 2),
    dlt(1, 3, 1, 57),
    dlt(2, 2, 2, 58),
    dlt(3, 1, 0),
]


def test_snapshot_is_json_and_restores_the_same_behaviour() -> None:
    tracker = DoorCounterTracker()
    for r in READINGS:
        tracker.update(r)
    restored = DoorCounterTracker()
    restored.restore(json.loads(json.dumps(tracker.snapshot())))
    assert restored.snapshot() == tracker.snapshot()
    for r in READINGS:  # everything seen before is a redelivery to the restored tracker
        assert restored.update(r) is None
    assert restored.update(cum(2, 110, 95, 3)) == traffic(2, 7, 4)
    assert restored.update(dlt(4, 1, 1, 59)) == side(4, 1, 1)


def test_snapshot_is_a_copy() -> None:
    tracker = DoorCounterTracker()
    tracker.update(cum(0, 100, 90))
    tracker.update(dlt(0, 1, 1, 1))
    before = json.dumps(tracker.snapshot(), sort_keys=True)
    snapshot = tracker.snapshot()
    tracker.update(cum(1, 120, 95))
    tracker.update(dlt(1, 1, 1, 2))
    assert json.dumps(snapshot, sort_keys=True) == before


def test_crash_between_batches_counts_every_passage_once() -> None:
    """The hub saves the snapshot when a batch is durable; a crash loses the rest,
    which the broker redelivers to a tracker restored from the saved snapshot."""
    batch1 = [cum(0, 100, 90, 1), cum(1, 104, 92, 2), dlt(1, 2, 1, 10)]
    batch2 = [cum(2, 110, 95, 3), dlt(2, 4, 0, 11), cum(3, 2, 1, 1)]  # ends with a reset
    before = DoorCounterTracker()
    for r in batch1:
        before.update(r)
    saved = json.loads(json.dumps(before.snapshot()))
    first_try = [before.update(r) for r in batch2]  # ... then the process is killed
    after = DoorCounterTracker()
    after.restore(saved)
    assert [after.update(r) for r in batch2] == first_try
    assert [after.update(r) for r in batch2] == [None, None, None]


@pytest.mark.parametrize(
    "snapshot",
    [
        None,
        [],
        {"version": 2, "counters": {}},
        {"version": 1},
        {"version": 1, "counters": []},
        {"version": 1, "counters": {"x": []}},
        {"version": 1, "counters": {"x": {"mode": "sometimes", "door_id": "d"}}},
        {"version": 1, "counters": {"x": {"mode": "cumulative", "door_id": "d"}}},
        {
            "version": 1,
            "counters": {
                "x": {
                    "mode": "cumulative",
                    "door_id": "d",
                    "at": "2026-11-22T01:00:00",
                    "last": [1, 2, None],
                    "recent": [],
                }
            },
        },
        {
            "version": 1,
            "counters": {
                "x": {
                    "mode": "cumulative",
                    "door_id": "d",
                    "at": "2026-11-22T01:00:00Z",
                    "last": [1, -2, None],
                    "recent": [],
                }
            },
        },
        {
            "version": 1,
            "counters": {
                "x": {
                    "mode": "cumulative",
                    "door_id": "d",
                    "at": "2026-11-22T01:00:00Z",
                    "last": [1, 2],
                    "recent": [],
                }
            },
        },
        {
            "version": 1,
            "counters": {"x": {"mode": "delta", "door_id": "d", "recent": [["seq:1", 1]]}},
        },
        {"version": 1, "counters": {"x": {"mode": "delta", "door_id": "d", "recent": [[1, 1, 1]]}}},
        {"version": 1, "counters": {"x": {"mode": "delta", "door_id": 5, "recent": []}}},
    ],
)
def test_restore_rejects_what_it_did_not_write(snapshot: object) -> None:
    tracker = DoorCounterTracker()
    tracker.update(cum(0, 1, 1))
    kept = tracker.snapshot()
    with pytest.raises(ValueError, match="door counter state"):
        tracker.restore(snapshot)
    assert tracker.snapshot() == kept  # a failed restore changes nothing
