"""Extraction integrity: media stay inside --media-dir, bad video is missing, resume checks hashes."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from unimeec.cli import main
from unimeec.data.feature_store import FeatureStore, file_sha256
from unimeec.features import build_extractor, extract_features, read_manifest
from unimeec.features.audio import OpenSmileExtractor
from unimeec.features.media import MediaPathError, load_audio, media_path


def _manifest(path: Path, media: list[str | None]) -> Path:
    utts = [
        {"speaker": "A", "text": f"utterance {k}", **({"media": m} if m else {})}
        for k, m in enumerate(media, start=1)
    ]
    path.write_text(json.dumps({"id": "1", "utterances": utts}) + "\n", encoding="utf-8")
    return path


def test_media_paths_stay_inside_the_media_dir(tmp_path: Path) -> None:
    media = tmp_path / "media"
    assert media_path("clips/dia1utt1.mp4", media) == media / "clips" / "dia1utt1.mp4"
    assert media_path("clips/../dia1utt1.mp4", media) == media / "clips/../dia1utt1.mp4"
    with pytest.raises(MediaPathError, match=r"media path '../../etc/passwd' leads outside "):
        media_path("../../etc/passwd", media)
    with pytest.raises(MediaPathError, match="is absolute; .*--allow-absolute-paths"):
        media_path("/etc/passwd", media)
    assert media_path("/etc/passwd", media, allow_absolute=True) == Path("/etc/passwd")


def test_escaping_manifest_is_refused_before_any_file_is_read(
    tmp_path: Path, speech_wav: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    media = tmp_path / "media"
    media.mkdir()
    outside = tmp_path / "secret.wav"
    shutil.copy(speech_wav, outside)
    manifest = _manifest(tmp_path / "m.jsonl", ["../secret.wav"])
    args = [
        "features",
        "extract",
        "--manifest",
        str(manifest),
        "--media-dir",
        str(media),
        "--modality",
        "audio",
        "--extractor",
        "egemaps_v02",
        "--out",
        str(tmp_path / "s"),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "media path '../secret.wav' leads outside" in err
    assert not (tmp_path / "s" / "index.json").exists()
    _manifest(manifest, [str(outside)])
    assert main(args) == 1
    assert "is absolute" in capsys.readouterr().err
    assert main([*args, "--allow-absolute-paths"]) == 0
    assert FeatureStore.open(tmp_path / "s").media == {str(outside): file_sha256(outside)}


@pytest.mark.parametrize("content", [b"", b"\x00\x01 not a video at all " * 100])
def test_undecodable_video_is_recorded_missing(
    tmp_path: Path, talking_video: Path, content: bytes
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(talking_video, media / "good.mp4")
    (media / "broken.mp4").write_bytes(content)
    manifest = _manifest(tmp_path / "m.jsonl", ["broken.mp4", "good.mp4"])
    store, summary = extract_features(
        read_manifest(manifest),
        build_extractor("fer", "visual", frames=2),
        tmp_path / "visual",
        media_dir=media,
        progress=False,
    )
    assert (summary.extracted, summary.missing) == (1, 1)
    assert "broken.mp4: cannot decode video" in store.missing_reason("1", 1)
    assert store.get("1", 2) is not None


def _sine_wav(path: Path, seconds: float = 1.5) -> Path:
    """A 440 Hz tone, 16 kHz mono 16-bit (a different recording than the speech)."""
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def test_resume_retries_failures_and_redoes_changed_media(tmp_path: Path, speech_wav: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.wav").write_bytes(b"not audio")  # fails first
    shutil.copy(speech_wav, media / "b.wav")
    conversations = read_manifest(_manifest(tmp_path / "m.jsonl", ["a.wav", "b.wav", None]))
    extractor = build_extractor("egemaps_v02", "audio")
    out = tmp_path / "audio"

    def run():  # type: ignore[no-untyped-def]
        return extract_features(conversations, extractor, out, media_dir=media, progress=False)

    store, first = run()
    assert (first.extracted, first.missing, first.retried) == (1, 2, 0)
    assert "a.wav: cannot decode audio" in store.missing_reason("1", 1)
    old_b = store.get("1", 2)

    shutil.copy(speech_wav, media / "a.wav")  # the failed file is fixed: retried
    store, second = run()
    assert (second.extracted, second.missing, second.skipped, second.retried) == (1, 0, 2, 1)
    np.testing.assert_array_equal(store.get("1", 1), old_b)  # same audio, same features

    _sine_wav(media / "b.wav")  # a recorded file changes: its features are made again
    store, third = run()
    assert (third.extracted, third.skipped, third.retried, third.changed_media) == (1, 2, 1, 1)
    direct = OpenSmileExtractor("egemaps_v02").embed_signal(load_audio(media / "b.wav"))
    np.testing.assert_array_equal(store.get("1", 2), direct)
    assert not np.allclose(store.get("1", 2), old_b)
    assert store.media["b.wav"] == file_sha256(media / "b.wav")
    assert sorted(store.keys()) == [("1", 1), ("1", 2), ("1", 3)]

    _, fourth = run()  # nothing changed: nothing is redone
    assert (fourth.extracted, fourth.skipped, fourth.retried) == (0, 3, 0)
