"""``data.train_chunk_utterances``: long dialogues keep the optimiser steps of an epoch."""

from __future__ import annotations

import pytest

from unimeec.data import load_dataset
from unimeec.data.chunking import long_dialogues
from unimeec.errors import ConfigError
from unimeec.models import UniMEECConfig, UniMEECProcessor
from unimeec.training.config import DataConfig
from unimeec.training.datamodule import UniMEECDataModule


@pytest.fixture(scope="module")
def stress(shared_data):
    return {"train": long_dialogues(load_dataset("ecf1", "train", shared_data))}


def _steps(stress, tiny_backbone, chunk):
    data = DataConfig(dataset="ecf1", batch_size=4, train_chunk_utterances=chunk)
    module = UniMEECDataModule(data, conversations=stress, roles=("train",))
    module.attach_processor(UniMEECProcessor.from_config(UniMEECConfig(backbone=tiny_backbone)))
    return len(module.train_dataloader())


def test_chunks_restore_the_steps_of_an_epoch(stress, tiny_backbone):
    # 215 dialogues of 40-61 utterances: 54 batches of 4; 699 chunks of <= 24: 175 batches
    assert _steps(stress, tiny_backbone, None) == 54
    assert _steps(stress, tiny_backbone, 24) == 175


def test_chunks_must_hold_the_cause_window(stress, tiny_backbone):
    with pytest.raises(
        ConfigError,
        match=r"data.train_chunk_utterances: max_utterances \(10\) "
        r"must exceed the context past \+ future \(7 \+ 3\)",
    ):
        _steps(stress, tiny_backbone, 10)
