"""CausalPromptBuilder: exact token sequences, truncation order, chunking, special tokens."""

from __future__ import annotations

import logging

import pytest
from transformers import AutoTokenizer

from unimeec.errors import ConfigError
from unimeec.models import CausalPromptBuilder, UniMEECConfig
from unimeec.models.prompt import prepare_tokenizer

SPEAKERS = ["Ross", "Joey", "Rachel", "Monica", "Phoebe"]
TEXTS = ["Hi there.", "How you doin?", "Stop it.", "Welcome back!", "I am so happy for you."]


@pytest.fixture(scope="module")
def tokenizer(minilm_path):
    tok = AutoTokenizer.from_pretrained(minilm_path)
    prepare_tokenizer(tok, UniMEECConfig(backbone=minilm_path))
    return tok


def _builder(tokenizer, minilm_path, max_length=None, **kwargs):
    config = UniMEECConfig(backbone=minilm_path, **kwargs)
    return CausalPromptBuilder(tokenizer, config, max_length)


def _ids(tokenizer, texts):
    return [tokenizer(" " + t, add_special_tokens=False)["input_ids"] for t in texts]


def test_utterance_scope_prompt_is_exactly_the_template(tokenizer, minilm_path):
    builder = _builder(tokenizer, minilm_path)
    ids = _ids(tokenizer, TEXTS[:3])
    seq = builder.utterance_sequence(
        2, SPEAKERS[:3], ids, builder.context_lines(SPEAKERS[:3], ids), soft=False
    )
    expected = tokenizer(
        "Ross: Hi there. Joey: How you doin? Rachel: Stop it.",
        'In this conversation, the emotion of Joey\'s utterance "How you doin?" is [MASK], and '
        "its emotion cause is [MASK].",
    )["input_ids"]
    assert seq.input_ids == expected
    (slots,) = seq.targets
    assert slots.utterance == 2
    assert seq.input_ids[slots.x_start : slots.x_end] == ids[1]
    assert seq.input_ids[slots.mask_e] == seq.input_ids[slots.mask_c] == tokenizer.mask_token_id
    assert slots.x_start < slots.mask_e < slots.mask_c


def test_conversation_scope_gives_every_utterance_its_masks(tokenizer, minilm_path):
    builder = _builder(tokenizer, minilm_path)
    ids = _ids(tokenizer, TEXTS[:2])
    (seq,) = builder.conversation_sequences(SPEAKERS[:2], ids, soft=False)
    expected = tokenizer(
        'Ross: "Hi there." Its emotion is [MASK], and its cause is [MASK]. '
        'Joey: "How you doin?" Its emotion is [MASK], and its cause is [MASK].'
    )["input_ids"]
    assert seq.input_ids == expected
    assert [t.utterance for t in seq.targets] == [1, 2]
    for t, text_ids in zip(seq.targets, ids):
        assert seq.input_ids[t.x_start : t.x_end] == text_ids
        assert seq.input_ids[t.mask_e] == seq.input_ids[t.mask_c] == tokenizer.mask_token_id


def test_soft_slots_in_both_scopes(tokenizer, minilm_path):
    builder = _builder(tokenizer, minilm_path, n_soft_tokens=2)
    soft_id = tokenizer.convert_tokens_to_ids("[SOFT]")
    ids = _ids(tokenizer, TEXTS[:3])
    seq = builder.utterance_sequence(
        3, SPEAKERS[:3], ids, builder.context_lines(SPEAKERS[:3], ids), soft=True
    )
    (slots,) = seq.targets
    assert seq.input_ids[slots.x_start : slots.x_end] == [soft_id, soft_id]
    assert seq.soft == [(slots.x_start, 3, 0), (slots.x_start + 1, 3, 1)]
    (conv,) = builder.conversation_sequences(SPEAKERS[:3], ids, soft=True)
    for t, text_ids in zip(conv.targets, ids):
        # the utterance's words stay, the X state is read from the markers that follow them
        assert conv.input_ids[t.x_start - len(text_ids) : t.x_start] == text_ids
        assert conv.input_ids[t.x_start : t.x_end] == [soft_id, soft_id]
    assert len(conv.soft) == 6


