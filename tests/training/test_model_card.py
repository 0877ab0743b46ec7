"""The model card (training/model_card.py): its YAML header, data, training facts and scores."""

from __future__ import annotations

from pathlib import Path

import yaml

from unimeec.training.config import load_config
from unimeec.training.model_card import MODEL_CARD_FILE, metrics_table, render_model_card

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_metrics_table_in_percent_in_the_card_order() -> None:
    table = metrics_table(
        {
            "dev": {"mecpe_pair_f1": 0.53125, "merc_weighted_f1": 0.5424, "not_a_card_metric": 0.9},
            "test": {"merc_weighted_f1": 0.5478},
        }
    )
    assert table.splitlines() == [
        "| metric | dev | test |",
        "| --- | ---: | ---: |",
        "| merc_weighted_f1 | 54.24 | 54.78 |",
        "| mecpe_pair_f1 | 53.12 |  |",
    ]
    assert metrics_table({}) == metrics_table({"dev": {"other": 1.0}}) == "(no metrics)"


def test_card_of_a_run() -> None:
    config = load_config(CONFIGS / "ecf1_joint.yaml", ["data.limit=20", "seed=7"])
    text = render_model_card(
        config,
        split_sizes={"train": 20, "dev": 20, "test": 20},
        metrics={"test": {"mecpe_pair_f1": 0.5}},
        command=["unimeec", "train", "--config", "configs/ecf1_joint.yaml"],
        threshold=0.25,
        version="0.1.0",
        backbone="all-MiniLM-L6-v2",
        monitor="val/joint_f1",
    )
    _, header, body = text.split("---\n", 2)
    assert yaml.safe_load(header) == {
        "library_name": "unimeec",
        "tags": ["emotion-recognition", "emotion-cause-pair-extraction", "unimeec"],
        "datasets": ["ecf1"],
        "unimeec_version": "0.1.0",
    }
    assert "# UniMEEC model: ecf1, task `joint`" in body
    for line in (
        "- conversations per split limited to: 20",
        "- train: 20 conversations",
        "- audio/visual features: none (text only)",
        "- seed: 7",
        "- backbone: `all-MiniLM-L6-v2`",
        "- cause threshold tau: 0.25",
        "- command: `unimeec train --config configs/ecf1_joint.yaml`",
        "| mecpe_pair_f1 | 50.00 |",
    ):
        assert line in body.splitlines(), line
    assert "on dev `val/joint_f1`" in body
    assert MODEL_CARD_FILE == "README.md"  # what the Hugging Face Hub shows


def test_card_without_dev_threshold_or_command() -> None:
    config = load_config(
        CONFIGS / "semeval2024_subtask2.yaml", ["data.features={audio: features/audio}"]
    )
    text = render_model_card(
        config,
        split_sizes={"train": 1374},
        metrics={},
        command=None,
        threshold=None,
        version="0.1.0",
        backbone="b",
        monitor="none (no dev split)",
    )
    lines = text.splitlines()
    assert "- command: `(Python API)`" in lines
    assert "- cause threshold tau: not used" in lines
    assert "- audio/visual features: audio from `features/audio`" in lines
    assert "(no metrics)" in lines
    assert "and threshold tuning on: nothing (last epoch kept)" in text
