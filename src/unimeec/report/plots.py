"""The evaluation page's figures, drawn with matplotlib and saved as PNG and SVG.

Each function takes plain numbers (no conversations), returns nothing and writes
``<name>.png`` and ``<name>.svg`` under ``directory``; SVGs are written reproducibly (no
date, fixed ids) so a rerun on the same input gives the same files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unimeec.report.curves import ThresholdCurve

#: Colours of gold vs predicted, and of precision / recall / F1.
GOLD_COLOUR = "#6b7280"
PRED_COLOUR = "#2563eb"
PRF_COLOURS = ("#2563eb", "#d97706", "#15803d")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "unimeec-report"
    plt.rcParams["font.size"] = 9
    return plt


def _save(fig: Any, directory: Path, name: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    fig.savefig(paths[0], dpi=120, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _pyplot().close(fig)
    return paths


def confusion_plot(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], directory: Path, name: str = "confusion"
) -> list[Path]:
    """Gold (rows) x predicted (columns, then "none"); colour is the row share, text the count."""
    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    columns = [*labels, "none"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(columns), 0.8 + 0.55 * len(labels)))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for r in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            ax.text(
                c,
                r,
                f"{int(counts[r, c])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[r, c] > 0.55 else "#111111",
            )
    ax.set_xticks(range(len(columns)), columns, rotation=40, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted emotion")
    ax.set_ylabel("gold emotion")
    ax.set_title("Emotion confusion matrix (colour: share of the gold row)")
    return _save(fig, directory, name)


def per_class_f1_plot(
    groups: Mapping[str, Mapping[str, float]],
    colours: Mapping[str, str],
    directory: Path,
    name: str = "per_class_f1",
) -> list[Path]:
    """One panel per metric family (e.g. MERC F1, MECPE-Cat F1), one bar per class, in %."""
    plt = _pyplot()
    groups = {title: values for title, values in groups.items() if values}
    fig, axes = plt.subplots(
        1, max(len(groups), 1), squeeze=False, figsize=(4.2 * max(len(groups), 1), 3.0)
    )
    for ax, (title, values) in zip(axes[0], groups.items()):
        names = list(values)
        heights = [100 * values[n] for n in names]
        bars = ax.bar(
            names,
            heights,
            color=[colours.get(n, PRED_COLOUR) for n in names],
            edgecolor="#333333",
            linewidth=0.5,
        )
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        ax.set_ylim(0, 105)
        ax.set_ylabel("F1 (%)")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=40)
    return _save(fig, directory, name)


def distance_plot(
    gold: Counter[int], predicted: Counter[int], directory: Path, name: str = "distance"
) -> list[Path]:
    """Side-by-side bars of emotion-minus-cause distances, gold vs predicted (share of pairs)."""
    plt = _pyplot()
    keys = sorted(set(gold) | set(predicted)) or [0]
    x = np.arange(keys[0], keys[-1] + 1)
    fig, ax = plt.subplots(figsize=(max(4.5, 0.32 * len(x) + 2), 3.0))
    for offset, (label, counts, colour) in zip(
        (-0.2, 0.2),
        (
            (f"gold ({sum(gold.values())} pairs)", gold, GOLD_COLOUR),
            (f"predicted ({sum(predicted.values())} pairs)", predicted, PRED_COLOUR),
        ),
    ):
        total = max(sum(counts.values()), 1)
        ax.bar(
            x + offset,
            [100 * counts.get(int(k), 0) / total for k in x],
            width=0.4,
            label=label,
            color=colour,
        )
    ax.set_xticks(x)
    ax.set_xlabel("emotion utterance index - cause utterance index")
    ax.set_ylabel("share of pairs (%)")
    ax.set_title("Emotion-cause distance")
    ax.legend(frameon=False)
    return _save(fig, directory, name)


def threshold_plot(curve: ThresholdCurve, directory: Path, name: str = "threshold") -> list[Path]:
    """Pair precision, recall and F1 (%) against the cause threshold, best F1 marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for values, label, colour in zip(
        (curve.precision, curve.recall, curve.f1), ("precision", "recall", "F1"), PRF_COLOURS
    ):
        ax.step(curve.thresholds, 100 * values, where="post", label=label, color=colour)
    best = curve.best
    ax.plot([curve.thresholds[best]], [100 * curve.f1[best]], "o", color=PRF_COLOURS[2])
    ax.annotate(
        f"best F1 {100 * curve.f1[best]:.1f} at {curve.thresholds[best]:.3g}",
        (curve.thresholds[best], 100 * curve.f1[best]),
        textcoords="offset points",
        xytext=(6, 6),
        fontsize=8,
    )
    ax.set_xlabel("cause threshold (keep pairs with score >= threshold)")
    ax.set_ylabel("pair metric (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Pair precision / recall / F1 vs threshold")
    ax.legend(frameon=False)
    return _save(fig, directory, name)
