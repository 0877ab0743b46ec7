"""The span head: sub-word/whitespace alignment, labels, loss, decoding, save/load."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F
from transformers import AutoTokenizer

from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance
from unimeec.errors import ConfigError
from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECOutput, UniMEECProcessor
from unimeec.models.spans import (
    best_spans,
    subword_bounds,
    trimmed_range,
    utterance_range,
    whitespace_token_index,
)


@pytest.fixture(scope="module")
def tokenizer(minilm_path):
    return AutoTokenizer.from_pretrained(minilm_path)


def _words(tokenizer, text: str) -> tuple[list[str], list[int]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return (
        tokenizer.convert_ids_to_tokens(enc["input_ids"]),
        whitespace_token_index(text, enc["offset_mapping"]),
    )


# ---------------------------------------------------------------------- alignment
def test_alignment_contractions_and_attached_punctuation(tokenizer):
    text = " I don't know, I'm fine... fine fine!"
    pieces, words = _words(tokenizer, text)
    assert text.split() == ["I", "don't", "know,", "I'm", "fine...", "fine", "fine!"]
    assert pieces == [
        "i",
        "don",
        "'",
        "t",
        "know",
        ",",
        "i",
        "'",
        "m",
        "fine",
        ".",
        ".",
        ".",
        "fine",
        "fine",
        "!",
    ]
    # the tokenizer's own words split "don't" in three; whitespace tokens do not
    assert words == [0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 6, 6]
    # repeated words map to their own positions; "fine!" = token 6 from both its sub-words
    assert subword_bounds(words, 4, 7) == (9, 15)
    assert subword_bounds(words, 1, 2) == (1, 3)


def test_alignment_spaced_punctuation_as_in_ecf(tokenizer):
    text = " Oh , yeah . Had that dream ."
    pieces, words = _words(tokenizer, text)
    assert pieces == ["oh", ",", "yeah", ".", "had", "that", "dream", "."]
    assert words == list(range(8))  # every ECF token here is one sub-word
    assert subword_bounds(words, 4, 7) == (4, 6)
    assert subword_bounds(words, 8, 9) is None


def test_alignment_of_odd_whitespace_and_empty_offsets():
    text = "a\u00a0 bb\t\tc"  # non-breaking space and tabs split like str.split()
    assert text.split() == ["a", "bb", "c"]
    assert whitespace_token_index(text, [(0, 1), (1, 3), (3, 4), (4, 5), (7, 8), (5, 5)]) == [
        0,
        -1,
        1,
        1,
        2,
        -1,
    ]


def test_best_spans_hand_values():
    neg = torch.finfo(torch.float32).min
    start = torch.tensor([[0.0, 3.0, 1.0, neg], [5.0, 0.0, 0.0, 0.0]])
    end = torch.tensor([[4.0, 0.0, 2.0, neg], [0.0, 0.0, 0.0, 6.0]])
    # row 0: end 0 (4.0) is before the best start 1, so (1, 2): 3 + 2 = 5 beats (0, 0): 4
    # row 1: (0, 3) = 11 without a limit; with at most 2 sub-words: (0, 1) = 5 vs (2, 3) = 6
    assert best_spans(start, end).tolist() == [[1, 2], [0, 3]]
    assert best_spans(start, end, max_tokens=2).tolist() == [[1, 2], [2, 3]]
    # one sub-word: row 0 (0, 0) = 4 beats 3 + 0 and 1 + 2; row 1 (3, 3) = 6 beats (0, 0) = 5
    assert best_spans(start, end, max_tokens=1).tolist() == [[0, 0], [3, 3]]


def test_utterance_and_trimmed_ranges():
    assert utterance_range("Oh , yeah .") == (0, 4)
    assert trimmed_range("Oh , yeah .") == (0, 3)
    assert trimmed_range("... so what ?!") == (1, 3)
    assert trimmed_range("don't !") == (0, 1)  # an apostrophe inside a word is kept
    assert trimmed_range("? ! .") == (0, 3)  # only punctuation: never empty


# ---------------------------------------------------------------------- processor
def _conversation() -> Conversation:
    utts = [
        Utterance(1, "Ross", "I don't know , I'm fine .", "neutral"),
        Utterance(2, "Rachel", "You got the job ?", "surprise"),
        Utterance(3, "Ross", "Yes ! I got it !", "joy"),
    ]
    pairs = [
        EmotionCausePair(2, 1, "surprise", CauseSpan("I'm fine", 4, 6)),
        EmotionCausePair(3, 3, "joy", CauseSpan("I got it", 2, 5)),
        EmotionCausePair(3, 2, "joy", CauseSpan("got the job", 1, 4)),
        EmotionCausePair(3, 2, "joy", CauseSpan("job", 3, 4)),  # two spans of one pair
        EmotionCausePair(3, 1, "joy"),
    ]  # an utterance-level pair: no span label
    return Conversation("c", utts, pairs, dataset="semeval2024")


@pytest.fixture
def span_build(build):
    def _build(**kwargs):
        kwargs.setdefault("span_head", True)
        return build(**kwargs)

    return _build


@pytest.mark.parametrize("scope", ["conversation", "utterance"])
def test_processor_span_inputs(span_build, tokenizer, scope):
    _, processor = span_build(scope=scope, cause_past=2, cause_future=0)
    batch = processor([_conversation()])
    words = batch["span_word_ids"].tolist()
    # utterance 1: i don ' t know , i ' m fine . -> 11 sub-words of 7 tokens; width 11
    assert words[0] == [0, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6]
    assert words[1] == [0, 1, 2, 3, 4] + [-1] * 6
    rows = [tuple(r[1:]) for r in batch["candidate_pairs"].tolist()]
    assert rows == [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3)]
    assert batch["span_labels"].tolist() == [
        [1, 6, 9],  # (2, 1) "I'm fine": sub-words i ' m fine
        [5, 2, 4],  # (3, 3) "I got it"
        [4, 1, 3],  # (3, 2) "got the job"
        [4, 3, 3],
    ]  # (3, 2) "job"
    # the sub-words of the labels are those of the text-pass X slot of the cause utterance
    row, start, end = batch["x_positions"][0, 0].tolist()
    assert end - start == 11
    ids = batch["input_ids"][row, start + 6 : start + 10].tolist()
    assert tokenizer.convert_ids_to_tokens(ids) == ["i", "'", "m", "fine"]


def test_processor_without_span_head_is_unchanged(build):
    _, processor = build()
    batch = processor([_conversation()])
    assert "span_word_ids" not in batch and "span_labels" not in batch


def test_processor_needs_a_fast_tokenizer(minilm_path):
    class SlowTokenizer:
        is_fast = False

    with pytest.raises(
        ConfigError,
        match=r"^UniMEECConfig.span_head needs a fast tokenizer "
        r"\(its character offsets align sub-words to words\); SlowTokenizer is "
        r"not one$",
    ):
        UniMEECProcessor(UniMEECConfig(backbone=minilm_path, span_head=True), SlowTokenizer())


def test_config_validation_of_span_fields():
    with pytest.raises(ConfigError, match=r"^UniMEECConfig.span_head: needs cause pairs"):
        UniMEECConfig(span_head=True, tasks="emotion")
    with pytest.raises(
        ConfigError,
        match=r"^UniMEECConfig.span_max_tokens: must be null or an "
        r"integer >= 1, got 0$",
    ):
        UniMEECConfig(span_max_tokens=0)
    with pytest.raises(ConfigError, match=r"^UniMEECConfig.span_loss_weight: must be >= 0"):
        UniMEECConfig(span_loss_weight=-1.0)


# ---------------------------------------------------------------------- model
def test_span_loss_is_added_with_its_weight(span_build):
    model, processor = span_build(cause_past=2, cause_future=0, span_loss_weight=0.5, dropout=0.0)
    batch = processor([_conversation()])
    out = model(**batch)  # eval mode: logits of every candidate
    assert out.span_start_logits.shape == (6, 11) and out.span_rows is None
    labels = batch["span_labels"]
    expected = (
        F.cross_entropy(out.span_start_logits[labels[:, 0]], labels[:, 1])
        + F.cross_entropy(out.span_end_logits[labels[:, 0]], labels[:, 2])
    ) / 2
    assert out.span_loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert out.loss.item() == pytest.approx(
        out.emotion_loss.item() + out.cause_loss.item() + 0.5 * expected.item(), rel=1e-6
    )
    # padding of a shorter cause utterance is never a span position
    utterance_2 = (batch["candidate_utterances"][:, 1] == 1).nonzero()[0].item()
    assert (out.span_start_logits[utterance_2, 5:] == torch.finfo(torch.float32).min).all()
    model.train()
    train_out = model(**batch)  # training: only the labelled rows, in label order
    assert train_out.span_rows.tolist() == labels[:, 0].tolist()
    assert train_out.span_start_logits.shape == (4, 11)
    train_out.loss.backward()
    assert model.span_head.out.weight.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match="call model.eval"):
        model.decode(train_out, batch)


def test_decode_maps_subword_spans_to_whitespace_tokens(span_build):
    model, processor = span_build(cause_past=2, cause_future=0, cause_threshold=0.5)
    conv = _conversation()
    batch = processor([conv])
    labels = model.config.emotion_labels
    emotion_logits = torch.full((3, len(labels)), -5.0)
    for u, label in enumerate(["neutral", "surprise", "joy"]):
        emotion_logits[u, labels.index(label)] = 5.0
    # candidates (1,1) (2,1) (2,2) (3,1) (3,2) (3,3): keep (2,1) and (3,3)
    cause_logits = torch.tensor([-9.0, 9.0, -9.0, -9.0, -9.0, 9.0])
    neg = torch.finfo(torch.float32).min
    start = torch.zeros(6, 11)
    end = torch.zeros(6, 11)
    start[1, 2], end[1, 4] = 5.0, 5.0  # (2,1): sub-words ' t know = tokens "don't know"
    start[5, 1], end[5, 3] = 5.0, 5.0  # (3,3): sub-words ! i got -> "! I got"
    start[5, 5:], end[5, 5:] = neg, neg  # utterance 3 has 5 sub-words
    out = UniMEECOutput(
        emotion_logits=emotion_logits,
        cause_logits=cause_logits,
        candidate_pairs=batch["candidate_pairs"],
        span_start_logits=start,
        span_end_logits=end,
        span_words=batch["span_word_ids"][batch["candidate_utterances"][:, 1]],
    )
    pred = model.decode(out, batch)[0]
    assert [(p.key, p.span) for p in pred.pairs] == [
        ((2, 1), CauseSpan("don't know", 1, 3)),
        ((3, 3), CauseSpan("! I got", 1, 4)),
    ]
    whole = model.decode(out, batch, spans="utterance")[0]
    assert [(p.key, p.span) for p in whole.pairs] == [((2, 1), None), ((3, 3), None)]
    trimmed = model.decode(out, batch, spans="trimmed")[0]
    assert [p.span for p in trimmed.pairs] == [
        CauseSpan("I don't know , I'm fine", 0, 6),
        CauseSpan("Yes ! I got it", 0, 5),
    ]
    with pytest.raises(ValueError, match="spans must be one of"):
        model.decode(out, batch, spans="words")


def test_decoded_spans_stay_inside_the_cause_utterance(span_build):
    model, processor = span_build(
        cause_past=2, cause_future=1, cause_threshold=0.0, span_max_tokens=3
    )
    conv = _conversation()
    batch = processor([conv])
    pred = model.decode(model(**batch), batch)[0]
    assert pred.pairs  # tau = 0: every candidate of a non-neutral prediction
    for pair in pred.pairs:
        n = len(conv.utterance(pair.cause_utterance).text.split())
        assert 0 <= pair.span.start < pair.span.end <= n
        assert pair.span.text == " ".join(
            conv.utterance(pair.cause_utterance).text.split()[pair.span.start : pair.span.end]
        )


def test_span_head_learns_a_gold_span(span_build):
    """A few steps on one conversation move every gold span to the top of its logits."""
    model, processor = span_build(cause_past=2, cause_future=0, dropout=0.0)
    conv = _conversation()
    conv = Conversation(conv.id, conv.utterances, conv.pairs[:3], dataset="semeval2024")
    batch = processor([conv])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(40):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    model.eval()
    out = model(**batch)
    labels = batch["span_labels"]
    best = best_spans(out.span_start_logits[labels[:, 0]], out.span_end_logits[labels[:, 0]])
    assert best.tolist() == labels[:, 1:].tolist()


def test_save_and_load_keep_the_span_head(span_build, tmp_path):
    model, processor = span_build(cause_past=2, cause_future=0)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = UniMEECModel.from_pretrained(tmp_path).eval()
    batch = UniMEECProcessor.from_pretrained(tmp_path)([_conversation()])
    assert loaded.config.span_head is True
    torch.testing.assert_close(loaded(**batch).span_start_logits, model(**batch).span_start_logits)
