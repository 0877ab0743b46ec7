"""Tiny random backbones (saved to tmp dirs) and small conversations for the model tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from unimeec.data.schema import Conversation, EmotionCausePair, Utterance

SPEAKERS = ("Ross", "Rachel", "Joey")
WORDS = ("coffee", "apartment", "dinosaur", "sandwich", "couch", "wedding", "museum", "job")
EMOTIONS = ("neutral", "joy", "anger", "neutral", "sadness", "surprise", "neutral", "fear")


def make_conversation(
    cid: str,
    n: int,
    *,
    pairs: list[tuple[int, int]] | None = None,
    emotions: bool = True,
    has_cause_labels: bool = True,
    words: int = 3,
) -> Conversation:
    """``n`` utterances of ``words`` distinct words each, speakers cycling over three."""
    utts = []
    for i in range(1, n + 1):
        text = " ".join(WORDS[(i * 3 + k) % len(WORDS)] for k in range(words)) + f" number {i} ."
        utts.append(
            Utterance(i, SPEAKERS[i % 3], text, EMOTIONS[i % len(EMOTIONS)] if emotions else None)
        )
    if pairs is None:
        pairs = [(u.index, u.index) for u in utts if u.emotion not in (None, "neutral")]
    return Conversation(
        cid,
        utts,
        [EmotionCausePair(i, j) for i, j in pairs],
        dataset="ecf1",
        has_cause_labels=has_cause_labels,
    )


class ArrayLookup:
    """A FeatureLookup over a dict; keys absent -> missing modality."""

    def __init__(self, dim: int, values: dict[tuple[str, int], np.ndarray]) -> None:
        self.dim = dim
        self.values = values

    def get(self, conversation_id: str, utterance_index: int) -> np.ndarray | None:
        return self.values.get((conversation_id, utterance_index))


def random_lookup(
    conversations: list[Conversation],
    dim: int,
    seed: int,
    missing: set[tuple[str, int]] = frozenset(),
) -> ArrayLookup:
    rng = np.random.default_rng(seed)
    return ArrayLookup(
        dim,
        {
            (c.id, u.index): rng.normal(size=dim).astype(np.float32)
            for c in conversations
            for u in c.utterances
            if (c.id, u.index) not in missing
        },
    )


@pytest.fixture
def build(tiny_backbone: str) -> Callable[..., tuple[Any, Any]]:
    """``build(**config)`` -> (model in eval mode, processor) on the tiny backbone."""
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    def _build(**kwargs: Any) -> tuple[Any, Any]:
        kwargs.setdefault("backbone", tiny_backbone)
        kwargs.setdefault("thc_heads", 2)
        torch.manual_seed(0)
        config = UniMEECConfig(**kwargs)
        model = UniMEECModel(config).eval()
        return model, UniMEECProcessor.from_config(model.config)

    return _build
