"""AdamW with two learning rates and a warmup + linear-decay schedule.

Why two rates: the backbone is pre-trained and forgets what it knows under the rate the
freshly initialised prompt, context and head layers need. Biases and LayerNorm weights get
no weight decay (standard practice for transformers). ``optim.layer_decay`` < 1 goes one
step further inside the backbone (layer-wise learning-rate decay, Clark et al., 2020): the
lower a layer, the more general what it holds, so the smaller its rate.
``optim.backbone_frozen_ratio`` > 0 holds the backbone still for the first steps: randomly
initialised heads send gradients into the encoder that the two tasks do not agree on
(docs/quality.md measured a cosine of -0.09 at the start), so they train on fixed
features first (linear probing, then fine-tuning; Kumar et al., 2022).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from unimeec.errors import ConfigError
from unimeec.models.modeling import LOSS_WEIGHTS_PARAMETER
from unimeec.training.config import OptimConfig


def backbone_module(model: nn.Module) -> nn.Module | None:
    """The pre-trained encoder inside ``model`` (attribute ``backbone``, else HF's base model)."""
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, nn.Module):
        return backbone
    prefix = getattr(model, "base_model_prefix", "")
    candidate = getattr(model, prefix, None) if prefix else None
    return candidate if isinstance(candidate, nn.Module) and candidate is not model else None


def _no_decay(name: str, param: nn.Parameter) -> bool:
    return param.ndim < 2 or "norm" in name.lower()


#: ``encoder.layer.3.`` (BERT, MPNet), ``layers.3.``, ``h.3.`` (GPT-2), ``block.3.`` (T5)
_LAYER_INDEX = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")


def layer_depths(backbone: nn.Module) -> dict[str, int]:
    """Depth of every backbone parameter: 0 = embeddings, k = layer k (1-based), L = above.

    Parameters of neither kind (a pooler, a final norm, a relative-position table shared
    by all layers) count as the top layer L. An encoder without numbered layers raises
    :class:`~unimeec.errors.ConfigError`: layer-wise decay would mean nothing there.
    """
    found = {name: _LAYER_INDEX.search(name) for name, _ in backbone.named_parameters()}
    indices = [int(m.group(1)) for m in found.values() if m is not None]
    if not indices:
        raise ConfigError(
            "optim.layer_decay: the backbone has no numbered layers in its parameter names "
            "(e.g. 'encoder.layer.0.'), so it cannot decay the rate by layer; set it to 1"
        )
    n_layers = max(indices) + 1
    return {
        name: int(m.group(1)) + 1 if m is not None else 0 if "embed" in name else n_layers
        for name, m in found.items()
    }


def parameter_groups(model: nn.Module, optim: OptimConfig) -> list[dict[str, Any]]:
    """(backbone | new layers) x (decay | no decay), plus the learned loss weights' own group.

    The loss log-variances get ``lr_loss_weights`` and no decay: at ``lr_head`` Adam would
    move them by about 0.1 in a 251-step epoch, too little for the weights to adapt.
    With ``layer_decay`` < 1 the backbone groups split by depth ``d`` (``backbone_l<d>``),
    each at ``lr_backbone * layer_decay ** (L - d)``: the top layer keeps ``lr_backbone``.
    Empty groups are dropped.
    """
    backbone = backbone_module(model)
    backbone_names: dict[int, str] = {}
    depths: dict[str, int] = {}
    if backbone is not None:
        backbone_names = {id(p): name for name, p in backbone.named_parameters()}
        if optim.layer_decay < 1:
            depths = layer_depths(backbone)
    top = max(depths.values(), default=0)
    groups: dict[tuple[bool, int, bool], list[nn.Parameter]] = {}
    loss_weights: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.rsplit(".", 1)[-1] == LOSS_WEIGHTS_PARAMETER:
            loss_weights.append(param)
            continue
        inner = backbone_names.get(id(param))
        depth = depths.get(inner, top) if inner is not None else top
        key = (inner is not None, depth, _no_decay(name, param))
        groups.setdefault(key, []).append(param)
    out = []
    for (is_backbone, depth, no_decay), params in sorted(groups.items()):
        name = "backbone" if is_backbone else "head"
        if is_backbone and depths:
            name += f"_l{depth}"
        out.append(
            {
                "params": params,
                "lr": optim.lr_backbone * optim.layer_decay ** (top - depth)
                if is_backbone
                else optim.lr_head,
                "weight_decay": 0.0 if no_decay else optim.weight_decay,
                "name": name + ("_no_decay" if no_decay else ""),
            }
        )
    if loss_weights:
        out.append(
            {
                "params": loss_weights,
                "lr": optim.lr_loss_weights,
                "weight_decay": 0.0,
                "name": "loss_weights",
            }
        )
    return out


def build_optimizer(model: nn.Module, optim: OptimConfig) -> torch.optim.AdamW:
    return torch.optim.AdamW(parameter_groups(model, optim), betas=optim.betas, eps=optim.eps)


def warmup_schedule(warmup: int, total: int, schedule: str) -> Callable[[int], float]:
    """Rate factor at a step: linear warm-up over ``warmup`` steps, then linear decay to 0
    at ``total`` (``linear``) or 1 (``constant``)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Warmup over ``warmup_ratio`` of the optimiser steps, then linear decay to 0 (or constant).

    With ``backbone_frozen_ratio`` the backbone groups stay at 0 for that fraction of the
    steps and run the same schedule over the steps left; the other groups are unchanged.
    """
    total_steps = max(1, int(total_steps))
    base = warmup_schedule(round(optim.warmup_ratio * total_steps), total_steps, optim.schedule)
    frozen = round(optim.backbone_frozen_ratio * total_steps)
    left = total_steps - frozen
    late = warmup_schedule(round(optim.warmup_ratio * left), left, optim.schedule)

    def backbone(step: int) -> float:
        return 0.0 if step < frozen else late(step - frozen)

    factors = [
        backbone if frozen and group.get("name", "").startswith("backbone") else base
        for group in optimizer.param_groups
    ]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)
