"""Extracted features in the whole workflow: real ECF conversations voiced by real speech ->
`unimeec features extract` (eGeMAPS) -> `unimeec train` with the store -> `unimeec predict`
without it (the audio modality missing, as documented: a warning, never a crash)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unimeec.cli import main
from unimeec.data import load_dataset, write_conversations
from unimeec.data.feature_store import FeatureStore
from unimeec.features.media import load_audio
from unimeec.predict import Predictor

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ecf1_joint.yaml"
LIMIT = 3  # conversations per split


@pytest.fixture(scope="module")
def voiced_ecf(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, speech_wav: Path
) -> tuple[Path, list]:
    """The first ECF conversations of each split, every utterance a 0.8 s span of real speech."""
    seconds = len(load_audio(speech_wav)) / 16000
    conversations = []
    for split in ("train", "dev", "test"):
        for conv in load_dataset("ecf1", split, shared_data)[:LIMIT]:
            for utt in conv.utterances:
                utt.media = speech_wav.name
                utt.start = round((utt.index % 3) * (seconds - 0.8) / 2, 3)
                utt.end = round(utt.start + 0.8, 3)
            conversations.append(conv)
    manifest = tmp_path_factory.mktemp("voiced") / "manifest.jsonl"
    write_conversations(conversations, manifest)
    return manifest, conversations


def test_extract_train_and_predict_with_one_modality_missing(
    voiced_ecf: tuple[Path, list],
    speech_wav: Path,
    tmp_path: Path,
    tiny_backbone: str,
    shared_data: Path,
) -> None:
    manifest, conversations = voiced_ecf
    store_dir = tmp_path / "audio"
    assert (
        main(
            [
                "features",
                "extract",
                "--manifest",
                str(manifest),
                "--media-dir",
                str(speech_wav.parent),
                "--modality",
                "audio",
                "--extractor",
                "egemaps_v02",
                "--out",
                str(store_dir),
            ]
        )
        == 0
    )
    store = FeatureStore.open(store_dir)
    n_utterances = sum(len(c) for c in conversations)
    assert store.dim == 88 and len(store.keys()) == n_utterances
    assert store.missing_keys() == []

    assert (
        main(
            [
                "train",
                "--config",
                str(CONFIG),
                "--data-dir",
                str(shared_data),
                "--output-dir",
                str(tmp_path / "runs"),
                f"data.limit={LIMIT}",
                "data.batch_size=2",
                f"model.backbone={tiny_backbone}",
                "trainer.max_epochs=1",
                "trainer.accelerator=cpu",
                "trainer.enable_progress_bar=false",
                "run_name=audio",
                "--features",
                f"audio={store_dir}",
            ]
        )
        == 0
    )
    run = tmp_path / "runs" / "audio"
    saved = json.loads((run / "model" / "config.json").read_text())
    assert saved["modalities"] == ["text", "audio"] and saved["feature_dims"] == {"audio": 88}

    # Predict the test conversations without any audio: the modality is missing for all.
    test_convs = [c for c in conversations if c.split == "test"]
    plain = tmp_path / "test.jsonl"
    write_conversations(test_convs, plain)
    out = tmp_path / "pred.jsonl"
    with pytest.warns(UserWarning, match="trained with audio features but none were given"):
        assert main(["predict", "--checkpoint", str(run), str(plain), "-o", str(out)]) == 0
    predicted = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["id"] for p in predicted] == [c.id for c in test_convs]
    assert all(u["emotion"] is not None for p in predicted for u in p["utterances"])

    # With the store the same checkpoint reads the audio, and the predictions change.
    predictor = Predictor.from_pretrained(run)
    with_audio = predictor.predict(test_convs, features={"audio": str(store_dir)})
    with pytest.warns(UserWarning, match="audio treated as missing"):
        without = predictor.predict(test_convs)
    scores = [u.emotion_scores for c in with_audio for u in c.utterances]
    assert scores != [u.emotion_scores for c in without for u in c.utterances]
