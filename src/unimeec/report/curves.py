"""The data behind two evaluation plots: emotion-cause distances, and pair P/R/F1 against the
cause threshold.

The threshold curve is read from the pair scores in the prediction file. Pairs the model
scored below its decoding threshold were never written, so the curve starts at the lowest
score present: at that point it keeps every written pair and equals the evaluation page's
pair precision / recall / F1; raising the threshold drops pairs. The P/R/F1 formulas are the
evaluation's own (:func:`unimeec.evaluation.formulas.precision_recall_f1`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unimeec.evaluation.formulas import precision_recall_f1
from unimeec.report.view import ConversationView


def distance_counts(views: Sequence[ConversationView]) -> tuple[Counter[int], Counter[int]]:
    """Emotion index minus cause index over distinct pairs: (gold, predicted) counts."""
    gold: Counter[int] = Counter()
    predicted: Counter[int] = Counter()
    for view in views:
        for arrow in view.arrows:
            if arrow.status in ("correct", "missed"):
                gold[arrow.distance] += 1
            if arrow.status in ("correct", "spurious", "predicted"):
                predicted[arrow.distance] += 1
    return gold, predicted


@dataclass(frozen=True)
class ThresholdCurve:
    """Pair precision, recall and F1 when only pairs scored ``>= thresholds[k]`` are kept."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    gold_pairs: int

    @property
    def best(self) -> int:
        """Index of the highest F1 (the lowest threshold among ties)."""
        return int(np.argmax(self.f1))

    def to_dict(self) -> dict[str, object]:
        return {
            "thresholds": self.thresholds.tolist(),
            "precision": self.precision.tolist(),
            "recall": self.recall.tolist(),
            "f1": self.f1.tolist(),
            "gold_pairs": self.gold_pairs,
        }


def threshold_curve(views: Sequence[ConversationView]) -> ThresholdCurve | None:
    """The curve over the judged pairs of ``views``; None when no judged pair has a score
    or some predicted pair lacks one (a rule's output, say: there is no threshold to move)."""
    scores, correct = [], []
    gold_pairs = 0
    for view in views:
        for arrow in view.arrows:
            if arrow.status in ("correct", "missed"):
                gold_pairs += 1
            if arrow.status in ("correct", "spurious"):
                if arrow.score is None:
                    return None
                scores.append(arrow.score)
                correct.append(arrow.status == "correct")
    if not scores:
        return None
    order = np.argsort(-np.asarray(scores), kind="stable")
    ranked = np.asarray(scores)[order]
    hits = np.cumsum(np.asarray(correct)[order])
    # keeping pairs with score >= t: the last position of each distinct score
    last = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    thresholds = ranked[last][::-1]
    kept = (last + 1)[::-1]
    tp = hits[last][::-1]
    precision, recall, f1 = precision_recall_f1(tp, kept, gold_pairs)
    return ThresholdCurve(thresholds, precision, recall, f1, gold_pairs)
