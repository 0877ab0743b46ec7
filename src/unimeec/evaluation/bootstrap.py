"""Bootstrap confidence intervals and the paired bootstrap test, resampling conversations.

Conversations, not utterances or pairs, are the independent units (pairs of one conversation
share its context), so we resample whole conversations with replacement. Each resample is a
vector of multiplicities; the resampled counts are that vector times the per-conversation count
matrix, and the metrics are the same formulas as the point estimate (``formulas.py``).

The paired test (Koehn 2004; Berg-Kirkpatrick et al. 2012) applies the *same* resamples to both
systems. Its p-value is two-sided: the share of resampled differences that lie at least as far
from the observed difference as the observed difference lies from zero (the bootstrap
distribution centred on the null), with the usual +1 correction so it is never exactly 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from unimeec.evaluation.counts import CountLayout
from unimeec.evaluation.formulas import metrics_from_counts

#: Metrics that get intervals by default (those that are defined for the data).
HEADLINE_METRICS: tuple[str, ...] = (
    "merc_accuracy",
    "merc_weighted_f1",
    "merc_macro_f1",
    "mecpe_pair_f1",
    "mecpe_cat_weighted_f1",
    "mecpe_cat_weighted_f1_4",
    "mecpe_cat_micro_f1",
    "semeval_st1_strict_weighted_f1",
    "semeval_st1_proportional_weighted_f1",
)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class PairedTest:
    """System A minus system B: the observed difference, its interval and the p-value."""

    difference: float
    low: float
    high: float
    p_value: float


def resample_weights(n_conversations: int, n_resamples: int, seed: int) -> np.ndarray:
    """``[n_resamples, n_conversations]`` multiplicities of conversations, seeded."""
    if n_resamples < 1:
        raise ValueError(f"need at least one bootstrap resample, got {n_resamples}")
    if n_conversations < 1:
        raise ValueError("cannot bootstrap over zero conversations")
    rng = np.random.default_rng(seed)
    uniform = np.full(n_conversations, 1.0 / n_conversations)
    return rng.multinomial(n_conversations, uniform, size=n_resamples)


def _resampled_metrics(
    rows: np.ndarray, weights: np.ndarray, layout: CountLayout, names: Sequence[str], desc: str
) -> np.ndarray:
    """``[n_resamples, len(names)]`` metric values (NaN where a resample leaves one undefined)."""
    totals = weights @ rows
    values = np.full((len(totals), len(names)), np.nan)
    for b, total in enumerate(tqdm(totals, desc=desc, leave=False, disable=len(totals) < 200)):
        metrics = metrics_from_counts(total, layout)
        for k, name in enumerate(names):
            values[b, k] = metrics.get(name, np.nan)
    return values


def _bounds(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = (1 - confidence) / 2 * 100
    return (np.nanpercentile(values, tail, axis=0), np.nanpercentile(values, 100 - tail, axis=0))


def bootstrap_intervals(
    rows: np.ndarray,
    layout: CountLayout,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
) -> dict[str, Interval]:
    """Percentile intervals of ``metrics`` (default: the defined headline metrics).

    ``rows``: one count row per conversation (``count_conversations``).
    """
    point = metrics_from_counts(rows.sum(axis=0), layout)
    names = [m for m in (metrics or HEADLINE_METRICS) if m in point]
    if not names:
        return {}
    weights = resample_weights(len(rows), n_resamples, seed)
    values = _resampled_metrics(rows, weights, layout, names, "bootstrap")
    low, high = _bounds(values, confidence)
    return {
        name: Interval(point[name], float(low[k]), float(high[k])) for k, name in enumerate(names)
    }


def paired_bootstrap(
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    layout: CountLayout,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
) -> dict[str, PairedTest]:
    """Paired bootstrap test of system A against system B on the same gold conversations.

    ``rows_a`` and ``rows_b`` must hold the same conversations in the same order.
    """
    if rows_a.shape != rows_b.shape:
        raise ValueError(
            f"the two systems' count matrices differ in shape: {rows_a.shape} vs {rows_b.shape}"
        )
    point_a = metrics_from_counts(rows_a.sum(axis=0), layout)
    point_b = metrics_from_counts(rows_b.sum(axis=0), layout)
    names = [m for m in (metrics or HEADLINE_METRICS) if m in point_a and m in point_b]
    if not names:
        return {}
    weights = resample_weights(len(rows_a), n_resamples, seed)
    diffs = _resampled_metrics(
        rows_a, weights, layout, names, "paired bootstrap (A)"
    ) - _resampled_metrics(rows_b, weights, layout, names, "paired bootstrap (B)")
    low, high = _bounds(diffs, confidence)
    out = {}
    for k, name in enumerate(names):
        observed = point_a[name] - point_b[name]
        column = diffs[:, k][~np.isnan(diffs[:, k])]
        extreme = int(np.sum(np.abs(column - observed) >= abs(observed) - 1e-12))
        out[name] = PairedTest(
            observed, float(low[k]), float(high[k]), (extreme + 1) / (len(column) + 1)
        )
    return out
