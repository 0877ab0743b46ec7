"""The official ECF feature tables end to end: a table in the MECPE authors' format (rows mapped
by the real ``video_id_mapping.npy``) given to ``unimeec train`` and ``unimeec predict`` with
``--features``, exactly as a feature store would be."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from unimeec.cli import main
from unimeec.data import load_dataset, write_conversations

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ecf1_joint.yaml"
DIM = 8
LIMIT = 3  # conversations per split: two batches of 2, of which one step is trained


@pytest.fixture(scope="module")
def official_table(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """``audio_embedding_8.npy``: [13620, 8] float32, row 0 padding, beside the real mapping."""
    folder = tmp_path_factory.mktemp("ecf_official")
    shutil.copy(shared_data / "ecf1" / "video_id_mapping.npy", folder / "video_id_mapping.npy")
    table = np.random.default_rng(0).normal(size=(13620, DIM)).astype(np.float32)
    table[0] = 0.0
    np.save(folder / f"audio_embedding_{DIM}.npy", table)
    return folder / f"audio_embedding_{DIM}.npy"


def test_train_and_predict_with_an_official_ecf_table(
    official_table: Path,
    shared_data: Path,
    tiny_backbone: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
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
                "trainer.max_steps=1",
                "trainer.accelerator=cpu",
                "trainer.enable_progress_bar=false",
                "run_name=official",
                "--features",
                f"audio={official_table}",
            ]
        )
        == 0
    )
    run = tmp_path / "runs" / "official"
    # one step ends inside the epoch, before any dev pass: the last weights are kept
    assert not (run / "checkpoints" / "best.ckpt").exists()
    dev = json.loads((run / "metrics_dev.json").read_text())
    assert {"merc_weighted_f1", "mecpe_pair_f1", "joint_f1"} <= set(dev)
    saved = json.loads((run / "model" / "config.json").read_text())
    assert saved["modalities"] == ["text", "audio"] and saved["feature_dims"] == {"audio": DIM}
    config = (run / "config.yaml").read_text()
    assert f"audio: {official_table}" in config

    test = load_dataset("ecf1", "test", shared_data)[:LIMIT]
    plain = tmp_path / "test.jsonl"
    write_conversations(test, plain)
    with_audio, without = tmp_path / "with.jsonl", tmp_path / "without.jsonl"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(run),
                str(plain),
                "-o",
                str(with_audio),
                "--features",
                f"audio={official_table}",
            ]
        )
        == 0
    )
    with pytest.warns(UserWarning, match="trained with audio features but none were given"):
        assert main(["predict", "--checkpoint", str(run), str(plain), "-o", str(without)]) == 0
    capsys.readouterr()

    def scores(path: Path) -> list[dict[str, float]]:
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert [r["id"] for r in records] == [c.id for c in test]
        return [u["emotion_scores"] for r in records for u in r["utterances"]]

    assert len(scores(with_audio)) == sum(len(c) for c in test)
    assert scores(with_audio) != scores(without)  # the table's rows reached the model


def test_a_table_of_the_wrong_modality_is_named(
    official_table: Path,
    shared_data: Path,
    tiny_backbone: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    visual = tmp_path / "video_embedding_8.npy"
    shutil.copy(official_table, visual)
    shutil.copy(official_table.with_name("video_id_mapping.npy"), tmp_path)
    args = [
        "train",
        "--config",
        str(CONFIG),
        "--data-dir",
        str(shared_data),
        "--output-dir",
        str(tmp_path),
        f"model.backbone={tiny_backbone}",
        "data.limit=2",
        "trainer.accelerator=cpu",
    ]
    assert main([*args, "--features", f"audio={visual}"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"unimeec train: error: {visual}: the file name says visual features, configured as audio"
    )
    assert main([*args, "--features", f"audio={tmp_path / 'absent.npy'}"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"unimeec train: error: {tmp_path / 'absent.npy'}: audio feature store not found"
    )
