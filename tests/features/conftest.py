"""Real media for the feature tests: the committed files of ``tests/fixtures/``.

``tests/fixtures/make_media.py`` made them once (espeak-ng speech, an H.264/AAC video written
with PyAV), so the tests need no system program. The video shows scikit-image's astronaut
photograph (a real, smiling face) for its first frames and the coffee photograph (no face)
for the rest, with the speech as its sound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def media_facts() -> dict[str, Any]:
    """What make_media.py recorded about the files (frame rate, frame counts, sample count)."""
    return json.loads((FIXTURES / "media.json").read_text(encoding="utf-8"))


def _fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"{path} is missing; remake it with: python tests/fixtures/make_media.py")
    return path


@pytest.fixture(scope="session")
def speech_wav() -> Path:
    """About 2.2 s of synthetic English speech, 16 kHz mono 16-bit."""
    return _fixture("speech.wav")


@pytest.fixture(scope="session")
def speech_mp3() -> Path:
    """The same speech as a 44.1 kHz stereo MP3."""
    return _fixture("speech.mp3")


@pytest.fixture(scope="session")
def talking_video() -> Path:
    """An MP4 (H.264 video + AAC audio): astronaut, then coffee cup, with the speech."""
    return _fixture("talk.mp4")


@pytest.fixture(scope="session")
def video_seconds(media_facts: dict[str, Any]) -> float:
    """How long the video shows pictures (its frame count / FPS)."""
    return media_facts["frames"] / media_facts["fps"]


@pytest.fixture(scope="session")
def video_half(media_facts: dict[str, Any]) -> float:
    """The instant (s) at which the video switches from the face to the coffee cup."""
    return media_facts["switch_frame"] / media_facts["fps"]
