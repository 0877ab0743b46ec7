"""Task-specific hierarchical context (THC, METHOD.md section 4) as dense masked attention.

Conversations are short (ECF: at most 33 utterances), so each level is plain multi-head
attention over a padded ``[C, N, H]`` batch with a boolean edge mask; no graph library.
Windows are in utterance distance. Attention is relation-aware: every edge carries a type,
same speaker / other speaker, with its own learned score term per head (see
``RelationalAttentionLayer``). Keys of different node kinds (``x``, ``c``, ``e``) also get a learned
node-type vector, so one level can tell ``x'_j`` from ``c_j``.

Levels (``L`` layers each, every layer = attention + residual + LayerNorm, as METHOD.md
says; ``thc_feed_forward`` adds a Transformer feed-forward block + residual + LayerNorm):

1. utterance: ``x_i`` <- ``x_j``, ``|i - j| <= w_x``;
2. cause: ``c_i`` <- ``x'_j`` for ``j`` in ``[i - w_c_past, i + w_c_future]`` and ``c_j`` for
   ``|i - j| <= w_c``;
3. emotion: ``e_i`` <- ``x'_j`` and ``e_j`` for ``|i - j| <= w_e``, and its own ``c'_i``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

N_RELATIONS = 2  # same speaker, other speaker
#: Keys are padded to a multiple of this: the memory-efficient SDPA kernels (used on GPUs,
#: also inside ``torch.compile``d code, which does not pad for them) need the attention
#: bias's row strides to be multiples of 4 elements; 8 also suits bf16 tensor cores.
KEY_ALIGNMENT = 8
X_NODE, C_NODE, E_NODE = 0, 1, 2


class RelationalAttentionLayer(nn.Module):
    """One layer of relation-aware masked multi-head attention (+ optional feed-forward).

    Score of edge ``i -> j`` in head ``h``: ``q_i . k_j / sqrt(d) + s_h,type(ij)(i)``, where
    ``s_h,r(i)`` is a learned linear function of node ``i`` (Shaw et al.'s key-side relation
    term ``q_i . r_type``, with the query projection folded in, computed in the same GEMM as
    ``q``). Relation term and edge mask become one additive bias of
    ``F.scaled_dot_product_attention`` (a fused kernel on GPUs). Few kernels per layer
    matter: THC runs on a few hundred nodes per batch, so its cost is launch overhead, not
    arithmetic.
    """

    def __init__(
        self, hidden_size: int, heads: int, dropout: float, feed_forward: bool = False
    ) -> None:
        super().__init__()
        if hidden_size % heads:
            raise ValueError(f"hidden size {hidden_size} is not divisible by {heads} heads")
        self.heads = heads
        self.head_dim = hidden_size // heads
        self.attention_dropout = dropout
        self.query = nn.Linear(hidden_size, hidden_size + N_RELATIONS * heads)
        self.key_value = nn.Linear(hidden_size, 2 * hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)
        self.attention_norm = nn.LayerNorm(hidden_size)
        self.feed_forward = (
            nn.Sequential(
                nn.Linear(hidden_size, 2 * hidden_size),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(2 * hidden_size, hidden_size),
            )
            if feed_forward
            else None
        )
        self.output_norm = nn.LayerNorm(hidden_size) if feed_forward else None
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
        other_speaker: torch.Tensor,
    ) -> torch.Tensor:
        """query [C, N, H], keys [C, K, H], mask [C, N, K] bool, other_speaker [C, N, K] bool."""
        c, n, hidden = query.shape
        # masked extra keys: the bias rows then meet the fused kernels' alignment
        pad = -keys.shape[1] % KEY_ALIGNMENT
        if torch.compiler.is_compiling():
            # 1 to 8 keys, never 0: a size that may be 0 makes the compiled code guard on it
            # and recompile when it flips
            pad = KEY_ALIGNMENT - keys.shape[1] % KEY_ALIGNMENT
        if pad:
            keys = F.pad(keys, (0, 0, 0, pad))
            mask = F.pad(mask, (0, pad))
            other_speaker = F.pad(other_speaker, (0, pad))
        k = keys.shape[1]
        h, d = self.heads, self.head_dim
        # split / unbind (not slicing): their backward is one cat / stack, not zeros + copies
        q, rel = self.query(query).split([hidden, N_RELATIONS * h], dim=-1)
        q = q.view(c, n, h, d).transpose(1, 2)  # [C, h, N, d]
        same, other = rel.view(c, n, h, N_RELATIONS).transpose(1, 2).unbind(-1)  # [C, h, N]
        key, value = self.key_value(keys).view(c, k, 2, h, d).permute(2, 0, 3, 1, 4).unbind(0)
        bias = torch.where(other_speaker[:, None], other[..., None], same[..., None])
        bias = bias.masked_fill(~mask[:, None], torch.finfo(bias.dtype).min / 2)
        out = F.scaled_dot_product_attention(
            q,
            key,
            value,
            attn_mask=bias.to(q.dtype),
            dropout_p=self.attention_dropout if self.training else 0.0,
        )
        out = out.transpose(1, 2).reshape(c, n, hidden)
        x = self.attention_norm(query + self.dropout(self.output(out)))
        if self.feed_forward is None:
            return x
        return self.output_norm(x + self.dropout(self.feed_forward(x)))


class HierarchicalContext(nn.Module):
    """The three THC levels; windows in utterance distance."""

    def __init__(
        self,
        hidden_size: int,
        heads: int,
        layers: int,
        dropout: float,
        *,
        utterance_window: int,
        cause_past: int,
        cause_future: int,
        cause_window: int,
        emotion_window: int,
        feed_forward: bool = False,
    ) -> None:
        super().__init__()
        self.windows = (utterance_window, cause_past, cause_future, cause_window, emotion_window)
        self.node_type = nn.Embedding(3, hidden_size)
        self.utterance_level = nn.ModuleList(
            RelationalAttentionLayer(hidden_size, heads, dropout, feed_forward)
            for _ in range(layers)
        )
        self.cause_level = nn.ModuleList(
            RelationalAttentionLayer(hidden_size, heads, dropout, feed_forward)
            for _ in range(layers)
        )
        self.emotion_level = nn.ModuleList(
            RelationalAttentionLayer(hidden_size, heads, dropout, feed_forward)
            for _ in range(layers)
        )

    def forward(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        e: torch.Tensor,
        valid: torch.Tensor,
        speakers: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x, c, e [C, N, H]; valid [C, N] bool; speakers [C, N] -> (x', c', e')."""
        w_x, w_cp, w_cf, w_c, w_e = self.windows
        n = x.shape[1]
        pos = torch.arange(n, device=x.device)
        offset = pos[None, :] - pos[:, None]  # [N, N]: j - i
        key_ok = valid[:, None, :]  # [C, 1, N]
        eye = torch.eye(n, dtype=torch.bool, device=x.device)[None]
        relation = speakers[:, :, None] != speakers[:, None, :]  # True: other speaker
        t_x, t_c, t_e = self.node_type.weight

        def window(low: int, high: int) -> torch.Tensor:
            return ((offset >= -low) & (offset <= high))[None] & key_ok

        # 1. utterance level (self edge always present, so no row is empty)
        mask_x = window(w_x, w_x) | eye
        for layer in self.utterance_level:
            x = layer(x, x + t_x, mask_x, relation)
        # 2. cause level: keys = [x'; c]
        mask_c = torch.cat([window(w_cp, w_cf), window(w_c, w_c) | eye], dim=2)
        rel2 = torch.cat([relation, relation], dim=2)
        keys_x = x + t_x
        for layer in self.cause_level:
            c = layer(c, torch.cat([keys_x, c + t_c], dim=1), mask_c, rel2)
        # 3. emotion level: keys = [x'; e; c'] with c' only from the utterance itself
        mask_e = torch.cat([window(w_e, w_e), window(w_e, w_e) | eye, eye.expand_as(mask_x)], dim=2)
        rel3 = torch.cat([relation, relation, relation], dim=2)
        keys_c = c + t_c
        for layer in self.emotion_level:
            e = layer(e, torch.cat([keys_x, e + t_e, keys_c], dim=1), mask_e, rel3)
        return x, c, e
