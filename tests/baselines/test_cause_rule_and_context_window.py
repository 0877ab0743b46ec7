"""The two baselines: the cause rule (hand-computed and on real ECF 1.0) and the classifier."""

from __future__ import annotations

import pytest

from unimeec import Conversation, EmotionCausePair, Utterance
from unimeec.baselines import apply_cause_rule, self_and_previous_pairs
from unimeec.baselines.context_window import context_examples


def _conv() -> Conversation:
    utts = [
        Utterance(1, "A", "I lost my keys .", "sadness"),
        Utterance(2, "B", "Where ?", "neutral"),
        Utterance(3, "A", "No idea !", "anger"),
        Utterance(4, "B", "Found them !", "joy"),
    ]
    return Conversation("c1", utts, pairs=[EmotionCausePair(1, 1, "sadness")], dataset="ecf1")


def test_rule_pairs_each_emotion_utterance_with_itself_and_the_previous_one():
    pairs = self_and_previous_pairs(_conv())
    assert [p.cat_key for p in pairs] == [
        (1, "sadness", 1),
        (3, "anger", 3),
        (3, "anger", 2),
        (4, "joy", 4),
        (4, "joy", 3),
    ]


def test_apply_rule_replaces_pairs_and_leaves_gold_untouched():
    gold = _conv()
    (pred,) = apply_cause_rule([gold])
    assert pred.pair_set() == {(1, 1), (3, 3), (3, 2), (4, 4), (4, 3)}
    assert [u.emotion for u in pred.utterances] == ["sadness", "neutral", "anger", "joy"]
    assert gold.pair_set() == {(1, 1)}


def test_context_window_is_four_previous_target_and_one_next():
    conv = Conversation(
        "c", [Utterance(k, "S", f"t{k}", "neutral") for k in range(1, 8)], dataset="ecf1"
    )
    examples = context_examples([conv], ("neutral", "joy"))
    assert len(examples) == 7
    sixth = examples[5]
    assert (sixth.utterance, sixth.target, sixth.label) == (6, "S: t6", 0)
    assert sixth.context == "S: t2 | S: t3 | S: t4 | S: t5 | S: t6 | S: t7"
    assert examples[0].context == "S: t1 | S: t2"
    assert examples[6].context == "S: t3 | S: t4 | S: t5 | S: t6 | S: t7"


def test_context_window_rejects_an_emotion_outside_the_label_set():
    conv = Conversation("c9", [Utterance(1, "S", "x", "joy")], dataset="ecf1")
    with pytest.raises(ValueError, match="conversation c9, utterance 1: emotion 'joy'"):
        context_examples([conv], ("neutral", "anger"))


def test_rule_with_gold_emotions_on_ecf1_test_gives_pair_f1_64_5(shared_data):
    """METHOD.md section 8: the rule on gold emotions reaches pair F1 64.5 on ECF 1.0 test.

    Hand check: 1,491 rule pairs are gold, 1,260 are not, 382 gold pairs are missed.
    """
    from unimeec.data import load_dataset
    from unimeec.evaluation import evaluate

    gold = load_dataset("ecf1", "test", data_dir=shared_data)
    metrics = evaluate(gold, apply_cause_rule(gold))
    assert metrics["mecpe_pair_precision"] == pytest.approx(1491 / 2751)
    assert metrics["mecpe_pair_recall"] == pytest.approx(1491 / 1873)
    assert metrics["mecpe_pair_f1"] == pytest.approx(0.6449, abs=5e-5)
    assert metrics["merc_weighted_f1"] == pytest.approx(1.0)
