"""UniMEECProcessor: batch layout, features, errors and save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.models.conftest import ArrayLookup, make_conversation, random_lookup
from unimeec.data.schema import Conversation, Utterance
from unimeec.errors import CheckpointError, ConfigError, FeatureError
from unimeec.models import UniMEECConfig, UniMEECProcessor


@pytest.fixture(scope="module")
def audio_processor(minilm_path):
    config = UniMEECConfig(
        backbone=minilm_path,
        modalities=["text", "audio"],
        feature_dims={"audio": 4},
        scope="utterance",
        cause_past=1,
        cause_future=0,
    )
    return UniMEECProcessor.from_config(config)


def test_graph_layout_speakers_and_candidates(audio_processor):
    a = Conversation("a", [Utterance(1, "Ross", "hi"), Utterance(2, "Rachel", "hey")])
    b = Conversation(
        "b", [Utterance(1, "Joey", "yo"), Utterance(2, "Joey", "food"), Utterance(3, "Ross", "no")]
    )
    batch = audio_processor([a, b])
    assert batch["speaker_ids"].tolist() == [0, 1, 0, 0, 1]
    assert batch["utterance_conversation"].tolist() == [0, 0, 1, 1, 1]
    assert batch["utterance_index"].tolist() == [1, 2, 1, 2, 3]
    assert batch["conversation_utterances"].tolist() == [[0, 1, -1], [2, 3, 4]]
    assert batch["candidate_pairs"].tolist() == [
        [0, 1, 1],
        [0, 2, 1],
        [0, 2, 2],
        [1, 1, 1],
        [1, 2, 1],
        [1, 2, 2],
        [1, 3, 2],
        [1, 3, 3],
    ]
    assert batch["candidate_utterances"].tolist() == [
        [0, 0],
        [1, 0],
        [1, 1],
        [2, 2],
        [3, 2],
        [3, 3],
        [4, 3],
        [4, 4],
    ]
    # unlabelled conversations: no emotion labels; has_cause_labels defaults to True
    assert "emotion_labels" not in batch
    assert batch["cause_labels"].sum().item() == 0
    assert batch["conversations"] == [a, b]
    # no audio given: only the text pass was built (one sequence per utterance)
    assert batch["input_ids"].shape[0] == 5
    assert batch["modality_mask"].tolist() == [[True] * 5, [False] * 5]


def test_audio_pass_soft_tokens_and_features(audio_processor):
    conv = make_conversation("f", 3)
    lookup = random_lookup([conv], 4, seed=3, missing={("f", 2)})
    batch = audio_processor([conv], {"audio": lookup})
    assert batch["input_ids"].shape[0] == 3 + 2  # text pass 3 rows, audio pass for 1 and 3
    soft_id = audio_processor.tokenizer.convert_tokens_to_ids("[SOFT]")
    rows, cols = batch["soft_positions"].unbind(-1)
    assert (batch["input_ids"][rows, cols] == soft_id).all()
    assert batch["soft_owner"].tolist() == [3 + 0, 3 + 2]  # m * U + u for m = audio
    assert batch["soft_rank"].tolist() == [0, 0]
    np.testing.assert_array_equal(batch["features_audio"][0].numpy(), lookup.get("f", 1))
    assert batch["features_audio"][1].tolist() == [0.0] * 4
    x = batch["x_positions"][1]
    assert x[[0, 2], 2].sub(x[[0, 2], 1]).tolist() == [1, 1]  # one soft token per slot


def test_feature_errors_name_the_utterance(audio_processor):
    conv = make_conversation("e", 2)
    with pytest.raises(FeatureError, match="dimension 3, the model expects 4"):
        audio_processor([conv], {"audio": ArrayLookup(3, {})})
    bad = ArrayLookup(4, {("e", 2): np.array([1.0, np.nan, 0.0, 0.0])})
    with pytest.raises(FeatureError, match="conversation e, utterance 2: audio feature"):
        audio_processor([conv], {"audio": bad})
    with pytest.raises(FeatureError, match="modality 'visual'"):
        audio_processor([conv], {"visual": ArrayLookup(4, {})})
    with pytest.raises(ValueError, match="zero conversations"):
        audio_processor([])


def test_save_and_load_round_trip(audio_processor, tmp_path):
    audio_processor.save_pretrained(tmp_path)
    assert not (tmp_path / "config.json").exists()  # never overwrites the model's config
    record = json.loads((tmp_path / "processor_config.json").read_text())
    assert record["feature_dims"] == {"audio": 4} and record["scope"] == "utterance"
    loaded = UniMEECProcessor.from_pretrained(tmp_path)
    assert len(loaded.tokenizer) == len(audio_processor.tokenizer)
    convs = [make_conversation("r", 4)]
    first, second = audio_processor(convs), loaded(convs)
    for key in ("input_ids", "x_positions", "mask_e_positions", "candidate_pairs"):
        assert torch.equal(first[key], second[key])
    with pytest.raises(CheckpointError, match="no processor_config.json or config.json"):
        UniMEECProcessor.from_pretrained(tmp_path / "missing")


def test_sequence_length_orders_conversations_by_cost(audio_processor):
    short, long = make_conversation("s", 2), make_conversation("l", 6, words=5)
    assert audio_processor.sequence_length(short) < audio_processor.sequence_length(long)


def test_unknown_labels_are_ignored_by_the_loss_or_refused_on_request(audio_processor):
    conv = Conversation("u", [Utterance(1, "A", "hi", "bored"), Utterance(2, "B", "yo", "joy")])
    assert audio_processor([conv])["emotion_labels"].tolist() == [-100, 4]
    with pytest.raises(ConfigError, match="conversation u, utterance 1: emotion 'bored'"):
        audio_processor.check_labels([conv])
