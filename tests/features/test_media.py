"""Decoding real media with PyAV: wav, mp3 and mp4 audio at 16 kHz mono; frames at given times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unimeec.errors import FeatureError
from unimeec.features.media import (
    cut,
    load_audio,
    read_frames,
    resolve_media,
    sample_times,
    video_duration,
)


def test_fixtures_are_the_files_make_media_wrote(
    speech_wav: Path, speech_mp3: Path, talking_video: Path, media_facts: dict
) -> None:
    from unimeec.hashing import file_sha256

    for path in (speech_wav, speech_mp3, talking_video):
        assert file_sha256(path) == media_facts["sha256"][path.name], path


def test_wav_is_read_sample_exact(speech_wav: Path) -> None:
    import wave

    with wave.open(str(speech_wav)) as handle:
        n = handle.getnframes()
        pcm = np.frombuffer(handle.readframes(n), dtype=np.int16)
    audio = load_audio(speech_wav)
    assert audio.dtype == np.float32 and audio.shape == (n,)
    np.testing.assert_allclose(audio, pcm / 32768.0, atol=1e-6)
    assert 1.5 < n / 16000 < 4.0 and np.abs(audio).max() > 0.1  # real speech, not silence


def test_mp3_and_resampling(speech_wav: Path, speech_mp3: Path) -> None:
    import av

    with av.open(str(speech_mp3)) as container:  # really 44.1 kHz stereo MP3, so it is resampled
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate, stream.channels) == ("mp3float", 44100, 2)
    reference, decoded = load_audio(speech_wav), load_audio(speech_mp3)
    assert abs(len(decoded) - len(reference)) < 0.1 * 16000  # codec padding only

    # same speech: the envelopes (50 ms RMS) correlate strongly after aligning the codec delay
    def envelope(x: np.ndarray) -> np.ndarray:
        n = len(x) // 800
        return np.sqrt((x[: n * 800].reshape(n, 800) ** 2).mean(1))

    best = max(
        np.corrcoef(envelope(reference)[:40], envelope(decoded[shift:])[:40])[0, 1]
        for shift in range(0, 3000, 100)
    )
    assert best > 0.9


def test_video_audio_and_frames(
    talking_video: Path, speech_wav: Path, video_half: float, video_seconds: float
) -> None:
    assert len(load_audio(talking_video)) / 16000 == pytest.approx(
        len(load_audio(speech_wav)) / 16000, abs=0.12
    )
    assert video_duration(talking_video) == pytest.approx(video_seconds, abs=0.01)
    frames = read_frames(talking_video, [0.05, video_half + 0.25])
    assert [f.shape for f in frames] == [(256, 256, 3)] * 2
    # the first shows the astronaut's white suit area, the second the brown coffee: compare
    # to the source photographs, resized as the fixture did (BGR order)
    import cv2
    from skimage import data

    astronaut = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    coffee = cv2.resize(data.coffee(), (256, 256), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    assert np.abs(frames[0].astype(int) - astronaut).mean() < 8
    assert np.abs(frames[1].astype(int) - coffee).mean() < 8
    assert read_frames(talking_video, [99.0])[0].shape == (256, 256, 3)  # past the end: last frame


def test_spans_and_times() -> None:
    signal = np.arange(32000, dtype=np.float32)
    assert cut(signal, 16000, 0.5, 1.0).tolist() == list(range(8000, 16000))
    assert len(cut(signal, 16000, None, None)) == 32000
    assert len(cut(signal, 16000, 1.5, 9.0)) == 8000
    with pytest.raises(FeatureError, match="starts at 3.0 s, after the end of the audio"):
        cut(signal, 16000, 3.0, 4.0)
    assert sample_times(1.0, 2.0, 4) == [1.125, 1.375, 1.625, 1.875]
    with pytest.raises(FeatureError, match="frames per utterance must be >= 1"):
        sample_times(0.0, 1.0, 0)


def test_resolve_media(tmp_path: Path) -> None:
    (tmp_path / "Friends_S1E1.mkv").write_bytes(b"")
    (tmp_path / "dia1utt1.mp4").write_bytes(b"")
    assert resolve_media("dia1utt1.mp4", tmp_path) == tmp_path / "dia1utt1.mp4"
    assert resolve_media("Friends_S1E1", tmp_path) == tmp_path / "Friends_S1E1.mkv"
    assert (
        resolve_media(str(tmp_path / "dia1utt1.mp4"), "/elsewhere", allow_absolute=True)
        == tmp_path / "dia1utt1.mp4"
    )
    with pytest.raises(FeatureError, match="media file not found: .*dia9utt9.mp4"):
        resolve_media("dia9utt9.mp4", tmp_path)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    with pytest.raises(FeatureError, match="broken.wav: cannot decode audio"):
        load_audio(tmp_path / "broken.wav")
