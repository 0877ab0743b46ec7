"""Real media for the feature tests, made here: espeak-ng speech, sox, and an H.264/AAC video.

The video shows scikit-image's astronaut photograph (a real, smiling face) for its first
half and the coffee photograph (no face) for its second half, with the speech as its sound.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

SAMPLE_RATE = 16000
FPS = 10
SIZE = 256  # video frames are SIZE x SIZE
SENTENCE = "I am so happy to see you again today."


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is needed to make test media (apt-get install {tool}); "
                    ".ci/run installs it")
    return path


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2.2 s of synthetic English speech, 16 kHz mono 16-bit (espeak-ng, then sox)."""
    folder = tmp_path_factory.mktemp("speech")
    raw, out = folder / "espeak.wav", folder / "speech.wav"
    subprocess.run([_require("espeak-ng"), "-w", str(raw), SENTENCE], check=True)
    subprocess.run([_require("sox"), str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                    str(out)], check=True)
    return out


def _frame(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def talking_video(tmp_path_factory: pytest.TempPathFactory, speech_wav: Path) -> Path:
    """An MP4 (H.264 video + AAC audio, PyAV): astronaut, then coffee cup, with the speech."""
    import av
    from skimage import data

    from unimeec.features.media import load_audio

    audio = load_audio(speech_wav)
    n_frames = _n_frames(speech_wav)
    face, no_face = _frame(data.astronaut()), _frame(data.coffee())
    out = tmp_path_factory.mktemp("video") / "talk.mp4"
    with av.open(str(out), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width = video.height = SIZE
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "18", "preset": "ultrafast"}
        sound = container.add_stream("aac", rate=SAMPLE_RATE)
        sound.layout = "mono"
        for k in range(n_frames):
            image = face if k < n_frames // 2 else no_face
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        step = 1024
        for offset in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[None, offset:offset + step], format="s16",
                                               layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = offset
            frame.time_base = Fraction(1, SAMPLE_RATE)
            for packet in sound.encode(frame):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    return out


def _n_frames(speech_wav: Path) -> int:
    from unimeec.features.media import load_audio

    return int(np.ceil(len(load_audio(speech_wav)) / SAMPLE_RATE * FPS))


@pytest.fixture(scope="session")
def video_seconds(speech_wav: Path, talking_video: Path) -> float:
    """How long the video shows pictures (its frame count / FPS)."""
    return _n_frames(speech_wav) / FPS


@pytest.fixture(scope="session")
def video_half(speech_wav: Path, talking_video: Path) -> float:
    """The instant (s) at which the video switches from the face to the coffee cup."""
    return (_n_frames(speech_wav) // 2) / FPS
