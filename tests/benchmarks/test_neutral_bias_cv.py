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


def _run_variant(variant, tiny_backbone, shared_data, tmp_path):
    """Rows of ``neutral_bias_cv.py --variant`` on 8 dev conversations, a Predictor of the
    same tiny model, and those conversations."""
    from neutral_bias_cv import main

    labels = load_dataset("ecf1", "dev", shared_data)[0].labels
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone, emotion_labels=list(labels)))
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), tmp_path / "m")
    out = tmp_path / f"{variant}.json"
    argv = [str(tmp_path / "m"), "--data-dir", str(shared_data), "--limit", "8"]
    assert main([*argv, "--variant", variant, "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    dev = load_dataset("ecf1", "dev", shared_data)[:8]
    return rows, Predictor.from_pretrained(tmp_path / "m"), dev


def test_rows_score_the_held_out_half_at_the_choice_of_the_other(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    rows, predictor, dev = _run_variant("bias", tiny_backbone, shared_data, tmp_path)
    assert [r["name"] for r in rows] == [
        "neutral-bias-cv-m-fold0",
        "neutral-bias-cv-m-fold1",
        "neutral-bias-cv-mean",
    ]
    grid = DecodingConfig()
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


def test_split_scores_emotions_and_pairs_at_their_own_biases(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    rows, predictor, dev = _run_variant("split", tiny_backbone, shared_data, tmp_path)
    assert [r["name"] for r in rows] == [
        "split-bias-cv-m-fold0",
        "split-bias-cv-m-fold1",
        "split-bias-cv-mean",
    ]
    for fold, row in enumerate(rows[:2]):
        assert row["variant"] == "split"
        c = row["chosen"]
        held = dev[1 - fold :: 2]
        shared = predictor.predict(
            held, threshold=c["cause_threshold"], neutral_bias=c["neutral_bias"]
        )
        labelled = predictor.predict(held, neutral_bias=c["emotion_bias"])
        paired = predictor.predict(held, threshold=c["pair_threshold"], neutral_bias=c["pair_bias"])
        after = [e.with_predictions(pairs=p.pairs) for e, p in zip(labelled, paired)]
        for metric in ("merc_weighted_f1", "mecpe_pair_f1"):
            assert row["metrics"][f"delta_{metric}"] == pytest.approx(
                evaluate(held, after)[metric] - evaluate(held, shared)[metric]
            )


def test_prior_moves_the_bias_by_the_neutral_log_odds_of_tuning_half_and_train(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    import math

    rows, predictor, dev = _run_variant("prior", tiny_backbone, shared_data, tmp_path)
    assert rows[2]["name"] == "prior-bias-cv-mean"
    train = [u.emotion for c in load_dataset("ecf1", "train", shared_data) for u in c.utterances]
    p_train = train.count("neutral") / len(train)
    assert p_train == pytest.approx(4389 / 9966)  # ECF 1.0 train: 4,389 of 9,966 neutral
    for fold, row in enumerate(rows[:2]):
        c = row["chosen"]
        tune = [u.emotion for conv in dev[fold::2] for u in conv.utterances]
        p_tune = tune.count("neutral") / len(tune)
        assert c["tune_neutral_share"] == pytest.approx(p_tune)
        expected = c["neutral_bias"] - (
            math.log(p_tune / (1 - p_tune)) - math.log(p_train / (1 - p_train))
        )
        assert c["corrected_bias"] == pytest.approx(expected)
        held = dev[1 - fold :: 2]
        tau = c["cause_threshold"]
        before = evaluate(
            held, predictor.predict(held, threshold=tau, neutral_bias=c["neutral_bias"])
        )
        after = evaluate(held, predictor.predict(held, threshold=tau, neutral_bias=expected))
        assert row["metrics"]["delta_joint_f1"] == pytest.approx(
            after["joint_f1"] - before["joint_f1"]
        )


def test_an_emotion_only_model_tunes_its_bias_on_emotion_f1_alone(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    from neutral_bias_cv import main

    labels = load_dataset("meld", "dev", shared_data)[0].labels
    torch.manual_seed(0)
    config = UniMEECConfig(backbone=tiny_backbone, emotion_labels=list(labels), tasks="emotion")
    model = UniMEECModel(config)
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), tmp_path / "m")
    out = tmp_path / "meld.json"
    argv = [str(tmp_path / "m"), "--dataset", "meld", "--data-dir", str(shared_data)]
    assert main([*argv, "--limit", "8", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    predictor = Predictor.from_pretrained(tmp_path / "m")
    dev = load_dataset("meld", "dev", shared_data)[:8]
    for fold, row in enumerate(rows[:2]):
        assert set(row["metrics"]) == {"delta_merc_weighted_f1", "held_out_merc_weighted_f1_before"}
        bias = row["chosen"]["neutral_bias"]
        assert bias in DecodingConfig().neutral_bias_grid
        held = dev[1 - fold :: 2]
        after = evaluate(held, predictor.predict(held, neutral_bias=bias))["merc_weighted_f1"]
        before = evaluate(held, predictor.predict(held))["merc_weighted_f1"]
        assert row["metrics"]["delta_merc_weighted_f1"] == pytest.approx(after - before)
    assert rows[2]["folds"] == 2
    assert set(rows[2]["metrics"]) == {"delta_merc_weighted_f1", "delta_merc_weighted_f1_min"}
    with pytest.raises(SystemExit, match="needs a joint model"):
        main([*argv, "--limit", "8", "--variant", "split", "--out", str(tmp_path / "s.json")])
