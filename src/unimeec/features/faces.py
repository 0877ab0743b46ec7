"""Face detection and the face crops the facial-expression network expects.

Why a module: the crop must match what the network was trained and used with (``fer``'s
pipeline): OpenCV's frontal-face Haar cascade, the box made square, widened by 10 pixels
each side on a grey image padded by 40 pixels of its bottom-row mean, resized to 64x64 and
scaled to [-1, 1]. Any drift here changes the network's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unimeec.errors import FeatureError

_PADDING = 40  # pixels of border added before cropping, as fer does
_OFFSETS = (10, 10)


def default_cascade_path() -> Path:
    """OpenCV's bundled ``haarcascade_frontalface_default.xml``."""
    import cv2

    return Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class FaceDetectorSettings:
    """Haar-cascade parameters (fer's defaults); recorded in the feature store index."""

    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face_size: int = 50


class FaceCropper:
    """Find the largest frontal face in a frame and return the network's 64x64 input."""

    def __init__(
        self,
        cascade_path: str | Path | None = None,
        settings: FaceDetectorSettings | None = None,
        size: int = 64,
    ) -> None:
        import cv2

        self.cascade_path = (
            Path(cascade_path) if cascade_path is not None else default_cascade_path()
        )
        if not self.cascade_path.is_file():
            raise FeatureError(f"Haar cascade not found: {self.cascade_path}")
        self._detector = cv2.CascadeClassifier(str(self.cascade_path))
        if self._detector.empty():
            raise FeatureError(f"{self.cascade_path}: not a valid OpenCV cascade file")
        self.settings = settings or FaceDetectorSettings()
        self.size = size

    def detect(self, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes ``(x, y, w, h)`` in a grey ``uint8`` image, largest first."""
        import cv2

        s = self.settings
        boxes = self._detector.detectMultiScale(
            grey,
            scaleFactor=s.scale_factor,
            minNeighbors=s.min_neighbors,
            flags=cv2.CASCADE_SCALE_IMAGE,
            minSize=(s.min_face_size, s.min_face_size),
        )
        found = [(int(x), int(y), int(w), int(h)) for x, y, w, h in boxes]
        return sorted(found, key=lambda b: b[2] * b[3], reverse=True)

    def crop(self, grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The ``[size, size]`` float32 face in [-1, 1] for ``box``, cropped as fer does."""
        import cv2

        mean = float(grey[-2:].mean())
        padded = cv2.copyMakeBorder(
            grey, _PADDING, _PADDING, _PADDING, _PADDING, cv2.BORDER_CONSTANT, value=mean
        )
        x, y, w, h = _to_square(box)
        x1, x2 = max(0, x - _OFFSETS[0] + _PADDING), x + w + _OFFSETS[0] + _PADDING
        y1, y2 = max(0, y - _OFFSETS[1] + _PADDING), y + h + _OFFSETS[1] + _PADDING
        face = cv2.resize(padded[y1:y2, x1:x2], (self.size, self.size))
        return (face.astype(np.float32) / 255.0 - 0.5) * 2.0

    def largest_face(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """The network input for the largest face of a BGR frame, or ``None`` without a face."""
        import cv2

        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        boxes = self.detect(grey)
        return self.crop(grey, boxes[0]) if boxes else None


def _to_square(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Grow the shorter side of a box, keeping it centred."""
    x, y, w, h = box
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    return x, y, w, h
