"""Counting on real pedestrian footage: mean absolute error per estimator against hand counts.

    .venv/bin/python -m bench.cameras_footage --video vtest.avi
        [--counts bench/cameras_footage_counts.csv] [--analysis-fps 5]

The footage is OpenCV's sample ``vtest.avi`` (people walking across a campus
square, 768x576, 10 fps, 80 s), which Debian ships in ``opencv-doc``; no
footage ships with floorwatch. To get it without installing the package:

    apt-get download opencv-doc
    dpkg-deb --fsys-tarfile opencv-doc_*.deb \\
        | tar -x ./usr/share/doc/opencv-doc/examples/data/vtest.avi

``--write-fixture PATH`` writes the extract the unit tests replay
(tests/fixtures/footage/: every 5th frame, 2 a second, grey, 256x192 -- the
density estimator's own work size for this footage -- as JPEG quality 75).

The hand counts (``cameras_footage_counts.csv``) are the people in view on
eight frames. One ROI covers the whole frame; person_height (0.05, 0.26) was
read off the footage (a person ~30 px tall at the top row, ~150 px at the
bottom). People are in view from the first frame, so every estimator starts
with people in view (the start-up median and ghost absorption of
cameras.density apply), as after a restart during opening hours.

Per estimator, in the same run: MAE over the counted frames, the mean signed
error (bias), analysed frames per second per core (cv2.setNumThreads(1),
frames already decoded) and what one analysed frame costs in decodes of a
JPEG frame of the same size (decoding measured in the same run: the ceiling a
camera's stream sets anyway):

  density              the default estimator, default person_area/overlap
  density, calibrated  person_area/overlap fitted (cameras.calibration.fit) on
                       the other counted frames, leave one out: what
                       ``floorwatch counting calibrate`` would give
  hog x1 / x1.5 / x2   the ``hog`` estimator (HOG every detect_every-th frame
                       as a lower bound of the density count), upscale 1-2
  HOG alone x1..x2     the HOG people detector alone on the counted frames
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from cameras import density
from cameras.calibration import Sample, fit, people
from cameras.density import DensityEstimator, DensityParams, DensityRoi
from cameras.detector import HogDetector, count_in_rois
from cameras.estimators import build_estimator
from cameras.simulator.accuracy import EPOCH
from gateway.settings import CameraConfig, CountingConfig

COUNTS = Path(__file__).with_name("cameras_footage_counts.csv")
WHOLE_FRAME = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
PERSON_HEIGHT = (0.05, 0.26)
UPSCALES = (1.0, 1.5, 2.0)


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    counts: dict[int, float]  # frame -> count
    fps: float | None  # analysed frames per second; None when not measured


def read_counts(path: Path) -> dict[int, int]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return {int(r["frame"]): int(r["people"]) for r in csv.DictReader(lines)}


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SystemExit(f"cannot open {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f"no frames in {path}")
    return frames, fps


def counting(**extra: object) -> CountingConfig:
    return CountingConfig.model_validate({"person_height": PERSON_HEIGHT, **extra})


def camera(config: CountingConfig) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "footage",
            "name": "footage",
            "onvif": {"host": "127.0.0.1"},
            "rois": [{"zone": "square", "polygon": [list(p) for p in WHOLE_FRAME]}],
            "counting": config.model_dump(),
        }
    )


def run_estimator(
    name: str, config: CountingConfig, frames: Sequence[np.ndarray], step: int, fps: float
) -> Row:
    est = build_estimator(camera(config), {})
    counts: dict[int, float] = {}
    start = time.perf_counter()
    analysed = 0
    for i in range(0, len(frames), step):
        out = est.estimate(frames[i], EPOCH + timedelta(seconds=i / fps))
        counts[i] = float(out[0].count)
        analysed += 1
    return Row(name, counts, analysed / (time.perf_counter() - start))


def calibrated_density(
    frames: Sequence[np.ndarray], truth: dict[int, int], step: int, fps: float
) -> Row:
    """Raw covered/total of the density model at each counted frame; leave-one-out fit."""
    config = counting()
    model = DensityEstimator(
        [DensityRoi("square", WHOLE_FRAME, 1.0, 1.0)],
        DensityParams(
            person_height=config.person_height,
            diff_threshold=config.diff_threshold,
            background_tau_s=config.background_tau_s,
            still_tau_s=config.still_tau_s,
        ),
    )
    samples: dict[int, Sample] = {}
    for i in range(0, len(frames), step):
        (raw,) = model.measure(frames[i], EPOCH + timedelta(seconds=i / fps), "day")
        if i in truth:
            samples[i] = Sample(raw.covered, raw.total, truth[i])
    counts = {}
    for i, sample in samples.items():
        cal = fit([s for j, s in samples.items() if j != i])
        counts[i] = float(round(people(sample.covered, sample.total, cal.person_area, cal.overlap)))
    return Row("density, calibrated (leave one out)", counts, None)


def hog_alone(frames: Sequence[np.ndarray], truth: dict[int, int], upscale: float) -> Row:
    config = counting()
    det = HogDetector(config.score_threshold, config.nms_threshold, upscale)
    rois = [("square", WHOLE_FRAME)]
    counts = {}
    start = time.perf_counter()
    for i in truth:
        image = frames[i]
        counts[i] = float(
            count_in_rois(det.detect(image), rois, image.shape[1], image.shape[0])["square"]
        )
    return Row(f"HOG alone x{upscale:g}", counts, len(truth) / (time.perf_counter() - start))


def _raw_passes(
    frames: Sequence[np.ndarray], truth: dict[int, int], step: int, fps: float, passes: int
) -> list[dict[int, Sample]]:
    """Raw weighted areas at the counted frames, per pass through the clip (one estimator
    that starts on frame 0 and goes on: the second pass is a settled camera)."""
    config = counting()
    model = DensityEstimator(
        [DensityRoi("square", WHOLE_FRAME, 1.0, 1.0)],
        DensityParams(
            config.person_height, config.diff_threshold, config.background_tau_s, config.still_tau_s
        ),
    )
    clip_s = len(frames) / fps
    out: list[dict[int, Sample]] = []
    for p in range(passes):
        samples = {}
        for i in range(0, len(frames), step):
            at = EPOCH + timedelta(seconds=p * clip_s + i / fps)
            (raw,) = model.measure(frames[i], at, "day")
            if i in truth:
                samples[i] = Sample(raw.covered, raw.total, truth[i])
        out.append(samples)
    return out


def first_minute(
    frames: Sequence[np.ndarray], truth: dict[int, int], step: int, fps: float
) -> None:
    """The counted frames of the first 60 s after a start with people in view, calibrated on
    a second pass (the start no longer matters there): today's start and the old one."""
    first, settled = _raw_passes(frames, truth, step, fps, 2)
    cal = fit(list(settled.values()))
    saved = density.GHOST_CHECK_S, density.BOOT_S, density.HOLD_STILL_PEOPLE
    density.GHOST_CHECK_S = density.BOOT_S = float("inf")
    density.HOLD_STILL_PEOPLE = False
    try:
        (old,) = _raw_passes(frames, truth, step, fps, 1)
    finally:
        density.GHOST_CHECK_S, density.BOOT_S, density.HOLD_STILL_PEOPLE = saved
    minute = [i for i in truth if i / fps <= 60]
    print(
        f"first 60 s after the start (frames {minute}), density calibrated on a second pass"
        f" (person_area {cal.person_area:.3f}, overlap {cal.overlap:.2f}):"
    )
    print(f"  {'hand count':34} {[truth[i] for i in minute]}")
    for name, run in (("second pass (settled)", settled), ("start", first), ("old start", old)):
        counts = [
            round(people(run[i].covered, run[i].total, cal.person_area, cal.overlap))
            for i in minute
        ]
        worst = max(abs(c - truth[i]) for c, i in zip(counts, minute, strict=True))
        print(f"  {name:34} {counts}  worst error {worst}")


