"""Real ECF 1.0 / ECF 2.0 data: gold scores 1.0 against itself, and a seeded perturbation of the
ECF 1.0 test set scores what an independent re-derivation of the official definitions gives."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from unimeec.data import load_dataset, read_conversations
from unimeec.data.labels import ECF_EMOTIONS
from unimeec.data.schema import Conversation, EmotionCausePair
from unimeec.evaluation import evaluate, evaluate_report


@pytest.fixture(scope="module")
def ecf1_test(shared_data: Path) -> list[Conversation]:
    return load_dataset("ecf1", "test", shared_data)


def _all_one(metrics: dict[str, float]) -> None:
    assert metrics
    wrong = {k: v for k, v in metrics.items() if v != pytest.approx(1.0, abs=1e-12)}
    assert wrong == {}


def test_ecf1_gold_against_itself(shared_data: Path, ecf1_test: list[Conversation]) -> None:
    report = evaluate_report(ecf1_test, ecf1_test)
    _all_one(report.metrics)
    assert report.counts["conversations"] == 261
    assert report.counts["gold_pairs"] == 1873
    assert report.counts["gold_utterances_with_emotion"] == 2566
    # all seven classes and all six cause emotions occur, so every per-class key is there
    assert sum(k.startswith("merc_f1_") for k in report.metrics) == 7
    assert sum(k.startswith("mecpe_cat_f1_") for k in report.metrics) == 6
    assert "mecpe_cat_weighted_f1_4" in report.metrics
    everything = read_conversations(shared_data / "ecf1" / "all_data_pair.txt")
    report = evaluate_report(everything, everything)
    _all_one(report.metrics)
    assert report.counts["gold_pairs"] == 9794
    # pairs per emotion in the README of the data: anger 2,242 ... surprise 2,338
    assert report.cat_counts is not None
    assert {e: c[2] for e, c in report.cat_counts.items()} == {
        "anger": 2242,
        "disgust": 560,
        "fear": 365,
        "joy": 2814,
        "sadness": 1475,
        "surprise": 2338,
    }


def test_ecf2_semeval_gold_against_itself(shared_data: Path) -> None:
    gold = load_dataset("semeval2024", "train", shared_data)
    report = evaluate_report(gold, gold)
    _all_one(report.metrics)
    assert "semeval_st1_strict_weighted_f1" in report.metrics
    assert "semeval_st1_proportional_micro_f1" in report.metrics
    # 9,364 span pairs listed, 72 exact duplicates, 9,292 distinct, 9,256 utterance pairs
    assert report.counts["gold_duplicates"] == 72
    assert report.counts["gold_pairs_with_span"] == 9292
    assert report.counts["gold_pairs"] == 9256
    assert report.counts["unlocated_gold_spans"] == 0


# ------------------------------------------------------------------- seeded perturbation
def _perturb(gold: list[Conversation], seed: int) -> list[Conversation]:
    """Random emotion changes, dropped, added and repeated pairs; pairs carry the (possibly
    changed) predicted emotion of their emotion utterance, as a SemEval submission does."""
    rng = random.Random(seed)
    pred = []
    for conv in gold:
        emotions = [
            u.emotion if rng.random() > 0.15 else rng.choice(ECF_EMOTIONS) for u in conv.utterances
        ]
        n = len(conv.utterances)
        keys = [p.key for p in conv.pairs if rng.random() > 0.2]
        keys += [(rng.randint(1, n), rng.randint(1, n)) for _ in range(rng.choice((0, 0, 1, 2)))]
        if keys and rng.random() < 0.1:
            keys.append(keys[0])
        pairs = [EmotionCausePair(i, j, emotion=emotions[i - 1]) for i, j in keys]
        pred.append(conv.with_predictions(emotions=emotions, pairs=pairs))
    return pred


def _official_subtask2(
    gold: list[Conversation], pred: list[Conversation]
) -> tuple[float, float, float]:
    """Weighted and micro F1 of SemEval-2024 subtask 2, re-derived straight from its
    definition: de-duplicated (conversation, emotion utt, cause utt, emotion) tuples; per
    emotion TP / FP / FN where a predicted tuple absent from gold is an FP of its emotion and a
    gold tuple absent from the prediction an FN of its emotion; neutral tuples are not scored;
    weights = each emotion's share of gold tuples over the six (over anger, joy, sadness and
    surprise for the four-emotion average of the ECF papers)."""

    def tuples(conversations: list[Conversation]) -> list[tuple[str, int, int, str]]:
        out: list[tuple[str, int, int, str]] = []
        for c in conversations:
            for p in c.pairs:
                item = (
                    c.id,
                    p.emotion_utterance,
                    p.cause_utterance,
                    p.emotion or c.utterance(p.emotion_utterance).emotion or "neutral",
                )
                if item not in out:
                    out.append(item)
        return out

    true, predicted = tuples(gold), tuples(pred)
    true_set, pred_set = set(true), set(predicted)
    tp, fp, fn = Counter(), Counter(), Counter()
    for item in predicted:
        (tp if item in true_set else fp)[item[3]] += 1
    for item in true:
        if item not in pred_set:
            fn[item[3]] += 1
    six = ECF_EMOTIONS[1:]
    f1 = {}
    for e in six:
        p = tp[e] / (tp[e] + fp[e]) if tp[e] + fp[e] else 0.0
        r = tp[e] / (tp[e] + fn[e]) if tp[e] + fn[e] else 0.0
        f1[e] = 2 * p * r / (p + r) if p + r else 0.0
    n_gold = sum(tp[e] + fn[e] for e in six)
    weighted = sum(f1[e] * (tp[e] + fn[e]) / n_gold for e in six)
    four = ("anger", "joy", "sadness", "surprise")
    n_gold4 = sum(tp[e] + fn[e] for e in four)
    weighted4 = sum(f1[e] * (tp[e] + fn[e]) / n_gold4 for e in four)
    all_tp = sum(tp[e] for e in six)
    micro_p = all_tp / sum(tp[e] + fp[e] for e in six)
    micro_r = all_tp / n_gold
    return weighted, weighted4, 2 * micro_p * micro_r / (micro_p + micro_r)


def test_perturbed_ecf1_test_matches_the_official_definitions(
    ecf1_test: list[Conversation],
) -> None:
    pred = _perturb(ecf1_test, seed=2024)
    m = evaluate(ecf1_test, pred)
    weighted, weighted4, micro = _official_subtask2(ecf1_test, pred)
    assert m["mecpe_cat_weighted_f1"] == pytest.approx(weighted, abs=1e-12)
    assert m["mecpe_cat_weighted_f1_4"] == pytest.approx(weighted4, abs=1e-12)
    assert m["mecpe_cat_micro_f1"] == pytest.approx(micro, abs=1e-12)
    # the numbers themselves, pinned (seed 2024)
    for name in ("mecpe_cat_weighted_f1", "mecpe_cat_weighted_f1_4", "mecpe_cat_micro_f1"):
        assert m[name] == pytest.approx(PINNED[name], abs=1e-12)
    # MERC against sklearn on the same perturbation
    y_true = [u.emotion for c in ecf1_test for u in c.utterances]
    y_pred = [u.emotion for c in pred for u in c.utterances]
    assert m["merc_weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    # pair F1 (category ignored) from plain sets
    gold_keys = {(c.id, *p.key) for c in ecf1_test for p in c.pairs}
    pred_keys = {(c.id, *p.key) for c in pred for p in c.pairs}
    hits = len(gold_keys & pred_keys)
    assert m["mecpe_pair_f1"] == pytest.approx(2 * hits / (len(gold_keys) + len(pred_keys)))
    assert m["mecpe_pair_f1"] == pytest.approx(PINNED["mecpe_pair_f1"], abs=1e-12)


PINNED = {
    "mecpe_cat_weighted_f1": 0.7652647962501631,
    "mecpe_cat_weighted_f1_4": 0.7768396961812274,
    "mecpe_cat_micro_f1": 0.7626822157434403,
    "mecpe_pair_f1": 0.8423423423423423,  # = 2 * 1496 / (1873 + 1679)
}
