"""Sub-word <-> whitespace-token alignment and span decoding for the span head.

SemEval-2024 subtask 1 scores a cause span as a range ``[start, end)`` of ``text.split()``
tokens of the cause utterance (:mod:`unimeec.evaluation.spans`). The backbone reads sub-word
tokens, so the processor keeps, for every sub-word of an utterance, the index of the
whitespace token that holds it (:func:`whitespace_token_index`, from the fast tokenizer's
character offsets: a tokenizer's own "words" split ``don't`` into three, whitespace does not).
A decoded sub-word span ``[a, b]`` (inclusive) becomes the whitespace range
``[word[a], word[b] + 1)``: whole tokens, inside one utterance, never empty.

The two baselines of the benchmarks are here too, so that they are decoded by the same code
as the model: the whole cause utterance (:func:`utterance_range`) and the whole utterance
without its leading and trailing punctuation tokens (:func:`trimmed_range`).
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import torch

#: How :meth:`UniMEECModel.decode` gives each predicted pair its span: ``"model"`` (the span
#: head), ``"utterance"`` (no span: the whole cause utterance, as an utterance-level system is
#: scored) or ``"trimmed"`` (the whole utterance less leading/trailing punctuation tokens).
SPAN_DECODINGS: tuple[str, ...] = ("model", "utterance", "trimmed")


def whitespace_token_index(text: str, offsets: Sequence[Sequence[int]]) -> list[int]:
    """For each sub-word (character ``offsets`` into ``text``), its ``text.split()`` token.

    A sub-word belongs to the token of its first non-space character; one made of whitespace
    only (or with an empty offset) gets ``-1`` and can never start or end a span.
    """
    owner = [-1] * len(text)
    token = -1
    inside = False
    for pos, char in enumerate(text):
        if char.isspace():  # the same whitespace as str.split()
            inside = False
            continue
        if not inside:
            token += 1
            inside = True
        owner[pos] = token
    out = []
    for start, end in offsets:
        word = -1
        for pos in range(max(start, 0), min(end, len(text))):
            if owner[pos] >= 0:
                word = owner[pos]
                break
        out.append(word)
    return out


def subword_bounds(words: Sequence[int], start: int, end: int) -> tuple[int, int] | None:
    """First and last sub-word (inclusive) of whitespace range ``[start, end)``; None if absent."""
    inside = [k for k, w in enumerate(words) if start <= w < end]
    return (inside[0], inside[-1]) if inside else None


def best_spans(
    start_logits: torch.Tensor, end_logits: torch.Tensor, max_tokens: int | None = None
) -> torch.Tensor:
    """[R, 2] sub-word ``(a, b)``, ``a <= b < a + max_tokens``, maximising ``start[a] + end[b]``.

    Masked positions must hold a very negative logit (the head fills them with the dtype's
    minimum); a row with no valid position gives ``(0, 0)``, which callers check.
    """
    start = start_logits.float()
    end = end_logits.float()
    width = start.shape[-1]
    scores = start[:, :, None] + end[:, None, :]  # [R, a, b]
    a = torch.arange(width, device=start.device)
    band = a[None, :] >= a[:, None]
    if max_tokens is not None:
        band &= a[None, :] < a[:, None] + max_tokens
    scores = scores.masked_fill(~band, float("-inf"))
    flat = scores.reshape(scores.shape[0], -1).argmax(-1)
    return torch.stack([flat // width, flat % width], dim=-1)


def utterance_range(text: str) -> tuple[int, int]:
    """The whole utterance as a token range."""
    return 0, len(text.split())


def _is_punctuation(token: str) -> bool:
    return not token.strip(string.punctuation)


def trimmed_range(text: str) -> tuple[int, int]:
    """The whole utterance less its leading and trailing all-punctuation tokens.

    An utterance made of punctuation only keeps all its tokens (a span is never empty).
    """
    tokens = text.split()
    start, end = 0, len(tokens)
    while start < end and _is_punctuation(tokens[start]):
        start += 1
    while end > start and _is_punctuation(tokens[end - 1]):
        end -= 1
    return (start, end) if start < end else (0, len(tokens))
