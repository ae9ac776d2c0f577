"""``floorwatch counting calibrate``: fit the density estimator of one camera from snapshots.

    floorwatch counting calibrate -c SITE.yaml --camera cam-f2-waiting samples.csv

``samples.csv`` has a header ``image,<zone>,<zone>...`` (the camera's ROI
zones) and one row per snapshot: the image file (relative to the CSV) and the
people counted by eye in each zone. Rows are read in order; the first image
of each mode (day colour, night infrared) must show the empty view: it starts
that mode's background. Prints ``person_area`` and ``overlap`` per ROI, ready
to paste under the camera's ``rois`` (docs/cameras.md, "Calibration").
Snapshots stay on disk where they are; nothing is copied or stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_support import settings_or_exit
from gateway.settings import CameraConfig

counting_app = typer.Typer(help="People counting: calibrate cameras.", no_args_is_help=True)


@counting_app.callback()
def _group() -> None:
    """People counting: calibrate cameras (docs/cameras.md)."""


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    image: Path
    counts: dict[str, int]


def parse_samples(text: str, base: Path, zones: list[str]) -> list[SnapshotRow]:
    """Rows of the samples CSV; ValueError naming the line of the first problem."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if not header or header[0] != "image":
        raise ValueError("line 1: the header must start with 'image'")
    missing = [z for z in zones if z not in header]
    if missing:
        raise ValueError(f"line 1: no column for zone(s) {', '.join(missing)}")
    rows = []
    for line, record in enumerate(reader, start=2):
        try:
            counts = {z: int(record[z]) for z in zones}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"line {line}: counts must be whole numbers") from exc
        if any(n < 0 for n in counts.values()):
            raise ValueError(f"line {line}: counts must be >= 0")
        rows.append(SnapshotRow(base / record["image"], counts))
    if not any(sum(r.counts.values()) for r in rows):
        raise ValueError("no snapshot with people in it")
    return rows


@counting_app.command("calibrate")
def calibrate_command(
    samples: Annotated[Path, typer.Argument(help="CSV: image,<zone>,... one row per snapshot")],
    config: Annotated[Path, typer.Option("-c", "--config", help="the site file")],
    camera_id: Annotated[str, typer.Option("--camera", help="id of the camera")],
) -> None:
    """Fit person_area and overlap per ROI of a camera from counted snapshots."""
    camera = _camera(config, camera_id)
    zones = [r.zone for r in camera.rois]
    try:
        rows = parse_samples(samples.read_text(encoding="utf-8"), samples.parent, zones)
    except (OSError, ValueError) as exc:
        typer.echo(f"{samples}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(_calibrate(camera, rows))


def _camera(config: Path, camera_id: str) -> CameraConfig:
    settings = settings_or_exit(config)
    for camera in settings.cameras:
        if camera.id == camera_id:
            if not camera.rois:
                typer.echo(f"camera {camera_id!r} has no rois", err=True)
                raise typer.Exit(2)
            return camera
    known = ", ".join(c.id for c in settings.cameras) or "none"
    typer.echo(f"no camera {camera_id!r} in {config} (known: {known})", err=True)
    raise typer.Exit(2)


def _calibrate(camera: CameraConfig, rows: list[SnapshotRow]) -> str:
    import cv2
    import numpy as np

    from cameras.calibration import Sample, fit
    from cameras.density import DensityEstimator, DensityParams, DensityRoi
    from cameras.estimators import detect_mode

    c = camera.counting
    model = DensityEstimator(
        [DensityRoi(r.zone, tuple(r.polygon), 1.0, 1.0) for r in camera.rois],
        DensityParams(c.person_height, c.diff_threshold, c.background_tau_s, c.still_tau_s),
    )
    samples: dict[str, list[Sample]] = {r.zone: [] for r in camera.rois}
    at = datetime(2000, 1, 1, tzinfo=UTC)
    for i, row in enumerate(rows):
        read = cv2.imread(str(row.image), cv2.IMREAD_COLOR)
        if read is None:
            typer.echo(f"{row.image}: not an image OpenCV can read", err=True)
            raise typer.Exit(2)
        image = np.asarray(read, dtype=np.uint8)
        raws = model.measure(
            image, at + timedelta(seconds=i), detect_mode(image, c.night_saturation)
        )
        for raw in raws:
            samples[raw.zone_id].append(Sample(raw.covered, raw.total, row.counts[raw.zone_id]))
    lines = [f"# {camera.id}: {len(rows)} snapshots; paste under the camera's rois"]
    for roi in camera.rois:
        try:
            cal = fit(samples[roi.zone])
        except ValueError as exc:
            lines.append(f"# {roi.zone}: not calibrated ({exc})")
            continue
        lines.append(
            f"- zone: {roi.zone}\n  person_area: {cal.person_area:.3f}\n"
            f"  overlap: {cal.overlap:.2f}  # fit error {cal.mae:.2f} people per snapshot"
        )
    return "\n".join(lines)
