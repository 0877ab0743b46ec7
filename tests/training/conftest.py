"""A tiny random BERT backbone (saved to a tmp dir) and a few real ECF conversations."""

from __future__ import annotations

from pathlib import Path

import pytest

from unimeec.data import Conversation, load_dataset


@pytest.fixture(scope="session")
def ecf_splits(shared_data: Path) -> dict[str, list[Conversation]]:
    """The first 20 train / 10 dev / 10 test conversations of ECF 1.0."""
    limits = {"train": 20, "dev": 10, "test": 10}
    return {split: load_dataset("ecf1", split, shared_data)[:n] for split, n in limits.items()}
