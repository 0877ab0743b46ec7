"""Any Hugging Face audio or image encoder (by hub name or local path) as an extractor.

Vectors are the encoder's last hidden state averaged over time steps (audio) or patches and
then frames (images). Nothing is downloaded unless the user's environment allows the hub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from transformers import AutoConfig

from unimeec.data.feature_store import ExtractorInfo
from unimeec.errors import FeatureError
from unimeec.features.base import AudioExtractor, VisualExtractor


def _hidden_size(model: str) -> int:
    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as err:
        raise FeatureError(f"cannot load the configuration of {model!r}: {err}") from err
    size = getattr(config, "hidden_size", None)
    if not isinstance(size, int):
        raise FeatureError(
            f"{model!r}: its configuration has no hidden_size; use an encoder "
            "such as Wav2Vec2, HuBERT, WavLM, ViT or DINOv2"
        )
    return size


def _info(model: str, kind: str, settings: dict[str, Any]) -> ExtractorInfo:
    name = str(Path(model).resolve()) if Path(model).exists() else model
    return ExtractorInfo(
        name=f"hf-{kind}",
        settings={"model": name, "pooling": "mean", **settings},
        versions={"transformers": transformers.__version__, "torch": torch.__version__},
    )


def _load(model: str, processor_cls: str, device: str) -> tuple[Any, Any]:
    try:
        processor = getattr(transformers, processor_cls).from_pretrained(model)
        encoder = transformers.AutoModel.from_pretrained(model).to(device).eval()
    except (OSError, ValueError) as err:
        raise FeatureError(f"cannot load the Hugging Face model {model!r}: {err}") from err
    return processor, encoder


class _HFEncoder:
    """The encoder state both extractors share: loaded lazily, once per process.

    Lazy because extractors are pickled into worker processes: ``__getstate__`` drops the
    loaded model, and each worker loads its own on first use.
    """

    processor_class = "AutoProcessor"

    def _init_encoder(self, model: str | Path, device: str) -> None:
        self.model = str(model)
        self.device = device
        self._dim = _hidden_size(self.model)
        self._loaded: tuple[Any, Any] | None = None

    @property
    def dim(self) -> int:
        return self._dim

    def _encoder(self) -> tuple[Any, Any]:
        """(processor, encoder), loaded on first use."""
        if self._loaded is None:
            self._loaded = _load(self.model, self.processor_class, self.device)
        return self._loaded

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None}


class HFAudioExtractor(_HFEncoder, AudioExtractor):
    """Mean-pooled last hidden state of an audio encoder (Wav2Vec2, HuBERT, WavLM...)."""

    processor_class = "AutoFeatureExtractor"

    def __init__(self, model: str | Path, device: str = "cpu") -> None:
        self._init_encoder(model, device)

    def info(self) -> ExtractorInfo:
        return _info(self.model, "audio", {"sample_rate": self.sample_rate})

    def embed_signal(self, signal: np.ndarray) -> np.ndarray:
        processor, encoder = self._encoder()
        inputs = processor(signal, sampling_rate=self.sample_rate, return_tensors="pt")
        try:
            with torch.inference_mode():
                hidden = encoder(**inputs.to(self.device)).last_hidden_state
        except RuntimeError as err:  # e.g. a span shorter than the convolutional receptive field
            raise FeatureError(f"{self.model} failed on {len(signal)} samples: {err}") from err
        return hidden[0].mean(dim=0).float().cpu().numpy()


class HFImageExtractor(_HFEncoder, VisualExtractor):
    """Mean-pooled last hidden state of an image encoder (ViT, DINOv2...), averaged over frames."""

    processor_class = "AutoImageProcessor"

    def __init__(self, model: str | Path, frames: int = 8, device: str = "cpu") -> None:
        VisualExtractor.__init__(self, frames)
        self._init_encoder(model, device)

    def info(self) -> ExtractorInfo:
        return _info(self.model, "image", {"frames": self.frames})

    def embed_frames(self, frames: list[np.ndarray]) -> np.ndarray | str:
        processor, encoder = self._encoder()
        rgb = [np.ascontiguousarray(f[:, :, ::-1]) for f in frames]
        inputs = processor(images=rgb, return_tensors="pt")
        with torch.inference_mode():
            hidden = encoder(pixel_values=inputs["pixel_values"].to(self.device)).last_hidden_state
        return hidden.mean(dim=(0, 1)).float().cpu().numpy()
