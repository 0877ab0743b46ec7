"""Bootstrap intervals and the paired test resample whole conversations, reproducibly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from unimeec.data.labels import ECF_EMOTIONS
from unimeec.data.schema import Conversation
from unimeec.evaluation import (
    CountLayout,
    bootstrap_intervals,
    count_conversations,
    evaluate,
    evaluate_report,
    paired_bootstrap,
)
from unimeec.evaluation.bootstrap import resample_weights

SystemFactory = Callable[..., tuple[list[Conversation], list[Conversation]]]


def test_intervals_equal_evaluating_explicitly_resampled_conversations(
    synthetic_system: SystemFactory,
) -> None:
    gold, pred = synthetic_system(1, 0.7, n=12)
    layout = CountLayout(ECF_EMOTIONS)
    rows = count_conversations(gold, pred, layout)
    intervals = bootstrap_intervals(rows, layout, n_resamples=20, seed=3, confidence=0.8)
    weights = resample_weights(len(gold), 20, seed=3)
    values: dict[str, list[float]] = {name: [] for name in intervals}
    for multiplicity in weights:
        # each resample as a conversation list, copies renamed so ids stay unique
        g_copies, p_copies = [], []
        for g, p, times in zip(gold, pred, multiplicity):
            for k in range(times):
                g_copies.append(replace(g, id=f"{g.id}#{k}"))
                p_copies.append(replace(p, id=f"{p.id}#{k}"))
        m = evaluate(g_copies, p_copies)
        for name, column in values.items():
            column.append(m[name])
    point = evaluate(gold, pred)
    assert set(intervals) == {
        "merc_accuracy",
        "merc_weighted_f1",
        "merc_macro_f1",
        "mecpe_pair_f1",
        "mecpe_cat_weighted_f1",
        "mecpe_cat_weighted_f1_4",
        "mecpe_cat_micro_f1",
    }
    for name, interval in intervals.items():
        assert interval.estimate == pytest.approx(point[name])
        assert interval.low == pytest.approx(np.percentile(values[name], 10))
        assert interval.high == pytest.approx(np.percentile(values[name], 90))
        assert interval.low <= interval.high


def test_bootstrap_is_seeded(synthetic_system: SystemFactory) -> None:
    gold, pred = synthetic_system(2, 0.6)
    layout = CountLayout(ECF_EMOTIONS)
    rows = count_conversations(gold, pred, layout)
    first = bootstrap_intervals(rows, layout, n_resamples=200, seed=11)
    again = bootstrap_intervals(rows, layout, n_resamples=200, seed=11)
    other = bootstrap_intervals(rows, layout, n_resamples=200, seed=12)
    assert first == again
    assert first != other
    for interval in first.values():
        assert interval.low <= interval.estimate <= interval.high
        assert 0 < interval.high - interval.low < 0.5


def test_paired_test_of_a_system_against_itself(synthetic_system: SystemFactory) -> None:
    gold, pred = synthetic_system(3, 0.6)
    layout = CountLayout(ECF_EMOTIONS)
    rows = count_conversations(gold, pred, layout)
    tests = paired_bootstrap(rows, rows, layout, n_resamples=100, seed=0)
    for test in tests.values():
        # no difference in any resample: interval [0, 0], every resample as extreme: p = 1
        assert (test.difference, test.low, test.high, test.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_test_detects_a_clearly_better_system(synthetic_system: SystemFactory) -> None:
    gold, weak = synthetic_system(4, 0.3)
    _, strong = synthetic_system(4, 0.9)
    report = evaluate_report(gold, strong, compare=weak, bootstrap=300, seed=5)
    test = report.comparison["mecpe_pair_f1"]
    assert test.difference == pytest.approx(
        report.metrics["mecpe_pair_f1"] - report.comparison_metrics["mecpe_pair_f1"]
    )
    assert test.difference > 0.2 and test.low > 0
    assert test.p_value < 0.01  # the smallest possible with 300 resamples is 1/301
    table = report.format_table()
    header = table.split("\n")[3].split()
    assert header[:3] == ["metric", "A", "(%)"] and header[-1] == "p"
    row = next(line for line in table.split("\n") if line.startswith("mecpe_pair_f1 "))
    assert row.split()[-1] == f"{test.p_value:.4f}"


def test_resample_weights_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="at least one bootstrap resample"):
        resample_weights(3, 0, seed=0)
    with pytest.raises(ValueError, match="zero conversations"):
        resample_weights(0, 5, seed=0)
    weights = resample_weights(7, 50, seed=0)
    assert weights.shape == (50, 7) and (weights.sum(axis=1) == 7).all()
