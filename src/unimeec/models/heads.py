"""Emotion head (verbalizer), pairwise cause head (METHOD.md section 5) and span head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class EmotionHead(nn.Module):
    """``logits_i = W e'_i + b``; rows of ``W`` start as the label words' input embeddings.

    When the backbone's input-embedding size differs from its hidden size (e.g. ALBERT), a
    projection hidden -> embedding comes first, so ``W`` can still hold embeddings.
    The label-word initialisation itself lives in ``UniMEECModel._init_weights``.
    """

    def __init__(self, hidden_size: int, embedding_size: int, n_labels: int) -> None:
        super().__init__()
        self.projection = (
            nn.Linear(hidden_size, embedding_size) if embedding_size != hidden_size else None
        )
        self.classifier = nn.Linear(embedding_size, n_labels)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        if self.projection is not None:
            states = self.projection(states)
        return self.classifier(states)


class MaskedLMEmotionHead(nn.Module):
    """Emotion logits read from the backbone's own masked-LM head over the label words.

    A multi-token label word scores as the mean of its sub-tokens' logits.
    """

    def __init__(self, lm_head: nn.Module, label_word_ids: list[list[int]]) -> None:
        super().__init__()
        self.lm_head = [lm_head]  # a plain list: the module belongs to the backbone
        width = max(len(ids) for ids in label_word_ids)
        index = torch.zeros(len(label_word_ids), width, dtype=torch.long)
        weight = torch.zeros(len(label_word_ids), width)
        for k, ids in enumerate(label_word_ids):
            index[k, : len(ids)] = torch.tensor(ids)
            weight[k, : len(ids)] = 1.0 / len(ids)
        self.register_buffer("token_index", index, persistent=False)
        self.register_buffer("token_weight", weight, persistent=False)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        vocab_logits = self.lm_head[0](states)  # [U, V]
        picked = vocab_logits[:, self.token_index]  # [U, n_labels, width]
        return (picked * self.token_weight.to(picked.dtype)).sum(-1)


class CauseHead(nn.Module):
    """``s_ij = MLP([c'_i; x'_j; c'_i * x'_j; r(clip(i - j))])``, one logit per candidate.

    With ``reads_emotion`` the features also hold the emotion head's input of ``i`` and its
    product with ``x'_j``: ``[...; h^e_i; h^e_i * x'_j]``, so which utterance caused an
    emotion can depend on which emotion it is.
    """

    def __init__(
        self,
        hidden_size: int,
        inner_size: int,
        distance_clip: int,
        distance_size: int,
        dropout: float,
        reads_emotion: bool = False,
    ) -> None:
        super().__init__()
        self.distance_clip = distance_clip
        self.reads_emotion = reads_emotion
        self.distance = nn.Embedding(2 * distance_clip + 1, distance_size)
        width = (5 if reads_emotion else 3) * hidden_size + distance_size
        self.mlp = nn.Sequential(
            nn.Linear(width, inner_size),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(inner_size, 1),
        )

    def forward(
        self,
        cause_states: torch.Tensor,
        utterance_states: torch.Tensor,
        offsets: torch.Tensor,
        emotion_states: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """cause_states = c'_i, utterance_states = x'_j [P, H]; offsets = i - j [P];
        emotion_states = h^e_i [P, H] (``reads_emotion`` only) -> [P]."""
        if (emotion_states is not None) != self.reads_emotion:
            raise ValueError("emotion_states must be given exactly when reads_emotion is set")
        clipped = offsets.clamp(-self.distance_clip, self.distance_clip) + self.distance_clip
        parts = [cause_states, utterance_states, cause_states * utterance_states]
        if emotion_states is not None:
            parts += [emotion_states, emotion_states * utterance_states]
        parts.append(self.distance(clipped).to(cause_states.dtype))
        features = torch.cat(parts, dim=-1)
        return self.mlp(features).squeeze(-1)


class SpanHead(nn.Module):
    """Start/end logits over the cause utterance's tokens, conditioned on the emotion utterance.

    For a pair (i, j) and a token state ``h_t`` of ``u_j``, with ``q_i = [c'_i; e'_i]``::

        z_t = GELU(A h_t + B q_i + (C h_t) * (D q_i)),   [start_t, end_t] = W z_t + b

    the first layer of an MLP on ``[h_t; q_i; h_t * q_i]`` with the product term taken through
    low-rank projections. Why factored: the token projections run once per utterance and the
    condition ones once per pair, so scoring every candidate pair of a batch at evaluation
    costs ``pairs x tokens x inner`` element-wise work, not a GEMM per pair.
    """

    def __init__(self, hidden_size: int, inner_size: int, dropout: float) -> None:
        super().__init__()
        self.token = nn.Linear(hidden_size, 2 * inner_size)  # A and C
        self.condition = nn.Linear(2 * hidden_size, 2 * inner_size)  # B and D
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(inner_size, 2)

    def forward(
        self,
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        conditions: torch.Tensor,
        rows: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [U, T, H] with token_mask [U, T]; conditions [R, 2H]; rows [R] = the
        utterance of each pair's cause -> start and end logits [R, T] (masked: dtype min)."""
        a, c = self.token(tokens).chunk(2, dim=-1)  # [U, T, d] each
        b, d = self.condition(conditions).chunk(2, dim=-1)  # [R, d] each
        a, c = a.index_select(0, rows), c.index_select(0, rows)
        z = F.gelu(a + b[:, None] + c * d[:, None])
        logits = self.out(self.dropout(z)).float()  # [R, T, 2]
        mask = token_mask.index_select(0, rows)[..., None]
        logits = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
        return logits[..., 0], logits[..., 1]
