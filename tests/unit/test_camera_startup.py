"""Still people in a start-up background (cameras/startup.py): what is held and what not."""

from __future__ import annotations

import numpy as np

from cameras.geometry import person_height_rows
from cameras.startup import release, still_people

H, W = 240, 320
ROWS = person_height_rows(H, 0.08, 0.28)


def floor() -> np.ndarray:
    rng = np.random.default_rng(3)
    image = np.full((H, W), 170.0, np.float32) + rng.normal(0, 2, (H, W)).astype(np.float32)
    image[::12, :] -= 25  # tile joints: thin lines are floor, not people
    return image


def figure(image: np.ndarray, x: int, feet: int, height: float, width: float, grey: float) -> None:
    h = round(height * ROWS[feet])
    w = round(width * ROWS[feet])
    image[feet - h : feet, x : x + w] = grey


def held_boxes(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    labels, n = still_people(image, ROWS, 22)
    boxes = []
    for i in range(1, n):
        ys, xs = np.nonzero(labels == i)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())))
    return sorted(boxes)


def test_a_seated_and_a_standing_person_are_held() -> None:
    image = floor()
    figure(image, 60, 200, 0.62, 0.4, 70)  # seated, dark clothes
    figure(image, 200, 150, 0.95, 0.3, 235)  # standing, a white shirt
    boxes = held_boxes(image)
    assert len(boxes) == 2
    assert abs(boxes[0][0] - 60) <= 1 and abs(boxes[1][0] - 200) <= 1


def test_what_is_not_a_person_is_not_held() -> None:
    image = floor()
    image[:, 250:] = 90  # a wall or lawn border: it continues, nothing stands on the floor
    figure(image, 40, 180, 1.5, 0.03, 60)  # a thin pole
    figure(image, 100, 200, 0.4, 2.5, 60)  # a counter: far wider than a person
    figure(image, 150, 120, 0.2, 0.2, 60)  # a bag: far smaller
    figure(image, 0, 230, 0.9, 0.3, 60)  # someone cut by the image's edge
    assert held_boxes(image) == []


def test_a_held_blob_is_released_when_its_pixels_change() -> None:
    image = floor()
    figure(image, 60, 200, 0.62, 0.4, 70)
    figure(image, 200, 150, 0.95, 0.3, 235)
    labels, n = still_people(image, ROWS, 22)
    assert n == 3
    changed = np.zeros((H, W), np.uint8)
    changed[labels == 1] = 1  # the seated person stood up and left
    left, m = release(labels, n, changed)
    assert set(np.unique(left)) == {0, 2} and m == n
    same, _ = release(left, m, np.zeros((H, W), np.uint8))
    assert same is left
