"""Metrics that match the official MERC / MECPE / SemEval-2024 Task 3 scorers.

- :func:`evaluate` (a flat ``{metric: fraction}`` dict) and :func:`evaluate_report` (the
  report behind ``unimeec evaluate``, with bootstrap intervals and the paired test);
- :class:`ConversationMetrics`, the same formulas as a ``torchmetrics.Metric`` for validation
  (imported lazily: ``unimeec evaluate --help`` must not load torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from unimeec.evaluation.bootstrap import (
    HEADLINE_METRICS,
    Interval,
    PairedTest,
    bootstrap_intervals,
    paired_bootstrap,
)
from unimeec.evaluation.counts import CountLayout, count_conversations
from unimeec.evaluation.formulas import metrics_from_counts
from unimeec.evaluation.report import EvaluationReport, evaluate, evaluate_report

if TYPE_CHECKING:
    from unimeec.evaluation.metric import ConversationMetrics

__all__ = [
    "HEADLINE_METRICS",
    "ConversationMetrics",
    "CountLayout",
    "EvaluationReport",
    "Interval",
    "PairedTest",
    "bootstrap_intervals",
    "count_conversations",
    "evaluate",
    "evaluate_report",
    "metrics_from_counts",
    "paired_bootstrap",
]


def __getattr__(name: str) -> Any:
    if name == "ConversationMetrics":
        from unimeec.evaluation.metric import ConversationMetrics

        return ConversationMetrics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
