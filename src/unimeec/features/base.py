"""What every extractor provides, and the unit of work: one media file, many utterances.

Why per file: ECF/SemEval utterances are time spans inside whole episodes, so a file is
decoded once and cut per utterance; files are also what the process pool parallelises over.
An extractor is cheap to build and picklable; it loads its model on first use, inside the
worker process that runs it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unimeec.data.feature_store import ExtractorInfo
from unimeec.errors import FeatureError
from unimeec.features.media import cut, load_audio, read_frames, sample_times, video_duration


@dataclass(frozen=True)
class UtteranceSpan:
    """One utterance to extract: its key and its time span in the file (``None`` = whole file)."""

    conversation: str
    index: int
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class UtteranceFeatures:
    """The result for one utterance: a vector, or the reason there is none."""

    conversation: str
    index: int
    vector: np.ndarray | None = None
    missing: str | None = None


class Extractor(abc.ABC):
    """Turns the utterances of one media file into fixed-size vectors."""

    #: "audio" or "visual".
    modality: str

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Length of every vector this extractor makes."""

    @abc.abstractmethod
    def info(self) -> ExtractorInfo:
        """Name, settings and library versions, recorded in the store's index."""

    @abc.abstractmethod
    def extract_file(self, path: Path, spans: Sequence[UtteranceSpan]) -> list[UtteranceFeatures]:
        """Features for each span of ``path``; an utterance that fails gets a ``missing`` reason."""


class AudioExtractor(Extractor):
    """Decodes the file's audio once (16 kHz mono) and embeds each utterance's samples."""

    modality = "audio"
    sample_rate = 16000

    @abc.abstractmethod
    def embed_signal(self, signal: np.ndarray) -> np.ndarray:
        """A ``[dim]`` vector for float32 mono samples at :attr:`sample_rate`."""

    def extract_file(self, path: Path, spans: Sequence[UtteranceSpan]) -> list[UtteranceFeatures]:
        audio = load_audio(path, self.sample_rate)
        results = []
        for span in spans:
            try:
                vector = self.embed_signal(cut(audio, self.sample_rate, span.start, span.end))
                if not np.isfinite(vector).all():
                    raise FeatureError(
                        "the audio span is too short for this extractor (it returned NaN)"
                    )
                results.append(UtteranceFeatures(span.conversation, span.index, vector=vector))
            except FeatureError as err:
                results.append(UtteranceFeatures(span.conversation, span.index, missing=str(err)))
        return results


class VisualExtractor(Extractor):
    """Samples ``frames`` frames evenly over each utterance's span and embeds them."""

    modality = "visual"

    def __init__(self, frames: int = 8) -> None:
        if frames < 1:
            raise FeatureError(f"frames per utterance must be >= 1, got {frames}")
        self.frames = frames

    @abc.abstractmethod
    def embed_frames(self, frames: list[np.ndarray]) -> np.ndarray | str:
        """A ``[dim]`` vector for BGR frames, or the reason there is none (e.g. no face)."""

    def extract_file(self, path: Path, spans: Sequence[UtteranceSpan]) -> list[UtteranceFeatures]:
        duration = None
        results = []
        for span in spans:
            try:
                start = span.start if span.start is not None else 0.0
                end = span.end
                if end is None:
                    duration = duration if duration is not None else video_duration(path)
                    end = duration
                frames = read_frames(path, sample_times(start, end, self.frames))
                if not frames:
                    raise FeatureError(f"no video frames between {start} s and {end} s")
                out = self.embed_frames(frames)
            except FeatureError as err:
                out = str(err)
            if isinstance(out, str):
                results.append(UtteranceFeatures(span.conversation, span.index, missing=out))
            else:
                results.append(UtteranceFeatures(span.conversation, span.index, vector=out))
        return results
