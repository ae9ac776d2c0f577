"""``floorwatch counting calibrate`` on snapshots of the synthetic scene with their counts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cameras.counting_cli import counting_app, parse_samples
from cameras.simulator.accuracy import LOBBY_ROIS
from cameras.simulator.scene import Scene, SceneRoi

ROOT = Path(__file__).resolve().parents[2]
ZONES = {"waiting": "f2-waiting", "counters": "f2-counters"}
ROIS = [SceneRoi(ZONES[r.zone_id], r.polygon) for r in LOBBY_ROIS]


def site(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8"))
    data["cameras"] = [
        {
            "id": "cam-f2",
            "name": "f2 hall",
            "onvif": {"host": "127.0.0.1"},
            "rois": [{"zone": r.zone_id, "polygon": [list(p) for p in r.polygon]} for r in ROIS],
        }
    ]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def snapshots(tmp_path: Path, n: int = 24) -> Path:
    rng = np.random.default_rng(5)
    lines = ["image,f2-waiting,f2-counters"]
    for night in (False, True):
        for i in range(n + 1):
            scene = Scene(ROIS, seed=200 + i)  # other people in every snapshot
            counts = {} if i == 0 else {z: int(rng.integers(0, 30)) for z in ZONES.values()}
            frame = scene.render(counts, 10.0 * i, night=night)
            name = f"{'night' if night else 'day'}-{i:02d}.jpg"
            cv2.imwrite(str(tmp_path / name), frame.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            lines.append(f"{name},{frame.truth['f2-waiting']},{frame.truth['f2-counters']}")
    path = tmp_path / "samples.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_calibrate_prints_person_area_and_overlap_per_roi(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        counting_app,
        ["calibrate", "-c", str(site(tmp_path)), "--camera", "cam-f2", str(snapshots(tmp_path))],
    )
    assert result.exit_code == 0, result.output
    snippet = yaml.safe_load(result.output)
    assert [r["zone"] for r in snippet] == ["f2-waiting", "f2-counters"]
    for roi in snippet:
        assert 0.15 < roi["person_area"] < 0.35
        assert 0.2 <= roi["overlap"] <= 1.5


def test_unknown_camera_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("image,f2-waiting,f2-counters\n", encoding="utf-8")
    result = CliRunner().invoke(
        counting_app, ["calibrate", "-c", str(site(tmp_path)), "--camera", "nope", str(csv_path)]
    )
    assert result.exit_code == 2
    assert "known: cam-f2" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,a\nx.jpg,1\n", "start with 'image'"),
        ("image,a\nx.jpg,1\n", "no column for zone"),
        ("image,a,b\nx.jpg,1,two\n", "line 2: counts must be whole"),
        ("image,a,b\nx.jpg,1,-1\n", "line 2: counts must be >= 0"),
        ("image,a,b\nx.jpg,0,0\n", "no snapshot with people"),
    ],
)
def test_bad_sample_files_are_refused_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_samples(text, Path("/snap"), ["a", "b"])


def test_sample_rows_resolve_images_next_to_the_csv() -> None:
    rows = parse_samples("image,a\nempty.jpg,0\nbusy.jpg,7\n", Path("/snap"), ["a"])
    assert [(r.image, r.counts) for r in rows] == [
        (Path("/snap/empty.jpg"), {"a": 0}),
        (Path("/snap/busy.jpg"), {"a": 7}),
    ]
