"""Reading media files with PyAV (FFmpeg): audio as 16 kHz mono, video frames at given times.

Why PyAV: one decoder for wav, mp3, mp4, mkv... with exact resampling, and no ``ffmpeg``
subprocess to parse. Files are decoded once per file and cut per utterance, because ECF and
SemEval give utterances as time spans inside whole episodes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unimeec.errors import FeatureError
from unimeec.hashing import file_sha256

__all__ = [
    "MediaPathError",
    "cut",
    "file_sha256",
    "load_audio",
    "media_path",
    "read_frames",
    "resolve_media",
    "sample_times",
    "video_duration",
]

#: Extensions tried when a manifest names a media file without one (e.g. ``Friends_S1E1``).
MEDIA_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".mkv",
    ".avi",
    ".mov",
    ".webm",
    ".wav",
    ".mp3",
    ".flac",
    ".m4a",
    ".ogg",
)


class MediaPathError(FeatureError):
    """A manifest names a media file outside ``--media-dir`` (or an absolute path, not allowed)."""


def media_path(name: str, media_dir: str | Path | None, *, allow_absolute: bool = False) -> Path:
    """Where a manifest's ``media`` name points, checked to stay inside ``media_dir``.

    Why: a manifest is data, often from someone else; ``../../etc/passwd`` must not make us
    open and hash files anywhere on the machine. Names are relative to ``media_dir`` (the
    current directory when ``None``) and may not climb out of it with ``..`` (checked on the
    written path, so a symbolic link the user placed inside the folder is still followed).
    Absolute names are refused unless ``allow_absolute`` (``--allow-absolute-paths``).
    """
    path = Path(name)
    if path.is_absolute() or path.drive:
        if not allow_absolute:
            raise MediaPathError(
                f"media path {name!r} is absolute; media names are relative to "
                "--media-dir (pass --allow-absolute-paths to read absolute "
                "paths)"
            )
        return path
    normal = Path(os.path.normpath(path))
    if normal.parts[:1] == ("..",):
        raise MediaPathError(
            f"media path {name!r} leads outside "
            f"{media_dir if media_dir is not None else 'the current directory'}"
        )
    return Path(media_dir) / path if media_dir is not None else path


def resolve_media(name: str, media_dir: str | Path | None, *, allow_absolute: bool = False) -> Path:
    """The file a manifest's ``media`` field names, inside ``media_dir`` (see :func:`media_path`).

    A name without extension is matched against :data:`MEDIA_EXTENSIONS` in that order.
    """
    path = media_path(name, media_dir, allow_absolute=allow_absolute)
    if path.is_file():
        return path
    if not path.suffix:
        for ext in MEDIA_EXTENSIONS:
            candidate = path.with_suffix(ext)
            if candidate.is_file():
                return candidate
    raise FeatureError(f"media file not found: {path}")


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track of ``path`` as float32 mono at ``sample_rate`` Hz."""
    import av

    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise FeatureError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):  # flush the resampler's buffer
                chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as err:
        raise FeatureError(f"{path}: cannot decode audio ({err})") from err
    if not chunks:
        raise FeatureError(f"{path}: the audio stream is empty")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def cut(signal: np.ndarray, sample_rate: int, start: float | None, end: float | None) -> np.ndarray:
    """The samples of ``[start, end)`` seconds (whole signal where a bound is ``None``)."""
    first = 0 if start is None else round(start * sample_rate)
    last = len(signal) if end is None else round(end * sample_rate)
    if first >= len(signal):
        raise FeatureError(
            f"time span starts at {start} s, after the end of the audio "
            f"({len(signal) / sample_rate:.3f} s)"
        )
    return signal[first : min(last, len(signal))]


def video_duration(path: str | Path) -> float:
    """Duration in seconds of the first video stream (container duration as a fallback)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise FeatureError(f"{path}: no video stream")
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
    except av.FFmpegError as err:
        raise FeatureError(f"{path}: cannot decode video ({err})") from err
    raise FeatureError(f"{path}: video duration unknown")


def sample_times(start: float, end: float, count: int) -> list[float]:
    """``count`` instants spread evenly over ``[start, end)``: the centres of equal slices."""
    if count < 1:
        raise FeatureError(f"frames per utterance must be >= 1, got {count}")
    step = (end - start) / count
    return [start + step * (k + 0.5) for k in range(count)]


def read_frames(path: str | Path, times: Sequence[float]) -> list[np.ndarray]:
    """BGR ``uint8`` frames shown at each of ``times`` (seconds, ascending), one per time.

    Seeks to the key frame before the first time and decodes forward once.
    """
    import av

    if not times:
        return []
    wanted = sorted(times)
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise FeatureError(f"{path}: no video stream")
            stream = container.streams.video[0]
            time_base = stream.time_base
            if wanted[0] > 0 and time_base is not None:
                container.seek(
                    int(wanted[0] / time_base), stream=stream, backward=True, any_frame=False
                )
            previous = None  # (frame, its BGR array once converted)
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else 0.0
                while len(frames) < len(wanted) and t > wanted[len(frames)] + 1e-6:
                    # the frame on screen at the wanted time is the one before this one
                    previous = _as_bgr(previous or (frame, None))
                    frames.append(previous[1])
                if len(frames) == len(wanted):
                    break
                previous = (frame, None)
            while previous is not None and len(frames) < len(wanted):
                previous = _as_bgr(previous)  # times past the last frame get the last frame
                frames.append(previous[1])
    except av.FFmpegError as err:
        raise FeatureError(f"{path}: cannot decode video ({err})") from err
    return frames


def _as_bgr(entry: tuple[Any, np.ndarray | None]) -> tuple[Any, np.ndarray]:
    """Convert a decoded frame to BGR once, however many wanted times it covers."""
    frame, array = entry
    if array is None:
        array = frame.to_ndarray(format="bgr24")
    return frame, array
