"""Prompt scopes: the registry, the sequences of each pass, the length estimate."""

from __future__ import annotations

import re

import numpy as np
import pytest
from transformers import AutoTokenizer

from unimeec.errors import ConfigError
from unimeec.models import CausalPromptBuilder, UniMEECConfig, UniMEECProcessor
from unimeec.models.prompt import prepare_tokenizer
from unimeec.models.scopes import (
    PROMPT_SCOPES,
    ConversationScope,
    UtteranceScope,
    prompt_scope,
)

SPEAKERS = ["Ross", "Joey", "Rachel", "Monica"]
TEXTS = ["Hi there.", "How you doin?", "Stop it.", "Welcome back!"]
#: Pass 0 = text (all utterances), pass 1 = audio for utterances 2 and 4, pass 2 = none.
PRESENT = np.array([[True] * 4, [False, True, False, True], [False] * 4])


@pytest.fixture(scope="module")
def builder(minilm_path):
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    config = UniMEECConfig(backbone=minilm_path)
    prepare_tokenizer(tokenizer, config)
    return CausalPromptBuilder(tokenizer, config)


@pytest.fixture(scope="module")
def ids(builder):
    return [builder.tokenizer(" " + t, add_special_tokens=False)["input_ids"] for t in TEXTS]


def test_registry_names_each_scope_once_in_the_documented_order():
    assert list(PROMPT_SCOPES) == ["conversation", "utterance"]
    assert isinstance(prompt_scope("conversation"), ConversationScope)
    assert isinstance(prompt_scope("utterance"), UtteranceScope)


def test_unknown_scope_is_one_config_error_naming_the_field(minilm_path):
    message = "UniMEECConfig.scope: must be one of ('conversation', 'utterance'), got 'dialogue'"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        prompt_scope("dialogue")
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        UniMEECConfig(backbone=minilm_path, scope="dialogue")


def test_utterance_scope_gives_one_sequence_per_present_utterance(builder, ids):
    passes = UtteranceScope().sequences(builder, SPEAKERS, ids, PRESENT)
    assert [[s.targets[0].utterance for s in p] for p in passes] == [[1, 2, 3, 4], [2, 4], []]
    lines = builder.context_lines(SPEAKERS, ids)
    assert (
        passes[1][0].input_ids
        == builder.utterance_sequence(2, SPEAKERS, ids, lines, soft=True).input_ids
    )
    assert passes[0][0].soft == [] and [r for _, _, r in passes[1][1].soft] == [0]


def test_conversation_scope_gives_the_whole_conversation_to_every_running_pass(builder, ids):
    passes = ConversationScope().sequences(builder, SPEAKERS, ids, PRESENT)
    assert [len(p) for p in passes] == [1, 1, 0]
    # an audio pass targets every utterance; the model masks those without audio
    assert [t.utterance for t in passes[1][0].targets] == [1, 2, 3, 4]
    assert (
        passes[1][0].input_ids
        == builder.conversation_sequences(SPEAKERS, ids, soft=True)[0].input_ids
    )


def test_approximate_lengths_are_the_documented_formulas():
    # 30 tokens in 4 utterances, windows 4 past and 2 future
    assert ConversationScope().approximate_length(30, 4, 4, 2) == 30 + 20 * 4
    assert UtteranceScope().approximate_length(30, 4, 4, 2) == 30 * (4 + 2 + 2)


def test_processor_chooses_its_scope_once_from_the_config(tiny_backbone):
    processor = UniMEECProcessor.from_config(
        UniMEECConfig(backbone=tiny_backbone, scope="utterance")
    )
    assert processor.scope is PROMPT_SCOPES["utterance"]
