"""The threshold curve and the distance counts, by hand and against the evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from unimeec.evaluation import evaluate
from unimeec.report.curves import distance_counts, threshold_curve
from unimeec.report.view import Arrow, ConversationView, UtteranceRow, build_view

ROWS = tuple(UtteranceRow(k, "A", "x", None, None, None, "plain") for k in range(1, 5))


def _view(*arrows: Arrow) -> ConversationView:
    return ConversationView("c", ROWS, arrows, judged=True, has_prediction=True)


VIEWS = [
    _view(
        Arrow(1, 1, "correct", 0.9, "joy"),
        Arrow(2, 1, "spurious", 0.8, "joy"),
        Arrow(4, 3, "missed", None, "anger"),
    ),
    _view(
        Arrow(3, 3, "correct", 0.6, "joy"),
        Arrow(4, 2, "spurious", 0.6, "joy"),
        Arrow(4, 4, "missed", None, "joy"),
    ),
]


def test_threshold_curve_by_hand() -> None:
    curve = threshold_curve(VIEWS)
    assert curve is not None and curve.gold_pairs == 4
    assert curve.thresholds.tolist() == [0.6, 0.8, 0.9]
    # kept / true positives: 4 / 2, 2 / 1, 1 / 1 of 4 gold pairs
    np.testing.assert_allclose(curve.precision, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(curve.recall, [0.5, 0.25, 0.25])
    np.testing.assert_allclose(curve.f1, [0.5, 1 / 3, 0.4])
    assert curve.best == 0


def test_no_curve_without_scores() -> None:
    assert threshold_curve([_view(Arrow(1, 1, "correct", None, "joy"))]) is None
    assert threshold_curve([_view(Arrow(1, 1, "predicted", 0.7, "joy"))]) is None


def test_distance_counts_by_hand() -> None:
    gold, predicted = distance_counts(VIEWS)
    assert gold == {0: 3, 1: 1}  # (1,1) (4,3) (3,3) (4,4)
    assert predicted == {0: 2, 1: 1, 2: 1}  # (1,1) (2,1) (3,3) (4,2)


def test_curve_starts_at_the_evaluated_pair_metrics(ecf_test, predictions) -> None:
    views = [build_view(p, g) for g, p in zip(ecf_test, predictions, strict=True)]
    curve = threshold_curve(views)
    metrics = evaluate(ecf_test, predictions)
    assert curve is not None and curve.gold_pairs == 1873  # ECF 1.0 test pairs
    assert curve.precision[0] == pytest.approx(metrics["mecpe_pair_precision"], abs=1e-12)
    assert curve.recall[0] == pytest.approx(metrics["mecpe_pair_recall"], abs=1e-12)
    assert curve.f1[0] == pytest.approx(metrics["mecpe_pair_f1"], abs=1e-12)
    assert np.all(np.diff(curve.thresholds) > 0) and np.all(np.diff(curve.recall) <= 0)
