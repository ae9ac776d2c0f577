"""The learnt empty-scene background of each camera, kept in the state folder. Shell.

``<state_dir>/backgrounds/<camera>-<mode>.png``: an 8-bit grey PNG at the
estimator's work size (at most 320 px wide), written 0600 through a temporary
file and an atomic rename. It is an image of the empty hall (no person: it is
only kept after every ROI has looked empty for ``cameras.density.EMPTY_S``),
replaced when a newer empty one is learnt, at most every ``min_interval_s``.
A restart seeds the estimator with it (docs/cameras.md, "Counting that
survives a restart"; privacy: docs/architecture.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import structlog

from cameras.models import Mode

log = structlog.get_logger("floorwatch.cameras.background")
Gray = npt.NDArray[np.uint8]
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class BackgroundStore:
    """Load and save one camera's empty-scene backgrounds (one per mode)."""

    def __init__(self, folder: Path, camera_id: str, min_interval_s: float = 600.0) -> None:
        self.folder = folder
        self.camera_id = camera_id
        self.min_interval_s = min_interval_s
        self._saved_at: dict[Mode, float] = {}

    def path(self, mode: Mode) -> Path:
        return self.folder / f"{_SAFE.sub('_', self.camera_id)}-{mode}.png"

    def load(self, mode: Mode) -> Gray | None:
        """The kept background, or None (none yet, or unreadable: then it is ignored)."""
        path = self.path(mode)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("camera.background_unreadable", camera=self.camera_id, error=str(exc))
            return None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            log.warning("camera.background_unreadable", camera=self.camera_id, path=str(path))
            return None
        return np.asarray(image, dtype=np.uint8)

    def due(self, mode: Mode, now: float) -> bool:
        last = self._saved_at.get(mode)
        return last is None or now - last >= self.min_interval_s

    def save(self, mode: Mode, image: Gray, now: float) -> None:
        """Write it 0600, atomically; a failure is logged, never raised (counting goes on)."""
        self._saved_at[mode] = now
        ok, png = cv2.imencode(".png", image)
        if not ok:
            return
        path = self.path(mode)
        tmp = path.with_suffix(".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(png.tobytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("camera.background_not_saved", camera=self.camera_id, error=str(exc))
            return
        log.info("camera.background_saved", camera=self.camera_id, mode=mode)
