"""A synthetic lobby seen by a day/night infrared camera, with known counts frame by frame.

People walk, queue, sit and stand (still) inside each ROI. A person's look, role and path
depend only on (seed, ROI, index), so adding a person never moves the others;
a frame depends only on (seed, counts, t_s, night). Sizes follow a linear
perspective (``PERSON_HEIGHT``: a standing person is 8 % of the image height
at the top row and 28 % at the bottom row), people further away are drawn
first (they are hidden by nearer ones). Day frames are colour with a slow
change of light; night frames are what an infrared camera gives: grayscale
under an IR illuminator (bright centre, dark corners) with sensor noise,
returned as 3-channel BGR like a decoded MJPEG frame.

The truth of a frame is the count asked for, per zone: every person's feet
stay inside their ROI polygon (walk segments are checked against it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from cameras.geometry import contains

Image = npt.NDArray[np.uint8]
Point = tuple[float, float]
Role = Literal["walk", "queue", "sit", "stand"]
ROLES: tuple[Role, ...] = ("walk", "queue", "sit", "stand")

PERSON_HEIGHT = (0.08, 0.28)  # of image height, at the top and bottom rows
_SHIRTS = [
    (40, 40, 160),
    (150, 60, 30),
    (60, 120, 40),
    (30, 30, 30),
    (200, 200, 200),
    (40, 140, 200),
    (120, 40, 110),
    (90, 90, 90),
    (20, 70, 140),
    (170, 120, 60),
]  # BGR
_TROUSERS = [(40, 30, 20), (25, 25, 25), (90, 90, 90), (60, 110, 140), (80, 50, 30)]
_SKIN = [(120, 160, 210), (100, 140, 190), (80, 115, 160), (140, 175, 225)]


@dataclass(frozen=True)
class SceneRoi:
    zone_id: str
    polygon: tuple[tuple[float, float], ...]  # normalised 0..1


@dataclass(frozen=True)
class RenderedFrame:
    image: npt.NDArray[np.uint8]
    truth: Mapping[str, int]
    night: bool


@dataclass(frozen=True)
class _Person:
    role: Role
    path: tuple[Point, ...]  # walk: closed polyline; queue: the two ends; sit, stand: one point
    speed: float  # normalised units per second
    phase: float
    size: float  # height factor
    build: float  # width factor
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    ir: tuple[int, int, int]  # IR gray of shirt, trousers, skin
    facing: int  # -1 left, +1 right (seated legs)


class Scene:
    """Renders frames of people in the given ROIs; see the module doc."""

    def __init__(
        self,
        rois: Sequence[SceneRoi],
        *,
        width: int = 640,
        height: int = 480,
        seed: int = 0,
        mix: tuple[float, ...] = (0.4, 0.25, 0.35),
    ) -> None:
        """``mix``: the shares of people who walk, queue, sit (and stand still, if given)."""
        ids = [r.zone_id for r in rois]
        if len(set(ids)) != len(ids):
            raise ValueError("one ROI per zone in a scene")
        self.rois = tuple(rois)
        self.width = width
        self.height = height
        self.seed = seed
        if len(mix) not in (3, 4) or min(mix) < 0 or sum(mix) <= 0:
            raise ValueError("mix: shares of walk, queue, sit (, stand), >= 0 and not all 0")
        self.mix = tuple(m / sum(mix) for m in mix)
        self.person_height = PERSON_HEIGHT
        self._people: dict[tuple[int, int], _Person] = {}

    def render(self, counts: Mapping[str, int], t_s: float, *, night: bool) -> RenderedFrame:
        unknown = set(counts) - {r.zone_id for r in self.rois}
        if unknown:
            raise ValueError(f"zones not in this scene: {sorted(unknown)}")
        figures: list[tuple[float, float, _Person, float]] = []
        for z, roi in enumerate(self.rois):
            n = counts.get(roi.zone_id, 0)
            if n < 0:
                raise ValueError("counts are >= 0")
            for i in range(n):
                person = self._person(z, i)
                x, y = _position(person, t_s)
                figures.append((y, x, person, t_s))
        figures.sort(key=lambda f: (f[0], f[1]))
        rng = np.random.default_rng([self.seed, round(t_s * 1000), int(night)])
        image = self._night_background.copy() if night else self._day_background.copy()
        for y, x, person, t in figures:
            _draw(image, person, x, y, t, self._height_px(y), night=night)
        image = self._finish(image, rng, t_s, night=night)
        truth = {r.zone_id: counts.get(r.zone_id, 0) for r in self.rois}
        return RenderedFrame(image=image, truth=truth, night=night)

    # ------------------------------------------------------------------ people

    def people(self, counts: Mapping[str, int], t_s: float) -> list[tuple[str, Role, Point, float]]:
        """Who is in view at ``t_s``: (zone, role, feet in pixels, height in pixels)."""
        out = []
        for z, roi in enumerate(self.rois):
            for i in range(counts.get(roi.zone_id, 0)):
                person = self._person(z, i)
                x, y = _position(person, t_s)
                feet = (x * self.width, y * self.height)
                out.append((roi.zone_id, person.role, feet, self._height_px(y) * person.size))
        return out

    def _height_px(self, y: float) -> float:
        top, bottom = self.person_height
        return (top + (bottom - top) * y) * self.height

    def _person(self, zone: int, index: int) -> _Person:
        key = (zone, index)
        if key not in self._people:
            self._people[key] = self._make_person(zone, index)
        return self._people[key]

    def _make_person(self, zone: int, index: int) -> _Person:
        rng = np.random.default_rng([self.seed, zone, index, 7])
        polygon = self.rois[zone].polygon
        role: Role = ROLES[int(rng.choice(len(self.mix), p=self.mix))]
        if role == "walk":
            path = _walk_path(rng, polygon)
        elif role == "queue":
            path = self._queue_line(zone)
            u = float(rng.uniform(0, 1))
            path = (path[0], path[1], (u, 0.0))
        else:
            path = (_sample_inside(rng, polygon),)
        shirt = _SHIRTS[int(rng.integers(len(_SHIRTS)))]
        trousers = _TROUSERS[int(rng.integers(len(_TROUSERS)))]
        skin = _SKIN[int(rng.integers(len(_SKIN)))]
        ir = (int(rng.integers(120, 240)), int(rng.integers(60, 200)), int(rng.integers(190, 245)))
        return _Person(
            role=role,
            path=path,
            speed=float(rng.uniform(0.02, 0.06)),
            phase=float(rng.uniform(0, 2 * math.pi)),
            size=float(rng.uniform(0.88, 1.1)),
            build=float(rng.uniform(0.85, 1.2)),
            shirt=_jitter(rng, shirt),
            trousers=_jitter(rng, trousers),
            skin=skin,
            ir=ir,
            facing=1 if rng.uniform() < 0.5 else -1,
        )

    def _queue_line(self, zone: int) -> tuple[Point, Point]:
        rng = np.random.default_rng([self.seed, zone, 1_000_003])
        polygon = self.rois[zone].polygon
        for _ in range(200):
            a, b = _sample_inside(rng, polygon), _sample_inside(rng, polygon)
            if math.dist(a, b) > 0.15 and _segment_inside(polygon, a, b):
                return a, b
        a = _sample_inside(rng, polygon)
        return a, a

    # ------------------------------------------------------------------ background

    @cached_property
    def _day_background(self) -> Image:
        w, h = self.width, self.height
        rng = np.random.default_rng([self.seed, 99])
        img = np.empty((h, w, 3), dtype=np.float32)
        wall = int(0.08 * h)
        img[:wall] = (205, 200, 190)
        rows = np.linspace(0, 1, h - wall, dtype=np.float32)[:, None]
        img[wall:] = np.array((150, 175, 190), np.float32) + 25 * rows[..., None]
        img[wall - 3 : wall] = (90, 90, 100)
        vx = w / 2
        for k in range(-12, 13):  # tile joints towards a vanishing point above the image
            x_bottom = vx + k * w / 8
            cv2.line(img, (int(vx + k * w / 40), wall), (int(x_bottom), h), (130, 150, 160), 1)
        y = float(wall)
        step = 6.0
        while y < h:
            cv2.line(img, (0, int(y)), (w, int(y)), (130, 150, 160), 1)
            step *= 1.25
            y += step
        img += rng.normal(0, 4, img.shape).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    @cached_property
    def _night_background(self) -> Image:
        gray = cv2.cvtColor(self._day_background, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return np.repeat((gray * 0.45)[..., None], 3, axis=2).astype(np.uint8)

    @cached_property
    def _vignette(self) -> npt.NDArray[np.float32]:
        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        r2 = ((xs - self.width / 2) / (self.width / 2)) ** 2 + (
            (ys - self.height * 0.55) / (self.height / 2)
        ) ** 2
        out: npt.NDArray[np.float32] = np.clip(1.25 - 0.45 * r2, 0.45, 1.25).astype(np.float32)
        return out

    def _finish(self, image: Image, rng: np.random.Generator, t_s: float, *, night: bool) -> Image:
        if night:
            gray = image[..., 0].astype(np.float32) * self._vignette
            gray += rng.normal(0, 6, gray.shape).astype(np.float32)
            g8 = np.clip(gray, 0, 255).astype(np.uint8)
            out: Image = cv2.cvtColor(g8, cv2.COLOR_GRAY2BGR)
            return out
        gain = 1.0 + 0.04 * math.sin(2 * math.pi * t_s / 600)
        noisy = image.astype(np.float32) * gain
        noisy += rng.normal(0, 2.5, noisy.shape).astype(np.float32)
        day: Image = np.clip(noisy, 0, 255).astype(np.uint8)
        return day


# ---------------------------------------------------------------------- helpers


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int]) -> tuple[int, int, int]:
    b, g, r = (int(np.clip(c + rng.integers(-20, 21), 0, 255)) for c in colour)
    return (b, g, r)


def _sample_inside(rng: np.random.Generator, polygon: Sequence[Point]) -> Point:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    for _ in range(10_000):
        pt = (float(rng.uniform(min(xs), max(xs))), float(rng.uniform(min(ys), max(ys))))
        if contains(polygon, pt):
            return pt
    raise ValueError("ROI polygon has no inside")


def _segment_inside(polygon: Sequence[Point], a: Point, b: Point) -> bool:
    return all(
        contains(polygon, (a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s))
        for s in np.linspace(0, 1, 21)
    )


def _walk_path(rng: np.random.Generator, polygon: Sequence[Point]) -> tuple[Point, ...]:
    points = [_sample_inside(rng, polygon)]
    for _ in range(400):
        if len(points) == 4:
            break
        nxt = _sample_inside(rng, polygon)
        if _segment_inside(polygon, points[-1], nxt) and (
            len(points) < 3 or _segment_inside(polygon, nxt, points[0])
        ):
            points.append(nxt)
    return tuple(points)


def _position(p: _Person, t: float) -> Point:
    if p.role in ("sit", "stand"):
        return p.path[0]
    if p.role == "queue":
        (ax, ay), (bx, by), (u0, _) = p.path
        u = (u0 + 0.004 * t + 0.01 * math.sin(0.7 * t + p.phase)) % 1.0  # creeps forward
        return (ax + (bx - ax) * u, ay + (by - ay) * u)
    pts = p.path
    lengths = [math.dist(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
    total = sum(lengths)
    if total == 0:
        return pts[0]
    s = (p.speed * t + p.phase / (2 * math.pi) * total) % total
    for i, seg in enumerate(lengths):
        if s <= seg and seg > 0:
            a, b = pts[i], pts[(i + 1) % len(pts)]
            f = s / seg
            return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
        s -= seg
    return pts[0]


def _draw(image: Image, p: _Person, x: float, y: float, t: float, h: float, *, night: bool) -> None:
    height, width = image.shape[:2]
    fx, fy = x * width, y * height
    h *= p.size
    if night:
        shirt: tuple[int, int, int] = (p.ir[0],) * 3
        trousers: tuple[int, int, int] = (p.ir[1],) * 3
        skin: tuple[int, int, int] = (p.ir[2],) * 3
        hair: tuple[int, int, int] = (55, 55, 55)
    else:
        shirt, trousers, skin, hair = p.shirt, p.trousers, p.skin, (25, 25, 35)
    lw = max(2, round(0.085 * h * p.build))
    aw = max(1, round(0.06 * h * p.build))
    aa = cv2.LINE_AA

    def pt(dx: float, dy: float) -> tuple[int, int]:
        return (round(fx + dx * h), round(fy - dy * h))

    if p.role == "sit":
        k = p.facing
        hip, knee = 0.30, 0.32
        cv2.line(image, pt(-0.04, hip), pt(0.16 * k, knee), trousers, lw, aa)
        cv2.line(image, pt(0.16 * k, knee), pt(0.16 * k, 0.0), trousers, lw, aa)
        cv2.line(image, pt(0.02, hip), pt(0.18 * k, knee - 0.02), trousers, lw, aa)
        cv2.line(image, pt(0.18 * k, knee - 0.02), pt(0.19 * k, 0.0), trousers, lw, aa)
        top = 0.62
    else:
        swing = 0.07 * math.sin(4.0 * t + p.phase) if p.role == "walk" else 0.0
        cv2.line(image, pt(-0.045, 0.48), pt(-0.05 + swing, 0.0), trousers, lw, aa)
        cv2.line(image, pt(0.045, 0.48), pt(0.05 - swing, 0.0), trousers, lw, aa)
        hip, top = 0.46, 0.80
    half_shoulder = 0.13 * p.build
    half_hip = 0.10 * p.build
    torso = np.array(
        [pt(-half_shoulder, top), pt(half_shoulder, top), pt(half_hip, hip), pt(-half_hip, hip)],
        dtype=np.int32,
    )
    cv2.fillConvexPoly(image, torso, shirt, aa)
    arm = 0.05 * math.sin(4.0 * t + p.phase) if p.role == "walk" else 0.0
    span = top - hip
    cv2.line(
        image,
        pt(-half_shoulder, top - 0.02),
        pt(-half_shoulder - 0.02 + arm, top - span),
        shirt,
        aw,
        aa,
    )
    cv2.line(
        image,
        pt(half_shoulder, top - 0.02),
        pt(half_shoulder + 0.02 - arm, top - span),
        shirt,
        aw,
        aa,
    )
    cv2.line(image, pt(0, top), pt(0, top + 0.04), skin, max(1, round(0.05 * h)), aa)
    radius = max(2, round(0.065 * h))
    centre = pt(0, top + 0.04 + 0.065)
    cv2.circle(image, centre, radius, skin, -1, aa)
    cv2.ellipse(image, centre, (radius, max(1, radius // 2)), 0, 180, 360, hair, -1, aa)