def decode_rate(frames: Sequence[np.ndarray], limit: int = 200) -> float:
    jpgs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 85])[1] for f in frames[:limit]]
    start = time.perf_counter()
    for j in jpgs:
        cv2.imdecode(j, cv2.IMREAD_COLOR)
    return len(jpgs) / (time.perf_counter() - start)


def report(rows: Sequence[Row], truth: dict[int, int], ceiling: float) -> None:
    print(f"{'estimator':38} {'MAE':>5} {'bias':>6} {'fps':>7} {'decodes':>8}  counts")
    print(f"{'hand count':38} {'':>5} {'':>6} {'':>7} {'':>8}  {list(truth.values())}")
    for row in rows:
        errors = [row.counts[i] - truth[i] for i in truth]
        mae = float(np.mean(np.abs(errors)))
        bias = float(np.mean(errors))
        fps = f"{row.fps:7.1f}" if row.fps is not None else f"{'-':>7}"
        ratio = f"{ceiling / row.fps:8.2f}" if row.fps is not None else f"{'-':>8}"
        shown = [int(row.counts[i]) for i in truth]
        print(f"{row.name:38} {mae:5.2f} {bias:+6.2f} {fps} {ratio}  {shown}")
    print(f"decode ceiling: {ceiling:.0f} JPEG frames/s at the footage's size")


