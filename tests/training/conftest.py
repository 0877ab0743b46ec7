"""A tiny random BERT backbone (saved to a tmp dir) and a few real ECF conversations."""

from __future__ import annotations

from pathlib import Path

import pytest

from unimeec.data import Conversation, load_dataset


def save_tiny_backbone(directory: Path, minilm_path: str) -> str:
    """A 2-layer, hidden-32 random BERT with the offline MiniLM's tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory, minilm_path: str) -> str:
    return save_tiny_backbone(tmp_path_factory.mktemp("tiny_bert"), minilm_path)


@pytest.fixture(scope="session")
def ecf_splits(shared_data: Path) -> dict[str, list[Conversation]]:
    """The first 20 train / 10 dev / 10 test conversations of ECF 1.0."""
    limits = {"train": 20, "dev": 10, "test": 10}
    return {split: load_dataset("ecf1", split, shared_data)[:n] for split, n in limits.items()}
