"""Marks of a conversation page: hand-computed cases, and agreement with the evaluation's
counts on every real ECF 1.0 test conversation."""

from __future__ import annotations

import numpy as np
import pytest

from unimeec.data.schema import Conversation, EmotionCausePair, Utterance
from unimeec.errors import DataFormatError
from unimeec.evaluation.counts import CountLayout, count_conversation
from unimeec.evaluation.report import make_layout
from unimeec.report.view import build_view

TEXTS = ("You got the job?", "Yes.", "They fired you?", "I am so sorry.")


def _conversation(
    emotions: list[str | None],
    pairs: list[EmotionCausePair],
    scores: list[dict[str, float] | None] | None = None,
    has_cause_labels: bool = True,
) -> Conversation:
    utts = [
        Utterance(
            k + 1, "AB"[k % 2], TEXTS[k], emotion, emotion_scores=scores[k] if scores else None
        )
        for k, emotion in enumerate(emotions)
    ]
    return Conversation("c1", utts, pairs, dataset="ecf1", has_cause_labels=has_cause_labels)


GOLD = _conversation(
    ["joy", "neutral", "anger", "sadness"],
    [
        EmotionCausePair(1, 1),
        EmotionCausePair(3, 2),
        EmotionCausePair(3, 3),
        EmotionCausePair(4, 3),
    ],
)
PRED = _conversation(
    ["joy", "neutral", "sadness", None],
    [
        EmotionCausePair(1, 1, score=0.7),
        EmotionCausePair(1, 1, score=0.9),
        EmotionCausePair(3, 3, score=0.6),
        EmotionCausePair(3, 1, score=0.4),
    ],
    scores=[
        {"joy": 0.8, "neutral": 0.2},
        {"neutral": 0.55, "joy": 0.45},
        {"sadness": 0.5, "anger": 0.5},
        None,
    ],
)


def test_marks_against_gold_by_hand() -> None:
    view = build_view(PRED, GOLD)
    assert [
        (a.emotion_utterance, a.cause_utterance, a.status, a.score, a.emotion) for a in view.arrows
    ] == [
        (1, 1, "correct", 0.9, "joy"),  # duplicate pair: one arrow, the best score
        (3, 1, "spurious", 0.4, "sadness"),
        (3, 2, "missed", None, "anger"),  # missed pairs carry the gold emotion
        (3, 3, "correct", 0.6, "sadness"),
        (4, 3, "missed", None, "sadness"),
    ]
    assert [(r.emotion, r.probability, r.gold_emotion, r.status) for r in view.rows] == [
        ("joy", 0.8, "joy", "correct"),
        ("neutral", 0.55, "neutral", "correct"),
        ("sadness", 0.5, "anger", "wrong"),
        (None, None, "sadness", "unpredicted"),
    ]
    assert (view.count("correct"), view.count("spurious"), view.count("missed")) == (2, 1, 2)
    assert view.emotion_errors == 2 and view.errors == 5 and view.predicted_pairs == 3


def test_marks_add_up_to_the_evaluation_counts_by_hand() -> None:
    layout = CountLayout(GOLD.labels)
    counts = count_conversation(GOLD, PRED, layout)
    tp, n_pred, n_gold = layout.view(counts, "pairs")
    view = build_view(PRED, GOLD)
    assert (tp, n_pred - tp, n_gold - tp) == (
        view.count("correct"),
        view.count("spurious"),
        view.count("missed"),
    )


def test_without_gold_the_conversation_is_shown_as_it_is() -> None:
    view = build_view(PRED)
    assert not view.judged and {r.status for r in view.rows} == {"plain"}
    assert [(a.emotion_utterance, a.cause_utterance, a.status) for a in view.arrows] == [
        (1, 1, "predicted"),
        (3, 1, "predicted"),
        (3, 3, "predicted"),
    ]
    assert view.errors == 0


def test_gold_without_cause_labels_judges_emotions_only() -> None:
    gold = _conversation(["joy", "neutral", "anger", "sadness"], [], has_cause_labels=False)
    view = build_view(PRED, gold)
    assert {a.status for a in view.arrows} == {"predicted"} and view.count("missed") == 0
    assert view.count("wrong") == 1 and view.count("unpredicted") == 1


def test_gold_without_a_prediction_shows_every_gold_pair_missed() -> None:
    view = build_view(None, GOLD)
    assert not view.has_prediction
    assert [a.status for a in view.arrows] == ["missed"] * 4
    assert [r.status for r in view.rows] == ["unpredicted"] * 4


def test_mismatched_ids_are_an_error() -> None:
    other = Conversation("c2", list(PRED.utterances), dataset="ecf1")
    with pytest.raises(
        DataFormatError,
        match="conversation c1, field 'id': prediction 'c2' shown against gold 'c1'",
    ):
        build_view(other, GOLD)


def test_every_real_conversation_agrees_with_the_evaluation(ecf_test, predictions) -> None:
    layout = make_layout(ecf_test)
    for gold, pred in zip(ecf_test, predictions, strict=True):
        counts = count_conversation(gold, pred, layout)
        tp, n_pred, n_gold = layout.view(counts, "pairs")
        confusion = layout.view(counts, "merc_confusion")
        view = build_view(pred, gold)
        assert (view.count("correct"), view.count("spurious"), view.count("missed")) == (
            tp,
            n_pred - tp,
            n_gold - tp,
        ), gold.id
        n = len(layout.labels)
        assert view.count("wrong") == confusion[:, :n].sum() - np.trace(confusion[:, :n])
        assert view.count("unpredicted") == confusion[:, n].sum()
