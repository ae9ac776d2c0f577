"""Camera counting benchmark: analysis speed per core against decode-only, and counting error.

    .venv/bin/python -m bench.cameras [--frames 150] [--onnx-model yolov8n.onnx] [--quick]

OpenCV runs on one thread (cv2.setNumThreads(1)), so every rate is per core.
A 640x480 MJPEG-like stream (JPEG quality 85) of the synthetic lobby
(cameras/simulator/scene.py), half day and half infrared night, is made once;
then, in the same run:

  (a) the ceiling: frames decoded per second (cv2.imdecode only), and frames
      decoded *and analysed* per second with each estimator; the ratio
      (target >= 0.6 for density);
  (b) how many 5 fps cameras one core carries with each estimator
      (analysed fps / 5; target >= 8 for density);
  (c) counting error against the scene's ground truth, day and night, 0..60
      people in view: mean absolute error per zone and frame below 15 people
      (target <= 1) and mean relative error from 15 up (target <= 15 %), for
      the calibrated density estimator, the hog estimator (HOG every
      ``detect_every`` frames, density in between) and HOG alone;
  (d) the count error over the first 60 s after a start with people in view,
      against the scene's truth: 12 people (8 + 4; seeds 3, 5, 7, 11; people
      who walk, and the usual mix of walking, queueing and seated people,
      uncalibrated), and 5-10 people who sit, stand still or walk, one of whom
      walks away 25 s after the start (seeds 1-12, calibrated on seed 100: how
      many seeds have every zone within 1 of the truth over 50-60 s). Per kind
      of start: the old one (the first frame as the background), the median of
      the first 20 s with ghost absorption, the same holding the still people
      left in that median (today's), a start from a kept empty-scene background,
      and the reference of the same frames after an empty start. Then how many
      people HOG finds on a start-up frame, by role (a person-aware bootstrap);
  (e) analysis fps per core of each estimator on 480x360 and 1280x720 frames
      of the synthetic lobby (its sensor noise, IR vignette and JPEG
      compression; no recorded footage ships with floorwatch).

Counting on real pedestrian footage (MAE per estimator against hand counts)
is ``bench/cameras_footage.py``: it needs a clip from outside the repository.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from cameras import density
from cameras.calibration import Calibration
from cameras.detector import HogDetector, count_in_rois
from cameras.estimators import CountingEstimator, Estimator, build_estimator
from cameras.simulator.accuracy import (
    EPOCH,
    LEVELS,
    LOBBY_ROIS,
    START_LEAVES_S,
    START_MIX,
    Run,
    Score,
    calibrate,
    camera,
    frames,
    gaps,
    people_in_view,
    ramp,
    score_run,
    start_run,
    window_mae,
)
from cameras.simulator.scene import Scene
from gateway.settings import CountingConfig

FPS = 5.0


def stream(n: int, seed: int = 3, most: int = 60) -> list[bytes]:
    scene = Scene(LOBBY_ROIS, seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        total = int(rng.integers(0, most + 1))
        first = round(total * 0.6)
        frame = scene.render(
            {"waiting": first, "counters": total - first}, i / FPS, night=i >= n // 2
        )
        ok, jpg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        out.append(jpg.tobytes())
    return out


def rate(jpgs: Sequence[bytes], analyse: Callable[[np.ndarray, int], object], repeat: int) -> float:
    """Frames per second of decode (+ analyse) over the stream, best of ``repeat`` passes."""
    buffers = [np.frombuffer(j, np.uint8) for j in jpgs]
    best = 0.0
    for r in range(repeat):
        start = time.perf_counter()
        for i, buf in enumerate(buffers):
            image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            analyse(np.asarray(image), r * len(buffers) + i)
        best = max(best, len(buffers) / (time.perf_counter() - start))
    return best


def estimator_step(est: Estimator) -> Callable[[np.ndarray, int], object]:
    ticks = itertools.count()  # its own clock: time moves on across passes and calls
    return lambda image, _: est.estimate(image, EPOCH + timedelta(seconds=next(ticks) / FPS))


def speed(args: argparse.Namespace, counting: CountingConfig) -> None:
    jpgs = stream(args.frames)
    print(
        f"stream: {len(jpgs)} frames 640x480, mean JPEG {np.mean([len(j) for j in jpgs]) / 1024:.0f} KiB"
    )
    ceiling = rate(jpgs, lambda image, i: None, args.repeat)
    print(f"(a) decode only (ceiling): {ceiling:7.1f} fps")
    rows: list[tuple[str, Estimator | None]] = [
        ("density", build_estimator(camera(LOBBY_ROIS, counting), {})),
        (
            f"hog (HOG every {counting.detect_every} frames)",
            build_estimator(
                camera(LOBBY_ROIS, counting.model_copy(update={"estimator": "hog"})), {}
            ),
        ),
    ]
    if args.onnx_model:
        onnx = counting.model_copy(
            update={"estimator": "onnx", "model_path": Path(args.onnx_model)}
        )
        rows.append(
            (
                f"onnx (every {counting.detect_every} frames)",
                build_estimator(camera(LOBBY_ROIS, onnx), {}),
            )
        )
    hog = HogDetector(counting.score_threshold, counting.nms_threshold)
    results = []
    for name, est in rows:
        assert est is not None
        fps = rate(jpgs, estimator_step(est), args.repeat)
        results.append((name, fps))
    hog_fps = rate(jpgs[: max(10, len(jpgs) // 5)], lambda image, i: hog.detect(image), 1)
    results.append(("HOG alone, every frame", hog_fps))
    # a quiet hour: HOG only searches around the foreground once the background settled
    sparse = stream(args.frames, seed=4, most=4)
    hog_cfg = counting.model_copy(update={"estimator": "hog"})
    quiet = build_estimator(camera(LOBBY_ROIS, hog_cfg), {})
    rate(sparse, estimator_step(quiet), 2)  # 60 s of warm-up: the background settles
    results.append(("hog, 0-4 people in view", rate(sparse, estimator_step(quiet), args.repeat)))
    for name, fps in results:
        print(f"    {name:34s} {fps:7.1f} fps   ratio {fps / ceiling:5.2f}")
    print(f"(b) 640x480 cameras per core at {FPS:g} fps analysis:")
    for name, fps in results:
        print(f"    {name:34s} {fps / FPS:6.1f}")
    if not args.onnx_model:
        print("    onnx: not measured (give --onnx-model PATH to a YOLO export)")


def hog_alone(scene: Scene, night: bool, counting: CountingConfig) -> Score:
    det = HogDetector(counting.score_threshold, counting.nms_threshold)
    rois = [(r.zone_id, r.polygon) for r in LOBBY_ROIS]
    score = Score()
    steps = ramp(LOBBY_ROIS, LEVELS, frames=2)
    for _, truth, image, _ in frames(scene, steps, fps=FPS, night=night):
        counted = count_in_rois(det.detect(image), rois, image.shape[1], image.shape[0])
        for zone, n in counted.items():
            score.add(truth[zone], n)
    return score


def accuracy(
    args: argparse.Namespace, counting: CountingConfig, cal: dict[str, Calibration]
) -> None:
    print("(c) calibration on seed 100:")
    for zone, c in cal.items():
        print(
            f"    {zone:9s} person_area {c.person_area:.3f}  overlap {c.overlap:.2f}  fit MAE {c.mae:.2f}"
        )
    hold = 10 if args.quick else 20
    settle = hold * 3 // 4
    print("    counting error on seed 7 (0..60 people in view, 60/40 over two zones):")
    print("    estimator                          mode   MAE(<15)  rel(>=15)")
    makers: list[tuple[str, Callable[[], Estimator]]] = [
        ("density (calibrated)", lambda: build_estimator(camera(LOBBY_ROIS, counting, cal), {})),
        (
            "hog (+ density, calibrated)",
            lambda: build_estimator(
                camera(LOBBY_ROIS, counting.model_copy(update={"estimator": "hog"}), cal), {}
            ),
        ),
    ]
    for name, make in makers:
        for night in (False, True):
            s = score_run(
                make,
                Scene(LOBBY_ROIS, seed=7),
                ramp(LOBBY_ROIS, LEVELS, hold),
                fps=FPS,
                night=night,
                settle=settle,
            )
            print(
                f"    {name:34s} {'night' if night else 'day':5s}  {s.mae_small:7.2f}  {100 * s.rel_large:7.1f} %"
            )
    for night in (False, True):
        s = hog_alone(Scene(LOBBY_ROIS, seed=7), night, counting)
        print(
            f"    {'HOG alone (no density)':34s} {'night' if night else 'day':5s}  {s.mae_small:7.2f}  {100 * s.rel_large:7.1f} %"
        )
        recall = {
            lvl: 1 + float(np.mean(e)) / lvl for lvl, e in sorted(s.by_level.items()) if lvl >= 5
        }
        print(
            "      HOG found / present by zone count: "
            + ", ".join(f"{k}: {v:.0%}" for k, v in list(recall.items())[::3])
        )


RESTART_SEEDS = (3, 5, 7, 11)
RESTART_CROWD = {"waiting": 8, "counters": 4}
START_SEEDS = tuple(range(1, 13))
STARTS = ("old", "median + ghosts", "new")
START_LABELS = {
    "reference": "reference (empty before the crowd)",
    "kept": "kept empty background",
    "new": "first start: + still people held",
    "median + ghosts": "first start: median + ghosts",
    "old": "old start (first frame)",
}


@contextmanager
def start_kind(kind: str) -> Iterator[None]:
    """The start-up of ``kind``: the old one (the first frame as the background), the
    median and ghost absorption without holding still people, or today's."""
    saved = density.GHOST_CHECK_S, density.BOOT_S, density.HOLD_STILL_PEOPLE
    if kind == "old":
        density.GHOST_CHECK_S = density.BOOT_S = float("inf")
    if kind in ("old", "median + ghosts"):
        density.HOLD_STILL_PEOPLE = False
    try:
        yield
    finally:
        density.GHOST_CHECK_S, density.BOOT_S, density.HOLD_STILL_PEOPLE = saved


