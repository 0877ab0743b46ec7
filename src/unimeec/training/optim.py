"""AdamW with two learning rates and a warmup + linear-decay schedule.

Why two rates: the backbone is pre-trained and forgets what it knows under the rate the
freshly initialised prompt, context and head layers need. Biases and LayerNorm weights get
no weight decay (standard practice for transformers).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

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


def parameter_groups(model: nn.Module, optim: OptimConfig) -> list[dict[str, Any]]:
    """(backbone | new layers) x (decay | no decay), plus the learned loss weights' own group.

    The loss log-variances get ``lr_loss_weights`` and no decay: at ``lr_head`` Adam would
    move them by about 0.1 in a 251-step epoch, too little for the weights to adapt.
    Empty groups are dropped.
    """
    backbone = backbone_module(model)
    backbone_ids = {id(p) for p in backbone.parameters()} if backbone is not None else set()
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    loss_weights: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.rsplit(".", 1)[-1] == LOSS_WEIGHTS_PARAMETER:
            loss_weights.append(param)
            continue
        key = (id(param) in backbone_ids, _no_decay(name, param))
        groups.setdefault(key, []).append(param)
    out = []
    for (is_backbone, no_decay), params in sorted(groups.items()):
        out.append(
            {
                "params": params,
                "lr": optim.lr_backbone if is_backbone else optim.lr_head,
                "weight_decay": 0.0 if no_decay else optim.weight_decay,
                "name": f"{'backbone' if is_backbone else 'head'}{'_no_decay' if no_decay else ''}",
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


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Warmup over ``warmup_ratio`` of the optimiser steps, then linear decay to 0 (or constant)."""
    total_steps = max(1, int(total_steps))
    warmup = round(optim.warmup_ratio * total_steps)
    if optim.schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup)
    return get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
