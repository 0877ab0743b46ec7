"""Token-level layers of the cause side (``cause_layers``), on top of the shared encoder.

Why: trained on causes alone, the same model finds about one point more cause pairs for the
gold emotions than the joint model (docs/quality.md, round 10): the shared encoder is shaped
mostly by the emotion loss. A few layers on the cause side give the cause task token states
of its own (``[MASK_c]`` and the cause head's utterance states are read from them; THC's
emotion level still reads ``c'_i``, so emotions keep reading their causes), while the encoder
stays shared and the model stays one jointly trained model. Each layer is a pre-LayerNorm Transformer block (self-attention over the
backbone's sequence with its padding mask, then a feed-forward block) whose two output
projections start at zero, so at the start of training the branch is the identity and the
cause side reads exactly the shared states; it departs from them only as far as the cause
loss asks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CauseBranchLayer(nn.Module):
    """``h <- h + Attn(LN(h)); h <- h + FFN(LN(h))`` with zero-initialised output projections."""

    def __init__(self, hidden_size: int, heads: int, dropout: float) -> None:
        super().__init__()
        if hidden_size % heads:
            raise ValueError(f"hidden size {hidden_size} is not divisible by {heads} heads")
        self.heads = heads
        self.attention_dropout = dropout
        self.attention_norm = nn.LayerNorm(hidden_size)
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.attention_output = nn.Linear(hidden_size, hidden_size)
        self.feed_forward_norm = nn.LayerNorm(hidden_size)
        self.feed_forward_inner = nn.Linear(hidden_size, 4 * hidden_size)
        self.feed_forward_output = nn.Linear(4 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        # read by UniMEECModel._init_weights: these start at zero (the identity branch)
        self.attention_output.zero_init = True
        self.feed_forward_output.zero_init = True

    def forward(self, hidden: torch.Tensor, key_padding: torch.Tensor) -> torch.Tensor:
        """hidden [B, T, H]; key_padding [B, 1, 1, T] bool (True = a real token) -> [B, T, H]."""
        b, t, size = hidden.shape
        q, k, v = (
            self.qkv(self.attention_norm(hidden))
            .view(b, t, 3, self.heads, size // self.heads)
            .permute(2, 0, 3, 1, 4)
            .unbind(0)
        )
        attended = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=key_padding,
            dropout_p=self.attention_dropout if self.training else 0.0,
        )
        attended = attended.transpose(1, 2).reshape(b, t, size)
        hidden = hidden + self.dropout(self.attention_output(attended))
        inner = F.gelu(self.feed_forward_inner(self.feed_forward_norm(hidden)))
        return hidden + self.dropout(self.feed_forward_output(self.dropout(inner)))


class CauseBranch(nn.Module):
    """``layers`` :class:`CauseBranchLayer` blocks over the backbone's last hidden states."""

    def __init__(self, hidden_size: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            CauseBranchLayer(hidden_size, heads, dropout) for _ in range(layers)
        )

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """hidden [B, T, H], attention_mask [B, T] (1 = token) -> the cause side's [B, T, H]."""
        key_padding = attention_mask.bool()[:, None, None, :]
        for layer in self.layers:
            hidden = layer(hidden, key_padding)
        return hidden
