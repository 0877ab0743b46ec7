"""Every metric formula, written once, as a function of summed counts (see ``counts.py``).

Conventions: a ratio with a zero denominator is 0 (the official scorers add 1e-8 to every
denominator, which gives the same numbers to about 1e-8); all values are fractions in [0, 1].
A metric family appears only when it is defined: MERC when gold utterances carry emotions and
the prediction gives at least one; MECPE when some gold conversation has cause labels; the
SemEval-2024 subtask-1 span metrics when some gold pair carries a span.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from unimeec.evaluation.counts import CountLayout

#: Mean of emotion weighted F1 and pair F1 (reported when both tasks are scored).
JOINT_SCORE = "joint_f1"


def joint_f1(metrics: Mapping[str, float]) -> float | None:
    """Mean of ``merc_weighted_f1`` and ``mecpe_pair_f1``; None unless both are present.

    One number for "good at both tasks": the default model selection of joint runs.
    """
    if "merc_weighted_f1" not in metrics or "mecpe_pair_f1" not in metrics:
        return None
    return (float(metrics["merc_weighted_f1"]) + float(metrics["mecpe_pair_f1"])) / 2


def safe_divide(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """Elementwise ``numerator / denominator`` with 0 where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def precision_recall_f1(
    tp: np.ndarray | float, n_pred: np.ndarray | float, n_gold: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and their harmonic mean, elementwise."""
    precision = safe_divide(tp, n_pred)
    recall = safe_divide(tp, n_gold)
    return precision, recall, safe_divide(2 * precision * recall, precision + recall)


def merc_metrics(confusion: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    """Accuracy, weighted/macro F1 and per-class P/R/F1 from a ``[n, n + 1]`` confusion matrix.

    Rows are gold classes, columns predicted classes plus a last "no prediction" column (a
    gold utterance the prediction left unlabelled counts as wrong). Weighted F1 weights each
    class by its gold support and macro F1 averages the classes that occur in gold or
    predictions, exactly as ``sklearn.metrics.f1_score(average=...)`` does with those labels.
    """
    n = len(labels)
    support = confusion.sum(axis=1)
    predicted = confusion[:, :n].sum(axis=0)
    tp = np.diag(confusion[:, :n])
    precision, recall, f1 = precision_recall_f1(tp, predicted, support)
    present = (support > 0) | (predicted > 0)
    total = support.sum()
    out = {
        "merc_accuracy": float(safe_divide(tp.sum(), total)),
        "merc_weighted_f1": float(safe_divide((f1 * support).sum(), total)),
        "merc_macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "merc_weighted_precision": float(safe_divide((precision * support).sum(), total)),
        "merc_weighted_recall": float(safe_divide((recall * support).sum(), total)),
    }
    for k, label in enumerate(labels):
        if present[k]:
            out[f"merc_precision_{label}"] = float(precision[k])
            out[f"merc_recall_{label}"] = float(recall[k])
            out[f"merc_f1_{label}"] = float(f1[k])
    return out


def weighted_and_micro(
    per_class: np.ndarray,
    weights: np.ndarray,
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Official SemEval/ECF averaging of per-emotion ``[tp, predicted, gold]`` rows.

    Weighted: per-emotion P, R and F1 averaged with weights ``weights / weights.sum()``.
    Micro: P, R, F1 of the summed rows.
    """
    tp, n_pred, n_gold = per_class[:, 0], per_class[:, 1], per_class[:, 2]
    precision, recall, f1 = precision_recall_f1(tp, n_pred, n_gold)
    total = weights.sum()
    # sum(w * x) / sum(w): exactly 1.0 when every x is 1 (a pre-normalised share can sum to
    # 0.9999999999999999)
    weighted = (
        float(safe_divide((precision * weights).sum(), total)),
        float(safe_divide((recall * weights).sum(), total)),
        float(safe_divide((f1 * weights).sum(), total)),
    )
    micro = precision_recall_f1(tp.sum(), n_pred.sum(), n_gold.sum())
    return weighted, (float(micro[0]), float(micro[1]), float(micro[2]))


def _prf_keys(
    prefix: str, values: tuple[float, float, float], suffix: str = ""
) -> dict[str, float]:
    return {
        f"{prefix}_{name}{suffix}": value
        for name, value in zip(("precision", "recall", "f1"), values, strict=True)
    }


def mecpe_metrics(counts: np.ndarray, layout: CountLayout) -> dict[str, float]:
    """Pair, emotion-utterance, cause-utterance and MECPE-Cat figures (SemEval subtask 2)."""
    out: dict[str, float] = {}
    for name, key in (
        ("pairs", "mecpe_pair"),
        ("emotion_utterances", "mecpe_emotion"),
        ("cause_utterances", "mecpe_cause"),
    ):
        tp, n_pred, n_gold = layout.view(counts, name)
        out.update(_prf_keys(key, tuple(float(v) for v in precision_recall_f1(tp, n_pred, n_gold))))
    cat = layout.view(counts, "cat").astype(np.float64)
    weighted, micro = weighted_and_micro(cat, cat[:, 2])
    out.update(_prf_keys("mecpe_cat_weighted", weighted))
    out.update(_prf_keys("mecpe_cat_micro", micro))
    main = layout.main_emotions
    if main is not None:
        rows = [layout.cause_emotions.index(e) for e in main]
        weighted4, _ = weighted_and_micro(cat[rows], cat[rows, 2])
        out.update(_prf_keys("mecpe_cat_weighted", weighted4, suffix="_4"))
    precision, recall, f1 = precision_recall_f1(cat[:, 0], cat[:, 1], cat[:, 2])
    for k, emotion in enumerate(layout.cause_emotions):
        if cat[k, 1] or cat[k, 2]:
            out.update(
                _prf_keys(
                    "mecpe_cat",
                    (float(precision[k]), float(recall[k]), float(f1[k])),
                    suffix=f"_{emotion}",
                )
            )
    return out


def span_metrics(counts: np.ndarray, layout: CountLayout) -> dict[str, float]:
    """SemEval-2024 subtask 1: strict and proportional span P/R/F1, weighted and micro.

    Both weight each emotion by its number of (de-duplicated) gold span pairs.
    """
    out: dict[str, float] = {}
    strict = layout.view(counts, "span_strict").astype(np.float64)
    weighted, micro = weighted_and_micro(strict, strict[:, 2])
    out.update(_prf_keys("semeval_st1_strict_weighted", weighted))
    out.update(_prf_keys("semeval_st1_strict_micro", micro))
    prop = layout.view(counts, "span_proportional").astype(np.float64)
    # columns: overlap, gold length, predicted length, gold span count
    rows = np.stack([prop[:, 0], prop[:, 2], prop[:, 1]], axis=1)
    weighted, micro = weighted_and_micro(rows, prop[:, 3])
    out.update(_prf_keys("semeval_st1_proportional_weighted", weighted))
    out.update(_prf_keys("semeval_st1_proportional_micro", micro))
    return out


def metrics_from_counts(counts: np.ndarray, layout: CountLayout) -> dict[str, float]:
    """All defined metrics of a summed count vector (see the module docstring)."""
    out: dict[str, float] = {}
    confusion = layout.view(counts, "merc_confusion")
    if confusion.sum() > 0 and layout.scalar(counts, "pred_emotions") > 0:
        out.update(merc_metrics(confusion, layout.labels))
    if layout.scalar(counts, "cause_conversations") > 0:
        out.update(mecpe_metrics(counts, layout))
        if layout.scalar(counts, "gold_pairs_with_span") > 0:
            out.update(span_metrics(counts, layout))
    joint = joint_f1(out)
    if joint is not None:
        out[JOINT_SCORE] = joint
    return out
