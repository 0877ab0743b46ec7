"""benchmarks/neutral_bias_cv.py: tuned on one dev half, scored on the other, never on test."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from unimeec.checkpoint import save_checkpoint
from unimeec.data import load_dataset
from unimeec.evaluation import evaluate
from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor
from unimeec.predict import Predictor
from unimeec.training.config import DecodingConfig


def test_rows_score_the_held_out_half_at_the_choice_of_the_other(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    from neutral_bias_cv import main

    labels = load_dataset("ecf1", "dev", shared_data)[0].labels
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone, emotion_labels=list(labels)))
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), tmp_path / "m")
    out = tmp_path / "cv.json"
    argv = [str(tmp_path / "m"), "--data-dir", str(shared_data), "--limit", "8", "--out", str(out)]
    assert main(argv) == 0
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == [
        "neutral-bias-cv-m-fold0",
        "neutral-bias-cv-m-fold1",
        "neutral-bias-cv-mean",
    ]
    grid = DecodingConfig()
    dev = load_dataset("ecf1", "dev", shared_data)[:8]
    predictor = Predictor.from_pretrained(tmp_path / "m")
    for fold, row in enumerate(rows[:2]):
        assert row["split"] == "dev" and row["tuned_on"] == row["held_out"] == 4
        chosen = row["chosen"]
        assert chosen["neutral_bias"] in grid.neutral_bias_grid
        assert chosen["cause_threshold"] in grid.threshold_grid
        held = dev[1 - fold :: 2]  # fold 0 tunes on even positions, scores the odd ones
        after = evaluate(
            held,
            predictor.predict(
                held, threshold=chosen["cause_threshold"], neutral_bias=chosen["neutral_bias"]
            ),
        )
        before = evaluate(held, predictor.predict(held, threshold=row["threshold_alone"]))
        for metric in ("merc_weighted_f1", "mecpe_pair_f1", "joint_f1"):
            assert row["metrics"][f"held_out_{metric}_before"] == pytest.approx(before[metric])
            assert row["metrics"][f"delta_{metric}"] == pytest.approx(
                after[metric] - before[metric]
            )
    mean = rows[2]["metrics"]
    assert mean["delta_joint_f1"] == pytest.approx(
        statistics.fmean(r["metrics"]["delta_joint_f1"] for r in rows[:2])
    )
