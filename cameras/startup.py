"""A start with people in view: the ghost test, and still people in a start-up background.

Pure: images in, masks and verdicts out (cameras/density.py keeps the state).

Ghosts (``is_ghost``): a background started from a frame with people in view
holds those people; once they walk on, the floor where they stood differs from
the background. A ghost stood out from its surroundings in the background (its
outline and its grey-level contrast against a ring around it) and does not in
the current frame; a person present now is the other way round.

Still people (``still_people``): on a first start ever, people who sit or
stand still through the start-up seconds are in the start-up median, so the
background model cannot see them. What it can see is that the median holds a
blob that stands out from the floor around it and has a person's size and
shape at the row of its feet (``person_rows``: the image height of a person
standing on each row). Such a blob is *held*: counted as foreground until its
pixels change (the person moved or left: then the ghost test takes over) or
until the model's own rule for still people lets it fade (``still_tau_s``).
The floor around a blob is the median filter of the background over about a
person's height; a blob must differ from the floor on both its left and its
right (a person stands on floor; the border of a lawn or a wall does not).
Furniture of a person's size and shape is held too (an over-count until
``still_tau_s``); a kept empty-scene background (a later restart) has no such
guess in it.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.uint8]
Labels = npt.NDArray[np.int32]

GHOST_RATIO = 1.5  # outline and contrast this much stronger in the background than now
GHOST_MIN_CONTRAST = 10.0  # grey levels a ghost stood out from its ring in the background
GHOST_MIN_EDGES = 40.0  # mean gradient along a ghost's outline in the background
HEIGHT_RANGE = (0.45, 1.6)  # a held blob's height, in person heights at its feet (sit..stand)
WIDTH_RANGE = (0.15, 2.0)  # its width, same unit (a few seated side by side)
MIN_FILL = 0.3  # its area over its bounding box (a tripod's legs, a fence: less)
SIDE_CONTRAST = 12.0  # grey levels it differs from the floor on its left and on its right
RELEASE_SHARE = 0.5  # share of a held blob's pixels that changed: the person moved or left

_GROW = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_RING = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
_OPEN = cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2))


def is_ghost(blob: Mask, now: F32, then: F32, grad_now: F32, grad_then: F32) -> bool:
    """The blob stood out in the background ``then`` (outline, contrast), not ``now``."""
    outline = cv2.subtract(cv2.dilate(blob, _GROW), cv2.erode(blob, _GROW))
    ring = cv2.subtract(cv2.dilate(blob, _RING), blob)
    edges_now, edges_then = _mean(grad_now, outline), _mean(grad_then, outline)
    contrast_now = abs(_mean(now, blob) - _mean(now, ring))
    contrast_then = abs(_mean(then, blob) - _mean(then, ring))
    return (
        edges_then >= GHOST_MIN_EDGES
        and contrast_then >= GHOST_MIN_CONTRAST
        and edges_then > GHOST_RATIO * edges_now
        and contrast_then > GHOST_RATIO * contrast_now
    )


def gradient(gray: F32) -> F32:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    out: F32 = np.asarray(cv2.magnitude(gx, gy), np.float32)
    return out


def still_people(
    background: F32, person_rows: npt.NDArray[np.float64], threshold: float
) -> tuple[Labels, int]:
    """Blobs of ``background`` that look like a person standing or sitting on the floor.

    Returns a label image (0: none, 1..n-1: held blobs) and n.
    """
    height, width = background.shape
    size = int(np.clip(0.9 * person_rows[-1], 15, 99)) | 1
    grey = np.asarray(np.clip(background + 0.5, 0, 255), np.uint8)
    floor = np.asarray(cv2.medianBlur(grey, size), np.float32)
    over = np.asarray(cv2.absdiff(background, floor) > threshold, np.uint8)
    over = np.asarray(cv2.morphologyEx(over, cv2.MORPH_OPEN, _OPEN), np.uint8)
    over = np.asarray(cv2.morphologyEx(over, cv2.MORPH_CLOSE, _GROW), np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(over, connectivity=8)
    out = np.zeros((height, width), np.int32)
    kept = 0
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        person = float(person_rows[min(height - 1, y + h - 1)])
        whole = x > 0 and y > 0 and x + w < width and y + h < height  # not cut by the edge
        shaped = (
            whole
            and HEIGHT_RANGE[0] * person <= h <= HEIGHT_RANGE[1] * person
            and WIDTH_RANGE[0] * person <= w <= WIDTH_RANGE[1] * person
            and area >= MIN_FILL * w * h
        )
        if shaped and _on_floor(np.asarray(labels == i, np.uint8), over, background, (x, y, w, h)):
            kept += 1
            out[labels == i] = kept
    return out, kept + 1


def release(held: Labels, n: int, changed: Mask) -> tuple[Labels, int]:
    """Drop the held blobs most of whose pixels ``changed`` (0/1): the person moved or left."""
    if n <= 1:
        return held, n
    areas = np.bincount(held.ravel(), minlength=n).astype(np.float64)
    moved = np.bincount(held.ravel(), weights=changed.ravel().astype(np.float64), minlength=n)
    gone = moved > RELEASE_SHARE * np.maximum(areas, 1)
    gone[0] = False
    if not gone.any():
        return held, n
    out = np.where(gone[held], 0, held).astype(np.int32)
    return out, n


def _on_floor(blob: Mask, over: Mask, background: F32, box: tuple[int, int, int, int]) -> bool:
    """The floor around the blob (a ring of half its width, without other blobs), on its
    left and on its right, differs from it (a person stands on floor; the border of a
    lawn or a wall continues on one side). A side with no free floor (a neighbour, the
    image's edge) is not asked; one side must be."""
    x, y, w, h = box
    height, width = background.shape
    pad = max(2, w // 2)
    y0, y1, x0, x1 = (
        max(0, y - pad),
        min(height, y + h + pad),
        max(0, x - pad),
        min(width, x + w + pad),
    )
    inside = blob[y0:y1, x0:x1] > 0
    grown = cv2.dilate(blob[y0:y1, x0:x1], np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)) > 0
    ring = grown & (over[y0:y1, x0:x1] == 0)
    part = background[y0:y1, x0:x1]
    columns = np.arange(x0, x1)[np.newaxis, :]
    asked = 0
    for side in (columns < x + w / 2, columns >= x + w / 2):
        floor = part[ring & side]
        if floor.size < 5:
            continue
        asked += 1
        if float(np.mean(np.abs(part[inside] - float(np.mean(floor))))) < SIDE_CONTRAST:
            return False
    return asked > 0


def _mean(image: npt.NDArray[Any], mask: npt.NDArray[Any]) -> float:
    return float(cv2.mean(image, mask=mask)[0])
