"""Person detectors on OpenCV: the HOG people detector and an ONNX model through cv2.dnn.

Both return person boxes in pixels of the frame they were given;
``count_in_rois`` assigns each box to the ROI its feet stand in. The ONNX
detector takes a YOLO-family export the user supplies (decoding and NMS in
cameras/yolo.py). HOG needs ``cv2.HOGDescriptor``, which OpenCV 5 wheels no
longer have: the project pins opencv-python-headless 4.x (docs/cameras.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from cameras.geometry import contains
from cameras.models import Box
from cameras.yolo import Letterbox, decode, nms

Frame = npt.NDArray[np.uint8]


class Detector(Protocol):
    def detect(self, frame: Frame) -> list[Box]: ...


HOG_WINDOW = (64, 128)  # width, height of the default people detector's window


class HogDetector:
    """OpenCV's default HOG + linear SVM people detector (64x128 window, Dalal-Triggs).

    ``upscale`` enlarges the frame first: the window only finds people at
    least ~100 px tall, so far-away people in a 640x480 frame need it.
    """

    def __init__(
        self, score_threshold: float = 0.35, nms_threshold: float = 0.45, upscale: float = 1.0
    ) -> None:
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.upscale = upscale
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(
            np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32)
        )

    def detect(self, frame: Frame) -> list[Box]:
        image = frame
        if self.upscale != 1.0:
            image = np.asarray(cv2.resize(frame, None, fx=self.upscale, fy=self.upscale))
        if image.shape[1] < HOG_WINDOW[0] or image.shape[0] < HOG_WINDOW[1]:
            # smaller than the window: nobody to find, and OpenCV's detectMultiScale
            # corrupts its heap on such images (a crash of the whole gateway)
            return []
        rects, weights = self._hog.detectMultiScale(
            image, winStride=(8, 8), padding=(8, 8), scale=1.05
        )
        s = self.upscale
        boxes = [
            Box(x / s, y / s, (x + w) / s, (y + h) / s, float(score))
            for (x, y, w, h), score in zip(rects, np.ravel(weights), strict=True)
            if float(score) >= self.score_threshold
        ]
        return nms(boxes, self.nms_threshold)


class OnnxDetector:
    """A YOLO-family ONNX export run by cv2.dnn (CPU), letterboxed to ``input_size``."""

    def __init__(
        self,
        model_path: Path,
        input_size: int = 640,
        score_threshold: float = 0.35,
        nms_threshold: float = 0.45,
        person_class: int = 0,
    ) -> None:
        self.input_size = input_size
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.person_class = person_class
        self._net = cv2.dnn.readNetFromONNX(str(model_path))

    def detect(self, frame: Frame) -> list[Box]:
        height, width = frame.shape[:2]
        lb = Letterbox.fit(width, height, self.input_size)
        blob = cv2.dnn.blobFromImage(
            letterbox_image(frame, lb, self.input_size), 1 / 255.0, swapRB=True
        )
        self._net.setInput(blob)
        output = np.asarray(self._net.forward(), dtype=np.float32)
        boxes = decode(
            output,
            lb,
            person_class=self.person_class,
            score_threshold=self.score_threshold,
            frame_size=(width, height),
        )
        return nms(boxes, self.nms_threshold)


def letterbox_image(frame: Frame, lb: Letterbox, size: int) -> Frame:
    """The frame scaled into a size x size gray-114 canvas, centred (as YOLO trains)."""
    if frame.ndim == 2:
        frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    resized = cv2.resize(frame, (lb.new_width, lb.new_height), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), 114, dtype=np.uint8)
    x0, y0 = int(lb.pad_x), int(lb.pad_y)
    canvas[y0 : y0 + lb.new_height, x0 : x0 + lb.new_width] = resized
    return canvas


def count_in_rois(
    boxes: Sequence[Box],
    rois: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    width: int,
    height: int,
) -> dict[str, int]:
    """People per ROI: a box counts for the first ROI that contains its foot point."""
    counts = {zone: 0 for zone, _ in rois}
    for box in boxes:
        fx, fy = box.foot
        point = (fx / width, min(fy, height - 0.5) / height)
        for zone, polygon in rois:
            if contains(polygon, point):
                counts[zone] += 1
                break
    return counts
