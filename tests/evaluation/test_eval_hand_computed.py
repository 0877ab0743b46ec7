"""MERC, MECPE and MECPE-Cat on small cases whose every figure is worked out by hand."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from unimeec.data.schema import Conversation
from unimeec.evaluation import evaluate, evaluate_report

Builder = Callable[..., Conversation]
Case = tuple[list[Conversation], list[Conversation]]

approx = pytest.approx


# ----------------------------------------------------------------------------- MERC
def test_merc_by_hand_with_a_missing_prediction(conv: Builder) -> None:
    gold = [conv("1", ["neutral", "joy", "joy", "anger", "neutral", "sadness"])]
    # utterance 6 gets no prediction: it counts as wrong for its gold class
    pred = [conv("1", ["neutral", "joy", "neutral", "joy", "neutral", None])]
    m = evaluate(gold, pred)
    # correct: utterances 1, 2, 5 -> 3 / 6
    assert m["merc_accuracy"] == approx(0.5)
    # neutral: 2 gold, 3 predicted (1, 3, 5), 2 correct -> P 2/3, R 1, F1 0.8
    assert m["merc_precision_neutral"] == approx(2 / 3)
    assert m["merc_recall_neutral"] == approx(1.0)
    assert m["merc_f1_neutral"] == approx(0.8)
    # joy: 2 gold (2, 3), 2 predicted (2, 4), 1 correct -> P R F1 = 0.5
    assert m["merc_f1_joy"] == approx(0.5)
    # anger: predicted as joy; sadness: not predicted -> 0
    assert m["merc_f1_anger"] == 0.0 and m["merc_recall_sadness"] == 0.0
    # weighted by gold support: (2*0.8 + 2*0.5 + 1*0 + 1*0) / 6 = 2.6 / 6
    assert m["merc_weighted_f1"] == approx(2.6 / 6)
    # macro over the 4 classes present: (0.8 + 0.5 + 0 + 0) / 4
    assert m["merc_macro_f1"] == approx(0.325)
    # classes that occur nowhere get no per-class key
    assert "merc_f1_fear" not in m
    # the same numbers as sklearn over those labels, the missing prediction as its own value
    y_true = ["neutral", "joy", "joy", "anger", "neutral", "sadness"]
    y_pred = ["neutral", "joy", "neutral", "joy", "neutral", "<none>"]
    labels = ["neutral", "anger", "joy", "sadness"]
    assert m["merc_weighted_f1"] == approx(
        f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
    )
    assert m["merc_macro_f1"] == approx(
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )


def test_merc_agrees_with_sklearn_on_random_labels(conv: Builder) -> None:
    import random

    rng = random.Random(5)
    labels = ["neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise"]
    gold, pred, y_true, y_pred = [], [], [], []
    for c in range(30):
        g = [rng.choice(labels) for _ in range(rng.randint(1, 9))]
        p = [e if rng.random() < 0.5 else rng.choice(labels) for e in g]
        gold.append(conv(str(c), g))
        pred.append(conv(str(c), p))
        y_true += g
        y_pred += p
    m = evaluate(gold, pred)
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", zero_division=0
    )
    assert (
        m["merc_weighted_precision"],
        m["merc_weighted_recall"],
        m["merc_weighted_f1"],
    ) == approx((p, r, f))
    assert m["merc_macro_f1"] == approx(f1_score(y_true, y_pred, average="macro"))
    assert m["merc_accuracy"] == approx(sum(a == b for a, b in zip(y_true, y_pred)) / len(y_true))


def test_merc_absent_without_predicted_emotions_and_without_gold_emotions(conv: Builder) -> None:
    gold = [conv("1", ["joy", "neutral"], [(1, 2)])]
    pairs_only = [conv("1", [None, None], [(1, 2, "joy")])]
    m = evaluate(gold, pairs_only)
    assert not any(k.startswith("merc_") for k in m)
    assert m["mecpe_pair_f1"] == 1.0
    unlabelled_gold = [conv("1", [None, None], [(1, 2, "joy")])]
    assert not any(k.startswith("merc_") for k in evaluate(unlabelled_gold, gold))


# ----------------------------------------------------------------------------- MECPE
def test_mecpe_pairs_and_extraction_by_hand(mecpe_case: Case) -> None:
    gold, pred = mecpe_case
    m = evaluate(gold, pred)
    # pairs (category ignored), duplicates removed:
    # gold c1 {11,32,33,41,66} c3 {11,12} = 7; pred c1 {11,32,55,54,66} c2 {22} = 6
    # correct: c1 11, 32, 66 = 3 -> P 3/6, R 3/7, F1 2*3/(6+7) = 6/13
    assert m["mecpe_pair_precision"] == approx(0.5)
    assert m["mecpe_pair_recall"] == approx(3 / 7)
    assert m["mecpe_pair_f1"] == approx(6 / 13)
    # the joint selection score: mean of emotion weighted F1 and pair F1
    assert m["joint_f1"] == approx((m["merc_weighted_f1"] + 6 / 13) / 2)
    # emotion utterances (non-neutral): gold c1 {1,3,4,6} c3 {1} = 5;
    # pred c1 {1,3,5,6} c2 {2} = 5; correct c1 {1,3,6} = 3 -> 0.6 everywhere
    assert (
        m["mecpe_emotion_precision"],
        m["mecpe_emotion_recall"],
        m["mecpe_emotion_f1"],
    ) == approx((0.6, 0.6, 0.6))
    # cause utterances: gold c1 {1,2,3,6} c3 {1,2} = 6; pred c1 {1,2,4,5,6} c2 {2} = 6;
    # correct c1 {1,2,6} = 3 -> 0.5 everywhere
    assert (m["mecpe_cause_precision"], m["mecpe_cause_recall"], m["mecpe_cause_f1"]) == approx(
        (0.5, 0.5, 0.5)
    )


def test_mecpe_cat_by_hand_with_wrong_category(mecpe_case: Case) -> None:
    gold, pred = mecpe_case
    m = evaluate(gold, pred)
    # gold (i, emotion, j): anger 2 (c1 3a2, 3a3), disgust 1, joy 1, sadness 1, surprise 2 -> 7
    # pred: joy 2 (c1 1j1 correct, 3j2 wrong category), surprise 2 (c1 5s5, 5s4),
    #       disgust 1 (c1 6d6 correct), fear 1 (c2 2f2) -> 6
    # 3j2 is a false positive for joy AND its gold 3a2 a false negative for anger.
    # per emotion: disgust P 1 R 1 F1 1; joy P 1/2 R 1 F1 2/3; anger, fear, sadness, surprise 0
    assert m["mecpe_cat_f1_disgust"] == approx(1.0)
    assert (
        m["mecpe_cat_precision_joy"],
        m["mecpe_cat_recall_joy"],
        m["mecpe_cat_f1_joy"],
    ) == approx((0.5, 1.0, 2 / 3))
    assert m["mecpe_cat_recall_anger"] == 0.0 and m["mecpe_cat_precision_fear"] == 0.0
    assert m["mecpe_cat_f1_surprise"] == 0.0
    # weighted by gold share (disgust 1/7, joy 1/7): F1 = 1/7 + (1/7)(2/3) = 5/21
    assert m["mecpe_cat_weighted_f1"] == approx(5 / 21)
    assert m["mecpe_cat_weighted_precision"] == approx(1 / 7 + 0.5 / 7)
    assert m["mecpe_cat_weighted_recall"] == approx(2 / 7)
    # four emotions (anger 2, joy 1, sadness 1, surprise 2 = 6): only joy scores: (1/6)(2/3)
    assert m["mecpe_cat_weighted_f1_4"] == approx(1 / 9)
    # micro over the six: 2 correct, 6 predicted, 7 gold -> F1 2*2/(6+7) = 4/13
    assert m["mecpe_cat_micro_precision"] == approx(1 / 3)
    assert m["mecpe_cat_micro_recall"] == approx(2 / 7)
    assert m["mecpe_cat_micro_f1"] == approx(4 / 13)


def test_report_counts_missing_conversations_and_duplicates(mecpe_case: Case) -> None:
    gold, pred = mecpe_case
    report = evaluate_report(gold, pred)
    assert report.counts["conversations"] == 3
    assert report.counts["missing"] == 1 and report.missing_conversations == ["c3"]
    assert report.counts["pred_duplicates"] == 1 and report.counts["gold_duplicates"] == 0
    # after removing the duplicate (1,1): 6 predicted, 7 gold utterance pairs
    assert report.counts["gold_pairs"] == 7 and report.counts["pred_pairs"] == 6
    assert report.cat_counts is not None
    assert report.cat_counts["joy"] == [1, 2, 1] and report.cat_counts["fear"] == [0, 1, 0]
    # MERC over all 11 gold utterances; c3's two have no prediction
    # correct: c1 utterances 1, 2, 6 and c2 utterances 1, 3; c3 has none -> 5 / 11
    assert report.metrics["merc_accuracy"] == approx(5 / 11)
    assert report.confusion_matrix is not None
    no_prediction = [row[-1] for row in report.confusion_matrix]
    assert sum(no_prediction) == 2
    table = report.format_table()
    assert "without prediction: 1 (c3)" in table
    assert "mecpe_cat_weighted_f1" in table and "23.81" in table  # 5/21 as a percentage


def test_empty_predictions_score_zero(conv: Builder, mecpe_case: Case) -> None:
    gold, _ = mecpe_case
    empty = [conv(g.id, [None] * len(g.utterances)) for g in gold]
    m = evaluate(gold, empty)
    # nothing predicted: every precision and recall is 0 (0/0 counts as 0)
    assert m["mecpe_pair_f1"] == 0.0 and m["mecpe_pair_precision"] == 0.0
    assert m["mecpe_cat_weighted_f1"] == 0.0 and m["mecpe_cat_micro_f1"] == 0.0
    assert not any(k.startswith("merc_") for k in m)  # no emotion predicted anywhere
    # an empty prediction list: every conversation missing, same figures
    report = evaluate_report(gold, [])
    assert report.counts["missing"] == 3
    assert report.metrics["mecpe_pair_recall"] == 0.0


def test_conversation_without_gold_pairs_only_adds_false_positives(conv: Builder) -> None:
    gold = [conv("1", ["joy", "neutral"], [(1, 1)]), conv("2", ["neutral", "neutral"])]
    pred = [
        conv("1", ["joy", "neutral"], [(1, 1)]),
        conv("2", ["neutral", "neutral"], [(1, 2, "anger"), (2, 2, "anger")]),
    ]
    m = evaluate(gold, pred)
    # 1 correct of 3 predicted, 1 gold -> P 1/3, R 1, F1 2*1/(3+1) = 0.5
    assert (m["mecpe_pair_precision"], m["mecpe_pair_recall"], m["mecpe_pair_f1"]) == approx(
        (1 / 3, 1.0, 0.5)
    )
    # anger has no gold pairs: weight 0, so the weighted F1 is joy's F1 = 1
    assert m["mecpe_cat_weighted_f1"] == approx(1.0)
    # micro: 1 correct, 3 predicted, 1 gold -> 0.5
    assert m["mecpe_cat_micro_f1"] == approx(0.5)


def test_neutral_pairs_are_not_scored_by_mecpe_cat(conv: Builder) -> None:
    # like the official scorer, a pair whose emotion is neutral is neither TP nor FP in MECPE-Cat
    gold = [conv("1", ["joy", "neutral"], [(1, 2)])]
    pred = [conv("1", ["joy", "neutral"], [(1, 2), (2, 2)])]
    m = evaluate(gold, pred)
    assert m["mecpe_cat_micro_precision"] == 1.0
    assert m["mecpe_pair_precision"] == 0.5  # but the utterance pair (2,2) is a wrong pair


def test_conversations_without_cause_labels_are_outside_mecpe(conv: Builder) -> None:
    gold = [
        conv("1", ["joy", "neutral"], [(1, 1)]),
        conv("2", ["anger", "neutral"], has_cause_labels=False),
    ]
    pred = [conv("1", ["joy", "neutral"], [(1, 1)]), conv("2", ["anger", "neutral"], [(1, 1)])]
    m = evaluate(gold, pred)
    assert m["mecpe_pair_precision"] == 1.0  # the pair in conversation 2 is not scored
    assert m["merc_accuracy"] == 1.0  # but its emotions are
    merc_only = evaluate([gold[1]], [pred[1]])
    assert not any(k.startswith("mecpe_") for k in merc_only)


def test_reccon_labels_use_happiness_for_the_four_emotion_average(conv: Builder) -> None:
    gold = [conv("1", ["happiness", "anger", "neutral"], [(1, 1), (2, 1)], dataset="reccon")]
    pred = [conv("1", ["happiness", "fear", "neutral"], [(1, 1), (2, 1)], dataset="reccon")]
    m = evaluate(gold, pred)
    # happiness 1/1 correct (F1 1); anger missed; fear predicted wrongly.
    # six-emotion and four-emotion weights are both 1/2 for happiness and anger -> 0.5
    assert m["mecpe_cat_weighted_f1"] == approx(0.5)
    assert m["mecpe_cat_weighted_f1_4"] == approx(0.5)
    assert m["mecpe_cat_f1_happiness"] == 1.0


def test_iemocap_labels_have_no_four_emotion_average(conv: Builder) -> None:
    gold = [conv("1", ["hap", "neu"], [(1, 1)], dataset="iemocap")]
    m = evaluate(gold, gold)
    assert m["mecpe_cat_weighted_f1"] == 1.0 and "mecpe_cat_weighted_f1_4" not in m
