"""SemEval-2024 subtask 1: span location, strict and proportional span F1, worked by hand."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from unimeec.data.schema import CauseSpan, Conversation
from unimeec.data.spans import locate_span, trim_span
from unimeec.evaluation import evaluate, evaluate_report
from unimeec.evaluation.spans import (
    SpanPair,
    gold_span_range,
    predicted_span_range,
    proportional_counts,
)

Builder = Callable[..., Conversation]
Case = tuple[list[Conversation], list[Conversation]]

approx = pytest.approx

NAKED = "I realize I am totally naked ."  # 7 tokens
HERE = "Oh my God , what are you doing here ?"  # 10 tokens: Oh0 my1 God2 ,3 what4 ... ?9


def test_clean_and_locate_follow_the_official_rules() -> None:
    assert trim_span(" , I realize I am totally naked . ") == "I realize I am totally naked"
    assert trim_span("...'Hi!'") == "Hi"
    assert locate_span("I realize I am totally naked .", NAKED) == (0, 6)
    assert locate_span("what are you doing here ?", HERE) == (4, 9)
    # whole tokens only: "naked" is not the token "naked."
    assert locate_span("naked", "totally naked.") is None
    # first occurrence wins
    assert locate_span("a b", "a b c a b") == (0, 2)
    assert locate_span(" ?! ", HERE) is None
    # gold: the text wins over stored positions; no span = whole utterance; not found = (0, 0)
    assert gold_span_range(CauseSpan(text="Oh my God", start=5, end=7), HERE) == ((0, 3), True)
    assert gold_span_range(None, HERE) == ((0, 10), True)
    assert gold_span_range(CauseSpan(text="no such words"), HERE) == ((0, 0), False)
    assert gold_span_range(CauseSpan(start=2, end=4), HERE) == ((2, 4), True)
    # predictions: positions win; a text is located; no span = whole utterance
    assert predicted_span_range(CauseSpan(text="Oh my God", start=5, end=7), HERE) == (5, 7)
    assert predicted_span_range(CauseSpan(text="Oh my God"), HERE) == (0, 3)
    assert predicted_span_range(None, NAKED) == (0, 7)


def test_strict_span_f1_by_hand(span_case: Case) -> None:
    gold, pred = span_case
    m = evaluate(gold, pred)
    # strict (exact 6-tuples, duplicates removed):
    # surprise: 3 gold, 3 predicted, 1 correct -> P R F1 1/3
    # anger:    2 gold, 2 predicted, 0 correct; joy: 0 gold, 1 predicted
    # weights by gold: surprise 3/5, anger 2/5 -> weighted F1 = (3/5)(1/3) = 0.2
    assert m["semeval_st1_strict_weighted_f1"] == approx(0.2)
    assert m["semeval_st1_strict_weighted_precision"] == approx(0.2)
    assert m["semeval_st1_strict_weighted_recall"] == approx(0.2)
    # micro: 1 correct, 6 predicted, 5 gold -> P 1/6, R 1/5, F1 2/11
    assert m["semeval_st1_strict_micro_precision"] == approx(1 / 6)
    assert m["semeval_st1_strict_micro_recall"] == approx(1 / 5)
    assert m["semeval_st1_strict_micro_f1"] == approx(2 / 11)


def test_proportional_span_f1_by_hand_with_partial_and_multiple_overlaps(span_case: Case) -> None:
    gold, pred = span_case
    m = evaluate(gold, pred)
    # surprise: overlap 6 + 2 + 2 = 10; predicted length 6 + 4 + 2 = 12;
    #   gold length: each picked gold counted per picking prediction: 6 + 5 + 3 = 14
    #   P 10/12 = 5/6, R 10/14 = 5/7, F1 = 2*(5/6)(5/7) / (5/6 + 5/7) = 10/13
    # anger: both predictions pick [1,4) (tie-break by score, both 1/3): overlap 1 + 1 = 2;
    #   predicted length 2 + 2 = 4; gold length 3 + 3 (picked twice) + 1 ([5,6) unpicked) = 7
    #   P 2/4, R 2/7, F1 = 2*(1/2)(2/7) / (1/2 + 2/7) = 4/11
    # joy: predicted length 3, overlap 0 -> 0
    # weights: gold span counts surprise 3, anger 2
    assert m["semeval_st1_proportional_weighted_precision"] == approx(0.6 * 5 / 6 + 0.4 * 0.5)
    assert m["semeval_st1_proportional_weighted_recall"] == approx(0.6 * 5 / 7 + 0.4 * 2 / 7)
    assert m["semeval_st1_proportional_weighted_f1"] == approx(0.6 * 10 / 13 + 0.4 * 4 / 11)
    # micro: overlap 12, predicted length 15 + 4 = 19, gold length 14 + 7 = 21
    assert m["semeval_st1_proportional_micro_precision"] == approx(12 / 19)
    assert m["semeval_st1_proportional_micro_recall"] == approx(12 / 21)
    assert m["semeval_st1_proportional_micro_f1"] == approx(24 / 40)
    # the utterance-level figures ignore spans: s1 gold {21, 22}, pred {21, 22, 11}; s2 {11}
    assert m["mecpe_pair_precision"] == approx(3 / 4) and m["mecpe_pair_recall"] == 1.0
    report = evaluate_report(gold, pred)
    assert report.counts["gold_duplicates"] == 1
    assert report.counts["gold_pairs_with_span"] == 5  # 6 listed, one exact duplicate


def test_proportional_tie_break_uses_gold_order() -> None:
    a = SpanPair(1, 0, 1, 0, 2)  # gold [0, 2)
    b = SpanPair(1, 0, 1, 3, 5)  # gold [3, 5)
    first = SpanPair(1, 0, 1, 1, 4)  # overlaps both by 1, score 1/2 each
    second = SpanPair(1, 0, 1, 3, 5)  # exactly b
    # gold order a, b: `first` picks a, `second` picks b; nothing unpicked -> gold length 2 + 2
    counts = proportional_counts([a, b], [first, second], 1)
    assert (counts.overlap, counts.gold_length, counts.pred_length, counts.gold_spans) == (
        [3],
        [4],
        [5],
        [2],
    )
    # gold order b, a: both pick b; a stays unpicked -> gold length 2 + 2 + 2
    counts = proportional_counts([b, a], [first, second], 1)
    assert (counts.overlap, counts.gold_length) == ([3], [6])
    # equal score, larger overlap wins: gold [0,2) and [0,4), prediction [0,4) -> 2/2 vs 4/4
    counts = proportional_counts(
        [SpanPair(1, 0, 1, 0, 2), SpanPair(1, 0, 1, 0, 4)], [SpanPair(1, 0, 1, 0, 4)], 1
    )
    assert (counts.overlap, counts.gold_length) == ([4], [4 + 2])


def test_wrong_category_span_and_unlocated_gold_span(conv: Builder) -> None:
    gold = [
        conv(
            "1",
            ["anger", "neutral"],
            [(1, 2, "anger", "my God"), (1, 1, "anger", "words that are elsewhere")],
            texts=["a b c", HERE],
        )
    ]
    pred = [conv("1", ["joy", "neutral"], [(1, 2, "joy", (1, 3))], texts=["a b c", HERE])]
    report = evaluate_report(gold, pred)
    m = report.metrics
    # the joy prediction matches nothing (category differs): strict and proportional 0
    assert m["semeval_st1_strict_micro_f1"] == 0.0
    assert m["semeval_st1_proportional_micro_precision"] == 0.0
    # the second gold span is not in its utterance: scored as the empty range [0, 0)
    assert report.counts["unlocated_gold_spans"] == 1
    assert "not found in their utterance" in report.format_table()
    # an utterance-level prediction (no span) predicts the whole utterance: [0, 10) vs [1, 3)
    whole = [conv("1", ["anger", "neutral"], [(1, 2)], texts=["a b c", HERE])]
    m = evaluate(gold, whole)
    # overlap 2, predicted length 10, gold length 2 + 0 (the unlocated span) -> P 0.2, R 1
    assert m["semeval_st1_proportional_micro_precision"] == approx(0.2)
    assert m["semeval_st1_proportional_micro_recall"] == approx(1.0)


def test_span_metrics_absent_without_gold_spans(conv: Builder) -> None:
    gold = [conv("1", ["joy"], [(1, 1)])]
    assert not any(k.startswith("semeval_st1") for k in evaluate(gold, gold))
