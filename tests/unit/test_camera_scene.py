"""The synthetic camera scene: deterministic, truthful, day colour and night infrared gray."""

from __future__ import annotations

import numpy as np
import pytest

from cameras.geometry import contains
from cameras.simulator.scene import Scene, SceneRoi, _position

ROIS = [
    SceneRoi("waiting", ((0.03, 0.3), (0.55, 0.3), (0.55, 0.97), (0.03, 0.97))),
    SceneRoi("counters", ((0.58, 0.25), (0.97, 0.25), (0.97, 0.97), (0.58, 0.97))),
]


def test_frames_are_deterministic_in_seed_counts_and_time() -> None:
    a = Scene(ROIS, seed=3).render({"waiting": 9, "counters": 4}, 12.5, night=False)
    b = Scene(ROIS, seed=3).render({"waiting": 9, "counters": 4}, 12.5, night=False)
    c = Scene(ROIS, seed=4).render({"waiting": 9, "counters": 4}, 12.5, night=False)
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_truth_is_the_counts_asked_for_with_missing_zones_empty() -> None:
    frame = Scene(ROIS).render({"waiting": 7}, 0.0, night=True)
    assert dict(frame.truth) == {"waiting": 7, "counters": 0}
    assert frame.night


def test_unknown_zone_and_negative_counts_are_refused() -> None:
    scene = Scene(ROIS)
    with pytest.raises(ValueError, match="not in this scene"):
        scene.render({"lobby": 1}, 0.0, night=False)
    with pytest.raises(ValueError, match=">= 0"):
        scene.render({"waiting": -1}, 0.0, night=False)


def test_night_frames_are_gray_bgr_and_day_frames_colour() -> None:
    scene = Scene(ROIS, width=320, height=240)
    night = scene.render({"waiting": 5}, 1.0, night=True).image
    day = scene.render({"waiting": 5}, 1.0, night=False).image
    assert night.shape == day.shape == (240, 320, 3)
    assert night.dtype == day.dtype == np.uint8
    assert np.array_equal(night[..., 0], night[..., 1])
    assert np.array_equal(night[..., 1], night[..., 2])
    spread = day.max(axis=2).astype(int) - day.min(axis=2)
    assert spread.mean() > 15


def test_people_change_the_image_where_their_zone_is() -> None:
    scene = Scene(ROIS)
    empty = scene.render({}, 2.0, night=False).image.astype(int)
    some = scene.render({"counters": 6}, 2.0, night=False).image.astype(int)
    changed = np.abs(some - empty).max(axis=2) > 40
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 500
    assert xs.min() >= 0.5 * 640, "counters people stay on the right half"


@pytest.mark.parametrize("t_s", [0.0, 7.3, 33.0, 120.0, 999.9])
def test_every_person_stands_inside_their_roi(t_s: float) -> None:
    scene = Scene(ROIS, seed=11)
    for z, roi in enumerate(scene.rois):
        for i in range(40):
            assert contains(roi.polygon, _position(scene._person(z, i), t_s))


def test_adding_a_person_does_not_move_the_others() -> None:
    scene = Scene(ROIS, seed=5)
    first = [scene._person(0, i) for i in range(10)]
    again = Scene(ROIS, seed=5)
    assert [again._person(0, i) for i in range(10)] == first
