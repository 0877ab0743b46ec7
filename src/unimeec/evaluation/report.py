"""``evaluate`` (a flat dict of metrics) and the richer report behind ``unimeec evaluate``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from unimeec.data.schema import Conversation
from unimeec.evaluation.bootstrap import (
    Interval,
    PairedTest,
    bootstrap_intervals,
    paired_bootstrap,
)
from unimeec.evaluation.counts import CountLayout, align, count_conversations, infer_labels
from unimeec.evaluation.formulas import metrics_from_counts


def make_layout(gold: Sequence[Conversation], labels: Sequence[str] | None = None) -> CountLayout:
    """The count layout for ``labels`` (default: the gold conversations' label set)."""
    return CountLayout(tuple(labels) if labels is not None else infer_labels(gold))


def evaluate(
    gold: Sequence[Conversation], pred: Sequence[Conversation], labels: Sequence[str] | None = None
) -> dict[str, float]:
    """Every defined metric of ``pred`` against ``gold``, as ``{name: fraction}``.

    Conversations are matched by id; a gold conversation without a prediction counts as
    predicting nothing; a predicted id or utterance index the gold data lacks raises
    :class:`~unimeec.errors.DataFormatError`. Names and definitions: README, "Evaluation".
    """
    layout = make_layout(gold, labels)
    return metrics_from_counts(count_conversations(gold, pred, layout).sum(axis=0), layout)


@dataclass
class EvaluationReport:
    """All figures of one evaluation, printable (:meth:`format_table`) and JSON-able."""

    metrics: dict[str, float]
    labels: tuple[str, ...]
    cause_emotions: tuple[str, ...]
    counts: dict[str, int]
    missing_conversations: list[str]
    #: Rows: gold labels; columns: predicted labels, then "no prediction". None without MERC.
    confusion_matrix: list[list[int]] | None = None
    #: MECPE-Cat ``[true positives, predicted, gold]`` per emotion. None without cause labels.
    cat_counts: dict[str, list[int]] | None = None
    intervals: dict[str, Interval] = field(default_factory=dict)
    comparison: dict[str, PairedTest] = field(default_factory=dict)
    comparison_metrics: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = list(self.labels)
        out["cause_emotions"] = list(self.cause_emotions)
        return out

    def format_table(self) -> str:
        """A plain-text report: headline table (with intervals / comparison), then per class."""
        lines = [
            f"conversations: {self.counts['conversations']}  "
            f"without prediction: {self.counts['missing']}"
            + (
                f" ({', '.join(self.missing_conversations[:10])}"
                f"{', ...' if len(self.missing_conversations) > 10 else ''})"
                if self.missing_conversations
                else ""
            )
        ]
        if self.counts.get("cause_conversations"):
            lines.append(
                f"utterance pairs gold: {self.counts['gold_pairs']}  predicted: "
                f"{self.counts['pred_pairs']}  exact duplicate pairs removed "
                f"(gold/pred): {self.counts['gold_duplicates']}/"
                f"{self.counts['pred_duplicates']}"
            )
        if self.counts.get("unlocated_gold_spans"):
            lines.append(
                f"gold span texts not found in their utterance (scored as [0, 0), as "
                f"the official scorer does): {self.counts['unlocated_gold_spans']}"
            )
        headline = [name for name in TABLE_ORDER if name in self.metrics]
        level = f"{self.settings.get('confidence', 0.95):.0%} CI"
        header = ["metric", "A (%)" if self.comparison_metrics else "value (%)"]
        if self.intervals:
            header.append(level)
        if self.comparison_metrics:
            header += ["B (%)", "A - B"]
        if self.comparison:
            header += [f"A - B {level}", "p"]
        rows = []
        for name in headline:
            row = [name, f"{100 * self.metrics[name]:.2f}"]
            if self.intervals:
                ci = self.intervals.get(name)
                row.append(f"[{100 * ci.low:.2f}, {100 * ci.high:.2f}]" if ci else "")
            if self.comparison_metrics:
                other = self.comparison_metrics.get(name)
                row += (
                    ["", ""]
                    if other is None
                    else [f"{100 * other:.2f}", f"{100 * (self.metrics[name] - other):+.2f}"]
                )
            if self.comparison:
                test = self.comparison.get(name)
                row += (
                    ["", ""]
                    if test is None
                    else [f"[{100 * test.low:+.2f}, {100 * test.high:+.2f}]", f"{test.p_value:.4f}"]
                )
            rows.append(row)
        lines += ["", *_render(header, rows)]
        merc = [lab for lab in self.labels if f"merc_f1_{lab}" in self.metrics]
        if merc:
            lines += [
                "",
                "MERC per class",
                *_render(
                    ["class", "P (%)", "R (%)", "F1 (%)", "support"],
                    [
                        [lab]
                        + [
                            f"{100 * self.metrics[f'merc_{m}_{lab}']:.2f}"
                            for m in ("precision", "recall", "f1")
                        ]
                        + [
                            str(sum(self.confusion_matrix[self.labels.index(lab)]))
                            if self.confusion_matrix
                            else ""
                        ]
                        for lab in merc
                    ],
                ),
            ]
        cat = [e for e in self.cause_emotions if f"mecpe_cat_f1_{e}" in self.metrics]
        if cat and self.cat_counts:
            lines += [
                "",
                "MECPE-Cat per emotion",
                *_render(
                    ["emotion", "P (%)", "R (%)", "F1 (%)", "gold pairs"],
                    [
                        [e]
                        + [
                            f"{100 * self.metrics[f'mecpe_cat_{m}_{e}']:.2f}"
                            for m in ("precision", "recall", "f1")
                        ]
                        + [str(self.cat_counts[e][2])]
                        for e in cat
                    ],
                ),
            ]
        return "\n".join(lines)


#: Order of the headline table here and in the report page (undefined metrics are skipped).
TABLE_ORDER: tuple[str, ...] = (
    "merc_accuracy",
    "merc_weighted_f1",
    "merc_macro_f1",
    "mecpe_pair_precision",
    "mecpe_pair_recall",
    "mecpe_pair_f1",
    "mecpe_emotion_f1",
    "mecpe_cause_f1",
    "mecpe_cat_weighted_f1",
    "mecpe_cat_weighted_f1_4",
    "mecpe_cat_micro_f1",
    "semeval_st1_strict_weighted_f1",
    "semeval_st1_strict_micro_f1",
    "semeval_st1_proportional_weighted_f1",
    "semeval_st1_proportional_micro_f1",
)


def _render(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
    return [
        line.rstrip()
        for line in (
            fmt.format(*header),
            fmt.format(*("-" * w for w in widths)),
            *(fmt.format(*r) for r in rows),
        )
    ]


def evaluate_report(
    gold: Sequence[Conversation],
    pred: Sequence[Conversation],
    *,
    compare: Sequence[Conversation] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    labels: Sequence[str] | None = None,
) -> EvaluationReport:
    """Evaluate ``pred`` (system A) and optionally test it against ``compare`` (system B).

    ``bootstrap``: number of resamples for confidence intervals and the paired test; with
    ``compare`` and ``bootstrap == 0`` only the two systems' figures are reported.
    """
    layout = make_layout(gold, labels)
    rows = count_conversations(gold, pred, layout)
    total = rows.sum(axis=0)
    report = EvaluationReport(
        metrics=metrics_from_counts(total, layout),
        labels=layout.labels,
        cause_emotions=layout.cause_emotions,
        counts=_summary_counts(total, layout),
        missing_conversations=[g.id for g, p in align(gold, pred) if p is None],
        settings={"bootstrap": bootstrap, "seed": seed, "confidence": confidence},
    )
    if "merc_accuracy" in report.metrics:
        report.confusion_matrix = layout.view(total, "merc_confusion").tolist()
    if report.counts["cause_conversations"]:
        cat = layout.view(total, "cat")
        report.cat_counts = {e: cat[k].tolist() for k, e in enumerate(layout.cause_emotions)}
    if bootstrap and len(rows):
        report.intervals = bootstrap_intervals(
            rows, layout, n_resamples=bootstrap, seed=seed, confidence=confidence
        )
    if compare is not None:
        rows_b = count_conversations(gold, compare, layout)
        report.comparison_metrics = metrics_from_counts(rows_b.sum(axis=0), layout)
        if bootstrap and len(rows):
            report.comparison = paired_bootstrap(
                rows, rows_b, layout, n_resamples=bootstrap, seed=seed, confidence=confidence
            )
    return report


def _summary_counts(total: np.ndarray, layout: CountLayout) -> dict[str, int]:
    pairs = layout.view(total, "pairs")
    return {
        "conversations": layout.scalar(total, "conversations"),
        "missing": layout.scalar(total, "missing"),
        "cause_conversations": layout.scalar(total, "cause_conversations"),
        "gold_utterances_with_emotion": int(layout.view(total, "merc_confusion").sum()),
        "utterances_with_predicted_emotion": layout.scalar(total, "pred_emotions"),
        "gold_pairs": int(pairs[2]),
        "pred_pairs": int(pairs[1]),
        "gold_duplicates": layout.scalar(total, "gold_duplicates"),
        "pred_duplicates": layout.scalar(total, "pred_duplicates"),
        "gold_pairs_with_span": layout.scalar(total, "gold_pairs_with_span"),
        "unlocated_gold_spans": layout.scalar(total, "unlocated_gold_spans"),
    }
