"""Two learning rates (backbone / new layers), no decay on biases and norms, warmup + decay."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from unimeec.training.config import OptimConfig
from unimeec.training.optim import build_optimizer, build_scheduler


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
        self.head = nn.Linear(4, 2)
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


def test_parameter_groups() -> None:
    model = _Toy()
    optim = OptimConfig(lr_backbone=1e-5, lr_head=1e-3, weight_decay=0.05)
    optimizer = build_optimizer(model, optim)
    groups = {g["name"]: g for g in optimizer.param_groups}
    assert set(groups) == {"backbone", "backbone_no_decay", "head", "head_no_decay"}
    assert [p.shape for p in groups["backbone"]["params"]] == [torch.Size([4, 4])]
    assert len(groups["backbone_no_decay"]["params"]) == 3  # linear bias, norm weight + bias
    assert groups["backbone"]["lr"] == 1e-5 and groups["backbone"]["weight_decay"] == 0.05
    assert groups["head"]["lr"] == 1e-3 and groups["head_no_decay"]["weight_decay"] == 0.0
    n_trainable = sum(1 for p in model.parameters() if p.requires_grad)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == n_trainable == 6


def test_learned_loss_weights_get_their_own_group() -> None:
    model = _Toy()
    model.loss_log_variances = nn.Parameter(torch.zeros(2))
    optim = OptimConfig(lr_head=1e-3, lr_loss_weights=0.05, weight_decay=0.05)
    groups = {g["name"]: g for g in build_optimizer(model, optim).param_groups}
    assert groups["loss_weights"]["params"] == [model.loss_log_variances]
    assert groups["loss_weights"]["lr"] == 0.05 and groups["loss_weights"]["weight_decay"] == 0.0
    assert all(model.loss_log_variances is not p for p in groups["head_no_decay"]["params"])


class _Encoder(nn.Module):
    """Named like a Hugging Face encoder: embeddings, encoder.layer.<k>, pooler."""

    def __init__(self) -> None:
        super().__init__()
        self.embeddings = nn.Embedding(5, 4)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.pooler = nn.Linear(4, 4)


class _Stacked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = _Encoder()
        self.head = nn.Linear(4, 2)


def test_layer_decay_scales_the_backbone_rate_by_depth() -> None:
    model = _Stacked()
    optim = OptimConfig(lr_backbone=1e-4, lr_head=1e-3, layer_decay=0.5)
    groups = {g["name"]: g for g in build_optimizer(model, optim).param_groups}
    # L = 2 layers: embeddings depth 0, layer.0 depth 1, layer.1 and the pooler depth 2
    assert groups["backbone_l0"]["lr"] == pytest.approx(0.25e-4)
    assert groups["backbone_l0"]["params"] == [model.backbone.embeddings.weight]
    assert groups["backbone_l1"]["lr"] == pytest.approx(0.5e-4)
    assert groups["backbone_l1_no_decay"]["params"] == [model.backbone.encoder.layer[0].bias]
    top = groups["backbone_l2"]
    assert top["lr"] == pytest.approx(1e-4)
    assert top["params"] == [model.backbone.encoder.layer[1].weight, model.backbone.pooler.weight]
    assert groups["head"]["lr"] == 1e-3 and "backbone" not in groups
    n_trainable = sum(1 for p in model.parameters() if p.requires_grad)
    assert sum(len(g["params"]) for g in groups.values()) == n_trainable
    # layer_decay 1 (the default) keeps the plain two-rate groups
    plain = {g["name"] for g in build_optimizer(model, OptimConfig()).param_groups}
    assert plain == {"backbone", "backbone_no_decay", "head", "head_no_decay"}


def test_layer_decay_needs_numbered_layers() -> None:
    from unimeec.errors import ConfigError

    with pytest.raises(ConfigError, match="optim.layer_decay: the backbone has no numbered layers"):
        build_optimizer(_Toy(), OptimConfig(layer_decay=0.8))


def test_warmup_then_linear_decay() -> None:
    model = _Toy()
    optim = OptimConfig(lr_backbone=1e-4, lr_head=1e-3, warmup_ratio=0.2)
    optimizer = build_optimizer(model, optim)
    scheduler = build_scheduler(optimizer, optim, total_steps=10)  # 2 warmup steps
    head_lrs = []
    for _ in range(10):
        head_lrs.append(next(g["lr"] for g in optimizer.param_groups if g["name"] == "head"))
        optimizer.step()
        scheduler.step()
    expected = [0.0, 0.5e-3, 1e-3] + [1e-3 * (10 - k) / 8 for k in range(3, 10)]
    assert head_lrs == pytest.approx(expected)
    constant = OptimConfig(warmup_ratio=0.0, schedule="constant")
    optimizer = build_optimizer(_Toy(), constant)
    scheduler = build_scheduler(optimizer, constant, total_steps=5)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    lrs = {g["name"]: g["lr"] for g in optimizer.param_groups}
    assert lrs["backbone"] == constant.lr_backbone and lrs["head"] == constant.lr_head


def test_backbone_frozen_ratio_holds_the_encoder_then_warms_it_up() -> None:
    optim = OptimConfig(
        lr_backbone=1e-4, lr_head=1e-3, warmup_ratio=0.25, backbone_frozen_ratio=0.2
    )
    optimizer = build_optimizer(_Toy(), optim)
    scheduler = build_scheduler(optimizer, optim, total_steps=10)  # 2 frozen, then 8 steps
    rates: dict[str, list[float]] = {"backbone": [], "backbone_no_decay": [], "head": []}
    for _ in range(10):
        for group in optimizer.param_groups:
            if group["name"] in rates:
                rates[group["name"]].append(group["lr"])
        optimizer.step()
        scheduler.step()
    # the head: warm-up over round(0.25 * 10) = 2 steps, then linear decay over 8
    assert rates["head"] == pytest.approx(
        [0.0, 0.5e-3, 1e-3] + [1e-3 * (10 - k) / 8 for k in range(3, 10)]
    )
    # the backbone: 0 for 2 steps, then warm-up over round(0.25 * 8) = 2, decay over 6
    assert rates["backbone"] == pytest.approx(
        [0.0, 0.0, 0.0, 0.5e-4, 1e-4] + [1e-4 * (8 - m) / 6 for m in range(3, 8)]
    )
    assert rates["backbone_no_decay"] == rates["backbone"]