def _estimator(counting: CountingConfig, cal: dict[str, Calibration] | None) -> CountingEstimator:
    est = build_estimator(camera(LOBBY_ROIS, counting, cal), {})
    assert isinstance(est, CountingEstimator)
    return est


def _start_runs(
    scene: Scene,
    crowd: dict[str, int],
    counting: CountingConfig,
    cal: dict[str, Calibration] | None,
    leaves_at: float | None,
) -> dict[str, Run]:
    """60 s after a start at scene time 100 s with ``crowd`` in view, per kind of start."""
    empty = _estimator(counting, cal)
    start_run(empty, scene, {}, fps=FPS, seconds=90, t0_s=10)  # the hall empty before
    kept = empty.empty_background("day", EPOCH + timedelta(seconds=100))
    assert kept is not None

    def go(est: CountingEstimator) -> Run:
        return start_run(est, scene, crowd, fps=FPS, seconds=60.0, leaves_at=leaves_at)

    runs = {"reference": go(empty)}
    seeded = _estimator(counting, cal)
    seeded.seed_background("day", kept)
    runs["kept"] = go(seeded)
    for kind in STARTS:
        with start_kind(kind):
            runs[kind] = go(_estimator(counting, cal))
    return runs


def restart(counting: CountingConfig, cal: dict[str, Calibration]) -> None:
    print("(d) count error after a start with people in view (MAE per zone and frame against")
    print("    the truth, over 0-60 s / 50-60 s after the start; 5 fps, 640x480)")
    print("    12 people (8 + 4), uncalibrated, mean of seeds 3, 5, 7, 11:")
    for label, mix in (("walking", (1.0, 0.0, 0.0)), ("walk/queue/sit", (0.4, 0.25, 0.35))):
        rows: dict[str, list[tuple[float, float]]] = {}
        for seed in RESTART_SEEDS:
            runs = _start_runs(
                Scene(LOBBY_ROIS, seed=seed, mix=mix), RESTART_CROWD, counting, None, None
            )
            for name, run in runs.items():
                rows.setdefault(name, []).append((window_mae(run, 0, 60), window_mae(run, 50, 60)))
        print(f"      {label}:")
        for name, maes in rows.items():
            first, last = np.mean([m[0] for m in maes]), np.mean([m[1] for m in maes])
            worst = max(m[1] for m in maes)
            print(
                f"        {START_LABELS[name]:36s} {first:5.2f} / {last:5.2f}   (worst seed {worst:4.2f})"
            )
    print(
        f"    5-10 people (sit, stand still, walk; one leaves at {START_LEAVES_S:g} s), calibrated"
    )
    print(
        f"    on seed 100, seeds {START_SEEDS[0]}-{START_SEEDS[-1]}; a seed passes when every zone's"
    )
    print("    mean count over 50-60 s is within 1 of the truth:")
    table: dict[str, list[tuple[float, float, float]]] = {}
    for seed in START_SEEDS:
        scene = Scene(LOBBY_ROIS, seed=seed, mix=START_MIX)
        crowd = people_in_view(LOBBY_ROIS, seed)
        for name, run in _start_runs(scene, crowd, counting, cal, START_LEAVES_S).items():
            worst_gap = max(abs(g) for g in gaps(run, 50, 60).values())
            table.setdefault(name, []).append(
                (window_mae(run, 0, 60), window_mae(run, 50, 60), worst_gap)
            )
    for name, rows3 in table.items():
        first, last = np.mean([r[0] for r in rows3]), np.mean([r[1] for r in rows3])
        passed = sum(r[2] <= 1 for r in rows3)
        print(
            f"        {START_LABELS[name]:36s} {first:5.2f} / {last:5.2f}   within 1: {passed}/{len(rows3)} seeds"
        )
    hog_at_start(counting)


