"""benchmarks/gradient_conflict.py: the per-loss gradients add up to the joint loss's."""

from __future__ import annotations

import json

import torch

from unimeec.data import load_dataset
from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor


def test_per_loss_gradients_sum_to_the_joint_gradient(bench_dir, tiny_backbone, shared_data):
    from gradient_conflict import loss_gradients

    train = load_dataset("ecf1", "train", shared_data)[:3]
    torch.manual_seed(0)
    model = UniMEECModel(
        UniMEECConfig(backbone=tiny_backbone, emotion_labels=list(train[0].labels))
    )
    model.eval()  # no dropout: the two passes below see the same network
    batch = UniMEECProcessor.from_config(model.config)(train)
    emotion, cause = loss_gradients(model, batch)
    params = dict(model.named_parameters())
    joint = torch.autograd.grad(model(**batch).loss, list(params.values()), allow_unused=True)
    for (name, p), g in zip(params.items(), joint):
        expected = torch.zeros_like(p) if g is None else g
        torch.testing.assert_close(emotion[name] + cause[name], expected, atol=1e-6, rtol=1e-4)
    # the emotion head gets no cause gradient and the cause head no emotion gradient
    assert all(cause[n].abs().sum() == 0 for n in params if n.startswith("emotion_head."))
    assert all(emotion[n].abs().sum() == 0 for n in params if n.startswith("cause_head."))
    assert any(emotion[n].abs().sum() > 0 for n in params if n.startswith("backbone."))


def test_smoke_row(bench_dir, tmp_path, shared_data):
    from gradient_conflict import GROUPS, main

    out = tmp_path / "gc.json"
    assert main(["--smoke", "--data-dir", str(shared_data), "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["name"] == "gradient-conflict-untrained" and row["batches"] == 2
    for group in GROUPS:
        assert -1.0 <= row["metrics"][f"{group}_cosine"] <= 1.0
        assert row["metrics"][f"{group}_conflict_share"] in (0.0, 0.5, 1.0)
        assert row["metrics"][f"{group}_cause_to_emotion_norm"] > 0
