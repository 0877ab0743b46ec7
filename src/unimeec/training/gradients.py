"""Gradient projection between the emotion and cause losses (PCGrad, Yu et al., NeurIPS 2020).

Why: on the shared encoder the two task gradients conflict in most early batches (see
docs/quality.md, "Why the cause loss does not help emotions"); summed, the conflicting part
of each cancels the other. PCGrad removes from each task gradient its component along the
other's whenever their dot product is negative, and only on the parameters both tasks use.
Parameters only one task reaches (its head) keep their plain gradient.

Training only: inference never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

#: Below this squared norm a task gradient is treated as zero (no projection onto it).
_EPS = 1e-20


def project_conflicting(g1: torch.Tensor, g2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(g1 + g2 after projection, cosine(g1, g2))`` for two flat task gradients.

    If ``g1 . g2 < 0``: ``g1' = g1 - (g1.g2 / |g2|^2) g2`` and ``g2' = g2 - (g1.g2 / |g1|^2) g1``,
    both from the original vectors (for two tasks the order does not matter); otherwise the
    plain sum. Written with ``torch.where`` so that no value leaves the device.
    """
    dot = torch.dot(g1, g2)
    n1, n2 = g1.pow(2).sum(), g2.pow(2).sum()
    conflict = dot < 0
    c1 = torch.where(conflict & (n2 > _EPS), dot / n2.clamp_min(_EPS), torch.zeros_like(dot))
    c2 = torch.where(conflict & (n1 > _EPS), dot / n1.clamp_min(_EPS), torch.zeros_like(dot))
    combined = (1 - c2) * g1 + (1 - c1) * g2
    cosine = dot / (n1.sqrt() * n2.sqrt()).clamp_min(_EPS**0.5)
    return combined, cosine


def pcgrad_backward(
    terms: Sequence[torch.Tensor], parameters: Sequence[nn.Parameter]
) -> torch.Tensor | None:
    """Accumulate into ``.grad`` the PCGrad combination of the gradients of two loss terms.

    Two backward passes (the first keeps the graph). A parameter that gets a non-zero
    gradient from both terms is *shared* and takes part in the projection (all shared
    parameters as one vector, so the dot product and norms are those of the shared weights);
    one reached by a single term gets that term's gradient. Like ``loss.backward()``, the result
    is added to any gradient already there (gradient accumulation). Returns the cosine of the
    two shared gradients (None when no parameter is shared).
    """
    if len(terms) != 2:
        raise ValueError(f"PCGrad here combines two loss terms, got {len(terms)}")
    params = [p for p in parameters if p.requires_grad]
    first = torch.autograd.grad(terms[0], params, retain_graph=True, allow_unused=True)
    second = torch.autograd.grad(terms[1], params, allow_unused=True)
    # "reached" = a non-zero gradient: when both terms come from one stacked tensor, autograd
    # returns zeros (not None) for the other task's head; one host sync for all parameters
    zero = params[0].new_zeros((), dtype=torch.float32) if params else None
    sizes = [g.detach().abs().sum().float() if g is not None else zero for g in (*first, *second)]
    reached = (torch.stack(sizes) > 0).view(2, len(params)).tolist() if params else [[], []]
    shared = [i for i in range(len(params)) if reached[0][i] and reached[1][i]]
    updates: dict[int, torch.Tensor] = {}
    for i, (a, b) in enumerate(zip(first, second)):
        if reached[0][i] != reached[1][i]:  # one term only: its plain gradient
            updates[i] = a if reached[0][i] else b
    cosine = None
    if shared:
        flat1 = torch.cat([first[i].reshape(-1).float() for i in shared])
        flat2 = torch.cat([second[i].reshape(-1).float() for i in shared])
        combined, cosine = project_conflicting(flat1, flat2)
        for i, piece in zip(shared, combined.split([first[i].numel() for i in shared])):
            updates[i] = piece.view_as(first[i]).to(first[i].dtype)
    for i, grad in updates.items():
        param = params[i]
        param.grad = grad.detach().clone() if param.grad is None else param.grad + grad
    return cosine