def hog_at_start(counting: CountingConfig) -> None:
    """Would a person-aware bootstrap (HOG on the first frame) find the still people?"""
    found: dict[str, list[int]] = {}
    for upscale in (1.0, 1.5, 2.0):
        det = HogDetector(counting.score_threshold, counting.nms_threshold, upscale)
        for seed in RESTART_SEEDS:
            scene = Scene(LOBBY_ROIS, seed=seed)
            image = scene.render(RESTART_CROWD, 0.0, night=False).image
            boxes = det.detect(image)
            for _, role, (fx, fy), height in scene.people(RESTART_CROWD, 0.0):
                hit = any(b.x1 <= fx <= b.x2 and b.y1 <= fy - 0.4 * height <= b.y2 for b in boxes)
                tally = found.setdefault(f"x{upscale:g} {role}", [0, 0])
                tally[0] += int(hit)
                tally[1] += 1
    print("    HOG on the first frame (seeds 3, 5, 7, 11), people found by role:")
    print("      " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in found.items()))


def sizes(args: argparse.Namespace, counting: CountingConfig) -> None:
    print("(e) analysis fps per core by frame size (decode + analyse, synthetic lobby):")
    for width, height in ((480, 360), (1280, 720)):
        scene = Scene(LOBBY_ROIS, seed=3, width=width, height=height)
        jpgs = []
        for i in range(max(20, args.frames // 3)):
            image = scene.render({"waiting": 12, "counters": 6}, i / FPS, night=False).image
            ok, jpg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            jpgs.append(jpg.tobytes())
        ceiling = rate(jpgs, lambda image, i: None, args.repeat)
        line = [f"decode {ceiling:6.1f}"]
        for name in ("density", "hog"):
            cfg = counting.model_copy(update={"estimator": name})
            est = build_estimator(camera(LOBBY_ROIS, cfg), {})
            assert est is not None
            line.append(f"{name} {rate(jpgs, estimator_step(est), args.repeat):6.1f}")
        print(f"    {width}x{height}: " + "   ".join(line) + " fps")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=150, help="frames in the test stream")
    parser.add_argument("--repeat", type=int, default=3, help="passes per rate; the best counts")
    parser.add_argument("--onnx-model", help="a YOLO-family ONNX export to time as well")
    parser.add_argument("--quick", action="store_true", help="shorter accuracy runs")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-restart", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    counting = CountingConfig(smoothing_tau_s=1.0)
    speed(args, counting)
    cal: dict[str, Calibration] = calibrate(LOBBY_ROIS, counting, seed=100, steps=80)
    if not args.skip_accuracy:
        accuracy(args, counting, cal)
    if not args.skip_restart:
        restart(counting, cal)
    sizes(args, counting)


if __name__ == "__main__":
    main()
