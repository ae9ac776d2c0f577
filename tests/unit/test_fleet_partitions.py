"""The central stream's partitions: names, where a new site goes, who reads which."""

from __future__ import annotations

import pytest

from gateway.fleet.partitions import (
    LeasePlan,
    fair_share,
    hand_back,
    live_workers,
    partition_names,
    place,
    plan_leases,
)


def test_partition_zero_keeps_the_stream_name() -> None:
    assert partition_names("FLOORWATCH", 1) == ("FLOORWATCH",)
    assert partition_names("FLOORWATCH", 3) == ("FLOORWATCH", "FLOORWATCH_1", "FLOORWATCH_2")


@pytest.mark.parametrize("count", [0, -1, 65])
def test_a_partition_count_out_of_range_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 64"):
        partition_names("S", count)


def test_new_sites_fill_the_least_sourced_partitions_first() -> None:
    sourced = {"S": ("a", "b", "c"), "S_1": ("d",), "S_2": ()}
    placed = place(["e", "f", "g", "h"], sourced)
    # S_2 (0) gets e; then S_1 and S_2 tie at 1 and the first of equals, S_1, gets f; ...
    assert placed == {"S_2": ["e", "g"], "S_1": ["f", "h"]}


def test_a_site_already_sourced_anywhere_stays_and_a_repeat_is_placed_once() -> None:
    sourced = {"S": ("a",), "S_1": ("b",)}
    assert place(["b", "c", "c", "a"], sourced) == {"S": ["c"]}
    assert place([], sourced) == {}


def test_placing_without_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="no partition"):
        place(["a"], {})


def test_three_hundred_sites_over_eight_partitions_differ_by_at_most_one() -> None:
    names = partition_names("S", 8)
    placed = place([f"site-{i}" for i in range(300)], dict.fromkeys(names, ()))
    sizes = sorted(len(v) for v in placed.values())
    assert sizes[0] == 37 and sizes[-1] == 38 and sum(sizes) == 300


@pytest.mark.parametrize(
    ("partitions", "workers", "share"), [(8, 1, 8), (8, 2, 4), (8, 3, 3), (2, 3, 1), (1, 0, 1)]
)
def test_fair_share(partitions: int, workers: int, share: int) -> None:
    assert fair_share(partitions, workers) == share


NAMES = partition_names("S", 4)


def test_a_lone_worker_takes_every_free_partition() -> None:
    assert plan_leases(NAMES, [], [], 1) == LeasePlan(NAMES, ())


def test_a_second_worker_makes_the_first_hand_back_the_last_half() -> None:
    assert plan_leases(NAMES, NAMES, [], 2) == LeasePlan((), ("S_2", "S_3"))
    # ... and the newcomer takes what is free, up to its share, never another's
    assert plan_leases(NAMES, [], ["S", "S_1"], 2) == LeasePlan(("S_2", "S_3"), ())
    assert plan_leases(NAMES, [], NAMES, 2) == LeasePlan((), ())


def test_a_dead_workers_partitions_are_taken_once_free() -> None:
    # the other worker's leases expired: one live worker, all four for it
    assert plan_leases(NAMES, ["S", "S_1"], [], 1) == LeasePlan(("S_2", "S_3"), ())
    # while they have not expired (and it still counts as alive) nothing is taken
    assert plan_leases(NAMES, ["S", "S_1"], ["S_2", "S_3"], 2) == LeasePlan((), ())


def test_a_worker_listed_twice_counts_once() -> None:
    """nats-py's keys() lists a key again when it is renewed during the listing: two
    processes must not count as three (each would then hold 3 of 8, not 4, and hand one
    back for a round)."""
    keys = ["worker.a", "part.S", "worker.b", "part.S_1", "worker.a"]
    assert live_workers(keys, "worker.") == 2
    assert fair_share(8, live_workers(keys, "worker.")) == 4
    assert live_workers(["part.S"], "worker.") == 1  # none listed: the asking process


def test_a_backlog_is_handed_back_by_its_size_not_by_the_partitions_count() -> None:
    """The bench's eight partitions (messages each, as measured): handed back the last
    four, the first process kept 63,403 and the second got 53,711; by size each gets
    about half of the 117,114."""
    names = partition_names("FLOORWATCH", 8)
    sizes = [17900, 14603, 15764, 15135, 14794, 16124, 11732, 11062]
    pending = dict(zip(names, sizes, strict=True))
    plan = plan_leases(names, names, [], 2, pending)
    kept = [n for n in names if n not in plan.release]
    assert len(plan.release) == 4 and len(kept) == 4
    kept_load = sum(pending[n] for n in kept)
    assert abs(kept_load - sum(sizes) / 2) <= 2_000  # 58,557 each, within a partition's spread
    assert sum(pending[n] for n in names[:4]) == 63_402  # what "the last ones" would keep


def test_without_a_backlog_the_last_ones_are_handed_back() -> None:
    assert plan_leases(NAMES, NAMES, [], 2, dict.fromkeys(NAMES, 0)) == LeasePlan(
        (), ("S_2", "S_3")
    )
    # a partition not in pending counts as empty; three of four kept when one is in excess
    assert hand_back(NAMES, 3, {"S": 10, "S_3": 10}) == ("S_3",)  # first of equals kept


def test_the_choice_closest_to_the_share_is_kept_the_first_of_equals() -> None:
    # share 53 of 106: {S, S_1} 101 and {S_2, S_3} 5 are both 48 off; the first is kept
    assert hand_back(NAMES, 2, {"S": 1, "S_1": 100, "S_2": 2, "S_3": 3}) == ("S_2", "S_3")
    # share 50 of 100: {S, S_2} 50 exactly (and {S_1, S_3}, later)
    assert hand_back(NAMES, 2, {"S": 40, "S_1": 30, "S_2": 10, "S_3": 20}) == ("S_1", "S_3")


def test_many_partitions_are_shared_largest_first() -> None:
    names = partition_names("S", 40)  # C(40, 20) choices: the greedy way
    pending = {n: 1000 + 37 * i for i, n in enumerate(names)}
    released = hand_back(names, 20, pending)
    kept = sum(pending[n] for n in names if n not in released)
    assert len(released) == 20
    assert abs(kept - sum(pending.values()) / 2) <= max(pending.values())
