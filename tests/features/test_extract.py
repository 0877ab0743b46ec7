"""The whole extraction on real media: manifest -> store, for audio and faces, resumable, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unimeec.cli import main
from unimeec.data.feature_store import FeatureStore, file_sha256
from unimeec.errors import DataFormatError, FeatureError
from unimeec.features import build_extractor, extract_features, read_manifest
from unimeec.features.audio import OpenSmileExtractor
from unimeec.features.fer_net import FER_EMOTIONS
from unimeec.features.media import load_audio


def write_manifest(path: Path, conversations: list[dict]) -> Path:
    """Write conversations (our JSONL records) one per line."""
    path.write_text("".join(json.dumps(c) + "\n" for c in conversations), encoding="utf-8")
    return path


@pytest.fixture()
def manifest(tmp_path: Path, talking_video: Path, speech_wav: Path, video_half: float) -> Path:
    """Conversation 1: two spans of the video; conversation 2: the wav, and one without media."""
    conversations = [
        {
            "id": "1",
            "utterances": [
                {
                    "speaker": "A",
                    "text": "I am so happy",
                    "media": talking_video.name,
                    "start": 0.0,
                    "end": video_half,
                },
                {
                    "speaker": "B",
                    "text": "to see you",
                    "media": talking_video.name,
                    "start": video_half,
                },
            ],
        },
        {
            "id": "2",
            "utterances": [
                {"speaker": "A", "text": "again today.", "media": str(speech_wav)},
                {"speaker": "B", "text": "(no recording)"},
            ],
        },
    ]
    return write_manifest(tmp_path / "convs.jsonl", conversations)


def test_audio_extraction_writes_the_documented_store(
    manifest: Path, talking_video: Path, speech_wav: Path, tmp_path: Path
) -> None:
    conversations = read_manifest(manifest)
    extractor = build_extractor("compare_2016", "audio")
    store, summary = extract_features(
        conversations,
        extractor,
        tmp_path / "audio",
        media_dir=talking_video.parent,
        progress=False,
        allow_absolute_paths=True,
    )
    assert (summary.extracted, summary.missing, summary.skipped, summary.files) == (3, 1, 0, 2)
    assert summary.missing_reasons == {"no media file given in the manifest": 1}
    assert (store.dim, store.modality) == (6373, "audio")
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == [
        "index.json",
        "shard-00000.safetensors",
    ]
    index = json.loads((tmp_path / "audio" / "index.json").read_text())
    assert index["extractor"]["name"] == "opensmile-ComParE_2016"
    assert index["extractor"]["settings"] == {
        "feature_set": "ComParE_2016",
        "feature_level": "Functionals",
        "sample_rate": 16000,
        "channels": "mono",
    }
    assert set(index["extractor"]["versions"]) == {"opensmile", "av"}
    assert index["media"] == {
        talking_video.name: file_sha256(talking_video),
        str(speech_wav): file_sha256(speech_wav),
    }
    assert store.missing_reason("2", 2) == "no media file given in the manifest"
    # the stored vector is openSMILE on the decoded file, exactly
    direct = OpenSmileExtractor("compare_2016").embed_signal(load_audio(speech_wav))
    np.testing.assert_array_equal(store.get("2", 1), direct)
    first, second = store.get("1", 1), store.get("1", 2)
    assert first.shape == (6373,) and not np.allclose(first, second)

    # resuming does nothing more; a store for a subset is completed by a rerun
    _, again = extract_features(
        conversations,
        extractor,
        tmp_path / "audio",
        progress=False,
        media_dir=talking_video.parent,
        allow_absolute_paths=True,
    )
    assert (again.extracted, again.missing, again.skipped) == (0, 0, 4)
    _, part = extract_features(
        conversations[1:], extractor, tmp_path / "part", progress=False, allow_absolute_paths=True
    )
    _, rest = extract_features(
        conversations,
        extractor,
        tmp_path / "part",
        progress=False,
        media_dir=talking_video.parent,
        allow_absolute_paths=True,
    )
    assert (part.extracted, rest.extracted, rest.skipped) == (1, 2, 2)
    np.testing.assert_array_equal(FeatureStore.open(tmp_path / "part").get("1", 1), first)


def test_facial_expression_extraction(manifest: Path, talking_video: Path, tmp_path: Path) -> None:
    extractor = build_extractor("fer", "visual", frames=3)
    store, summary = extract_features(
        read_manifest(manifest),
        extractor,
        tmp_path / "visual",
        media_dir=talking_video.parent,
        progress=False,
        allow_absolute_paths=True,
    )
    assert (store.dim, store.modality) == (135, "visual")
    assert (summary.extracted, summary.missing) == (1, 3)
    vector = store.get("1", 1)
    probs = vector[:7]
    assert FER_EMOTIONS[int(probs.argmax())] == "happy" and probs.sum() == pytest.approx(1, 1e-5)
    assert store.get("1", 2) is None  # the coffee cup: explicit missing, never zeros
    assert store.missing_reason("1", 2) == "no face detected in 3 sampled frames"
    assert "no video stream" in store.missing_reason("2", 1)
    settings = store.extractor.settings
    assert settings["frames"] == 3 and settings["cascade"] == "haarcascade_frontalface_default.xml"
    assert len(settings["weights_sha256"]) == 64


def test_cli_extract_in_parallel_info_and_errors(
    manifest: Path, talking_video: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "egemaps"
    code = main(
        [
            "features",
            "extract",
            "--manifest",
            str(manifest),
            "--media-dir",
            str(talking_video.parent),
            "--modality",
            "audio",
            "--extractor",
            "egemaps_v02",
            "--workers",
            "2",
            "--allow-absolute-paths",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dim"] == 88 and report["extracted"] == 3 and report["files"] == 2
    store = FeatureStore.open(out)
    serial, _ = extract_features(
        read_manifest(manifest),
        build_extractor("egemaps_v02", "audio"),
        tmp_path / "serial",
        media_dir=talking_video.parent,
        progress=False,
        allow_absolute_paths=True,
    )
    for key in [("1", 1), ("1", 2), ("2", 1)]:
        np.testing.assert_array_equal(store.get(*key), serial.get(*key))

    assert main(["features", "info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["keys"], info["missing"], info["media_files"]) == (4, 1, 2)

    assert (
        main(
            [
                "features",
                "extract",
                "--manifest",
                str(manifest),
                "--media-dir",
                str(tmp_path / "nowhere"),
                "--modality",
                "audio",
                "--extractor",
                "egemaps_v02",
                "--allow-absolute-paths",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "1 media file(s) not found in" in err and talking_video.name in err
    assert (
        main(
            [
                "features",
                "extract",
                "--manifest",
                str(manifest),
                "--modality",
                "visual",
                "--extractor",
                "compare_2016",
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 1
    )
    assert "makes audio features, not visual" in capsys.readouterr().err


def test_cli_convert_ecf(tmp_path: Path, capsys) -> None:
    table = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "video_embedding_4.npy", table)
    np.save(
        tmp_path / "video_id_mapping.npy",
        np.array({"dia5utt1": 1, "dia5utt2": 2}, dtype=object),
        allow_pickle=True,
    )
    assert (
        main(
            [
                "features",
                "convert-ecf",
                "--table",
                str(tmp_path / "video_embedding_4.npy"),
                "--out",
                str(tmp_path / "store"),
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["keys"] == 2
    store = FeatureStore.open(tmp_path / "store", modality="visual")
    assert store.get("5", 2).tolist() == table[2].tolist()


def test_manifest_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "utterances": [{"speaker": "A", "text": "hi"}]}\n{"id": 2}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2, conversation 2, field 'utterances'"):
        read_manifest(bad)
    bad.write_text("{not json\n")
    with pytest.raises(DataFormatError, match=r"bad.jsonl:1: invalid JSON"):
        read_manifest(bad)
    with pytest.raises(FeatureError, match="manifest not found"):
        read_manifest(tmp_path / "absent.jsonl")
    with pytest.raises(FeatureError, match="needs a model name or path"):
        build_extractor("hf", "audio")
    with pytest.raises(FeatureError, match="unknown extractor 'mfcc'"):
        build_extractor("mfcc", "audio")