def test_truncation_drops_the_farthest_context_first(tokenizer, minilm_path):
    ids = _ids(tokenizer, TEXTS)
    probe = _builder(tokenizer, minilm_path, prompt_past=4, prompt_future=2)
    lines = probe.context_lines(SPEAKERS, ids)
    full = probe.utterance_sequence(3, SPEAKERS, ids, lines, soft=False)
    context = sum(len(line) for line in lines)
    prompt_and_specials = len(full.input_ids) - context

    def kept(max_length: int) -> list[int]:
        builder = _builder(tokenizer, minilm_path, max_length, prompt_past=4, prompt_future=2)
        seq = builder.utterance_sequence(3, SPEAKERS, ids, lines, soft=False)
        assert len(seq.input_ids) <= max_length
        slots = seq.targets[0]
        assert seq.input_ids[slots.x_start : slots.x_end] == ids[2]
        assert seq.input_ids[slots.mask_c] == tokenizer.mask_token_id
        body = seq.input_ids[1 : 1 + len(seq.input_ids) - prompt_and_specials]
        return [j for j in range(1, 6) if _contains(body, lines[j - 1])]

    assert kept(len(full.input_ids)) == [1, 2, 3, 4, 5]
    # order of dropping: 5 (distance 2, future), 1 (distance 2), 4 (future 1), 2, then 3 itself
    assert kept(len(full.input_ids) - 1) == [1, 2, 3, 4]
    room = prompt_and_specials + len(lines[1]) + len(lines[2]) + len(lines[3])
    assert kept(room) == [2, 3, 4]
    assert kept(room - 1) == [2, 3]
    assert kept(prompt_and_specials + len(lines[2])) == [3]
    assert kept(prompt_and_specials) == []


def _contains(haystack: list[int], needle: list[int]) -> bool:
    return any(haystack[k : k + len(needle)] == needle for k in range(len(haystack)))


def test_an_overlong_target_is_shortened_only_as_a_last_resort(tokenizer, minilm_path, caplog):
    long_text = " ".join(["word"] * 40)
    ids = _ids(tokenizer, [long_text])
    builder = _builder(tokenizer, minilm_path, 40)
    with caplog.at_level(logging.WARNING, logger="unimeec.models.prompt"):
        seq = builder.utterance_sequence(
            1, ["Ross"], ids, builder.context_lines(["Ross"], ids), soft=False
        )
    assert len(seq.input_ids) == 40
    assert seq.input_ids[seq.targets[0].mask_c] == tokenizer.mask_token_id
    assert "shortened" in caplog.text
    with pytest.raises(ConfigError, match="cannot hold the prompt template"):
        _builder(tokenizer, minilm_path, 10).utterance_sequence(
            1, ["Ross"], ids, builder.context_lines(["Ross"], ids), soft=False
        )


def test_chunks_overlap_and_each_utterance_takes_its_best_chunk(tokenizer, minilm_path):
    builder = _builder(tokenizer, minilm_path, chunk_overlap=1, prompt_past=1, prompt_future=1)
    assert builder._chunks([5, 5, 5, 5, 5], budget=12) == [(0, 2), (1, 3), (2, 4), (3, 5)]
    assert builder._chunks([5, 5, 5], budget=15) == [(0, 3)]
    wide = _builder(tokenizer, minilm_path, chunk_overlap=2)
    assert wide._chunks([3] * 6, budget=12) == [(0, 4), (2, 6)]
    # utterance 2 (0-based): chunk 0 has 1 before + 1 after, chunk 1 only 1 after
    assert builder._assign([(0, 4), (2, 6)], 6) == [0, 0, 0, 1, 1, 1]


def test_long_conversation_chunks_cover_every_target_once(tokenizer, minilm_path):
    speakers = SPEAKERS * 4
    texts = TEXTS * 4
    builder = _builder(tokenizer, minilm_path, 80)
    sequences = builder.conversation_sequences(speakers, _ids(tokenizer, texts), soft=False)
    assert len(sequences) > 2
    assert all(len(s.input_ids) <= 80 for s in sequences)
    targets = sorted(t.utterance for s in sequences for t in s.targets)
    assert targets == list(range(1, 21))
    for s in sequences:
        for t in s.targets:
            assert s.input_ids[t.mask_e] == tokenizer.mask_token_id


def test_prepare_tokenizer_adds_missing_markers_once(minilm_path):
    tok = AutoTokenizer.from_pretrained(minilm_path)
    config = UniMEECConfig(backbone=minilm_path, mask_c_token="[CAUSE]")
    before = len(tok)
    assert prepare_tokenizer(tok, config) == 2
    assert prepare_tokenizer(tok, config) == 0
    assert len(tok) == before + 2
    assert tok.tokenize("x [CAUSE] [SOFT]") == ["x", "[CAUSE]", "[SOFT]"]
    with pytest.raises(ConfigError, match="prepare_tokenizer"):
        CausalPromptBuilder(AutoTokenizer.from_pretrained(minilm_path), config)
