"""The plain fine-tuning baseline learns, selects on dev, and returns clean predictions."""

from __future__ import annotations

import time

import pytest

from unimeec import Conversation, EmotionCausePair, Utterance


def _conversations() -> list[Conversation]:
    convs = []
    for c in range(2):
        utts = [
            Utterance(
                k,
                "AB"[k % 2],
                "yay great wonderful" if k % 2 else "the table is brown",
                "joy" if k % 2 else "neutral",
            )
            for k in range(1, 9)
        ]
        convs.append(
            Conversation(f"c{c}", utts, pairs=[EmotionCausePair(3, 3, "joy")], dataset="ecf1")
        )
    return convs


def test_classifier_learns_a_separable_task_and_keeps_the_best_dev_epoch(tiny_backbone):
    import torch

    from unimeec.baselines.context_classifier import (
        ContextClassifierConfig,
        fit_context_classifier,
        predict_emotions,
    )

    torch.set_num_threads(1)
    data = _conversations()
    config = ContextClassifierConfig(
        backbone=tiny_backbone,
        epochs=12,
        batch_size=8,
        learning_rate=3e-3,
        warmup_ratio=0.0,
        dropout=0.0,
    )
    started = time.perf_counter()
    result = fit_context_classifier(data, data, config)
    elapsed = time.perf_counter() - started
    assert result.config.labels == (
        "neutral",
        "anger",
        "disgust",
        "fear",
        "joy",
        "sadness",
        "surprise",
    )
    assert len(result.history) == 12
    assert result.best_dev_weighted_f1 == max(h["dev_merc_weighted_f1"] for h in result.history)
    assert result.best_dev_weighted_f1 == 1.0
    # 12 epochs over 16 utterances, timed inside the call: at least 192 / (the call's time)
    assert result.train_utterances_per_second >= 12 * 16 / elapsed
    pred = predict_emotions(result.model, result.tokenizer, data, result.config)
    assert [u.emotion for u in pred[0].utterances] == [u.emotion for u in data[0].utterances]
    assert pred[0].pairs == [] and data[0].pair_set() == {(3, 3)}
    scores = pred[1].utterances[1].emotion_scores
    assert scores is not None and sum(scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_max_steps_stops_training_early(tiny_backbone):
    from unimeec.baselines.context_classifier import ContextClassifierConfig, fit_context_classifier

    config = ContextClassifierConfig(backbone=tiny_backbone, epochs=5, batch_size=4, max_steps=3)
    result = fit_context_classifier(_conversations(), _conversations(), config)
    assert [h["steps"] for h in result.history] == [3]


def test_length_grouped_order_is_a_permutation_of_similar_length_batches():
    import torch

    from unimeec.baselines.context_classifier import length_grouped_order

    lengths = [5, 50, 6, 51, 7, 52, 8, 53]
    order = length_grouped_order(lengths, 2, torch.Generator().manual_seed(0), group=4)
    assert sorted(order) == list(range(8))
    batches = [sorted(lengths[k] for k in order[i : i + 2]) for i in range(0, 8, 2)]
    assert sorted(batches) == [[5, 6], [7, 8], [50, 51], [52, 53]]
