"""Multimodal causal prompt pieces (METHOD.md section 3): soft tokens and modality fusion."""

from __future__ import annotations

import torch
from torch import nn


class ModalitySoftPrompt(nn.Module):
    """``k`` soft tokens of one non-text modality for every utterance.

    token_r(u) = prompt_r + LayerNorm(Linear(standardise(f_u))) when the utterance has the
    modality, else prompt_r + missing: a learned vector, so that "missing" is never confused
    with an all-zero feature. The standardisation statistics are buffers (saved in the
    checkpoint; set from the training split with ``set_statistics``).
    """

    def __init__(self, feature_dim: int, hidden_size: int, n_tokens: int) -> None:
        super().__init__()
        self.prompt = nn.Parameter(torch.zeros(n_tokens, hidden_size))
        self.missing = nn.Parameter(torch.zeros(hidden_size))
        self.projection = nn.Linear(feature_dim, hidden_size)
        self.norm = nn.LayerNorm(hidden_size)
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.feature_mean.copy_(mean.to(self.feature_mean))
        self.feature_std.copy_(std.to(self.feature_std).clamp_min(1e-6))

    def forward(self, features: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """features [U, d], present [U] -> [U, k, hidden]."""
        scaled = (features.to(self.feature_mean) - self.feature_mean) / self.feature_std
        content = self.norm(self.projection(scaled.to(self.projection.weight.dtype)))
        content = torch.where(present[:, None], content, self.missing.to(content.dtype))
        return self.prompt[None] + content[:, None]


class ModalityFusion(nn.Module):
    """Fuse the per-modality states of one role (x, e or c): concatenate and project.

    A modality absent for an utterance contributes a learned "missing" vector instead of
    its pass's state. With one modality (text only) the fusion is the identity.
    """

    def __init__(self, n_modalities: int, hidden_size: int) -> None:
        super().__init__()
        self.n_modalities = n_modalities
        if n_modalities > 1:
            self.missing = nn.Parameter(torch.zeros(n_modalities, hidden_size))
            self.projection = nn.Linear(n_modalities * hidden_size, hidden_size)

    def forward(self, states: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """states [M, U, H], present [M, U] -> [U, H]."""
        if self.n_modalities == 1:
            return states[0]
        filled = torch.where(present[..., None], states, self.missing[:, None].to(states.dtype))
        return self.projection(filled.permute(1, 0, 2).reshape(states.shape[1], -1))