FIXTURE_STEP = 5  # every 5th frame of the 10 fps clip: 2 frames a second
FIXTURE_SIZE = (256, 192)


def write_fixture(frames: Sequence[np.ndarray], path: Path) -> None:
    """The frames the tests replay, as JPEG bytes in one .npz (no pickle): ``jpeg``
    (all images back to back), ``offsets`` (where each starts, and the end) and
    ``frame_index`` (the frame of the clip each one is)."""
    jpgs = []
    for frame in frames[::FIXTURE_STEP]:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, FIXTURE_SIZE, interpolation=cv2.INTER_AREA)
        ok, jpg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 75])
        if not ok:
            raise SystemExit("JPEG encoding failed")
        jpgs.append(jpg.tobytes())
    offsets = np.cumsum([0] + [len(j) for j in jpgs]).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        jpeg=np.frombuffer(b"".join(jpgs), np.uint8),
        offsets=offsets,
        frame_index=np.arange(0, FIXTURE_STEP * len(jpgs), FIXTURE_STEP),
    )
    print(f"wrote {len(jpgs)} frames to {path} ({path.stat().st_size} bytes)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", type=Path, required=True, help="vtest.avi (see above)")
    parser.add_argument("--counts", type=Path, default=COUNTS)
    parser.add_argument("--analysis-fps", type=float, default=5.0)
    parser.add_argument("--write-fixture", type=Path, help="write the tests' extract and stop")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    truth = read_counts(args.counts)
    frames, fps = read_video(args.video)
    if args.write_fixture:
        write_fixture(frames, args.write_fixture)
        return
    missing = [i for i in truth if i >= len(frames)]
    if missing:
        raise SystemExit(f"counted frames beyond the video's {len(frames)}: {missing}")
    step = max(1, round(fps / args.analysis_fps))
    if any(i % step for i in truth):
        raise SystemExit(f"counted frames must be analysed frames (multiples of {step})")
    print(
        f"{args.video.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}"
        f" at {fps:g} fps, analysed every {step}; {len(truth)} hand-counted frames"
    )
    rows: list[Row] = [run_estimator("density", counting(), frames, step, fps)]
    rows.append(calibrated_density(frames, truth, step, fps))
    for u in UPSCALES:
        hog = counting(estimator="hog", detector_upscale=u)
        rows.append(run_estimator(f"hog x{u:g} (every 4th frame)", hog, frames, step, fps))
    rows += [hog_alone(frames, truth, u) for u in UPSCALES]
    report(rows, truth, decode_rate(frames))
    first_minute(frames, truth, step, fps)


if __name__ == "__main__":
    main()
