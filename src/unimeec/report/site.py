"""Build the report site: conversation pages, the index and (with gold) the evaluation page.

The site is plain files linked by relative paths (one stylesheet, plots as PNG and SVG, the
index's search and sort as a small inline script), so it opens from ``file://`` on a machine
without network and can be copied or zipped as it is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError
from unimeec.evaluation.report import TABLE_ORDER, evaluate_report
from unimeec.report.curves import distance_counts, threshold_curve
from unimeec.report.palette import ChipColours
from unimeec.report.render import (
    Chips,
    environment,
    labels_of,
    legend_html,
    page_geometry,
    require,
    stylesheet,
)
from unimeec.report.view import ConversationView, build_view

PAGES_DIR = "conversations"
PLOTS_DIR = "plots"
DEFAULT_TITLE = "unimeec report"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True)
class ReportSite:
    """What :func:`build_report` wrote: the index, one page per conversation id, the
    evaluation page (None without gold) and the views the pages show."""

    directory: Path
    index: Path
    pages: dict[str, Path]
    evaluation: Path | None
    views: tuple[ConversationView, ...]


def page_names(ids: Iterable[str]) -> dict[str, str]:
    """A file name per conversation id: the id itself when it is a safe name, else a slug with
    a hash of the id; names never collide, not even on case-insensitive file systems."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for cid in ids:
        digest = hashlib.blake2b(cid.encode("utf-8"), digest_size=4).hexdigest()
        name = (
            cid
            if _SAFE_NAME.fullmatch(cid)
            else f"{re.sub(r'[^A-Za-z0-9_-]+', '_', cid)[:60].strip('_') or 'conversation'}-{digest}"
        )
        if name.lower() in used:
            name = f"{name}-{digest}"
        used.add(name.lower())
        names[cid] = f"{name}.html"
    return names


def build_report(
    predictions: Sequence[Conversation],
    out_dir: str | Path,
    gold: Sequence[Conversation] | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    title: str = DEFAULT_TITLE,
    progress: bool | None = None,
) -> ReportSite:
    """Write the report of ``predictions`` (judged against ``gold`` when given) to ``out_dir``.

    With gold, there is a page for every gold conversation (one without a prediction shows
    its gold pairs as missed) and predictions may not name conversations or utterances gold
    lacks (:class:`~unimeec.errors.DataFormatError`). ``bootstrap`` resamples (seeded by
    ``seed``) give the metric intervals; 0 leaves them out. ``progress``: show a progress
    bar (default: for 64 conversations or more).
    """
    from tqdm.auto import tqdm

    from unimeec.predict import PROGRESS_MIN_CONVERSATIONS

    predictions = list(predictions)
    if not predictions:
        raise DataFormatError("no conversations to report")
    if gold is not None:
        require("matplotlib")  # before any page is written
    items = _judged_items(predictions, list(gold) if gold is not None else None)
    labels = _labels(predictions, gold)
    chip = Chips(labels)
    legend = legend_html(gold is not None, chip)
    out = Path(out_dir)
    (out / PAGES_DIR).mkdir(parents=True, exist_ok=True)
    (out / "assets").mkdir(exist_ok=True)
    (out / "assets" / "report.css").write_text(stylesheet(), encoding="utf-8")

    site = {"title": title, "judged": gold is not None}  # judged: there is an evaluation page
    env = environment()
    template = env.get_template("conversation.html.j2")
    names = page_names(cid for cid, _, _ in items)
    show = progress if progress is not None else len(items) >= PROGRESS_MIN_CONVERSATIONS
    views: list[ConversationView] = []
    pages: dict[str, Path] = {}
    for k, (cid, pred, truth) in enumerate(
        tqdm(items, desc="report", unit="conversation", disable=not show)
    ):
        view = build_view(pred, truth)
        path = out / PAGES_DIR / names[cid]
        html = template.render(
            site=site,
            root="../",
            view=view,
            page=page_geometry(view),
            chip=chip,
            legend=legend,
            previous=names[items[k - 1][0]] if k else None,
            next=names[items[k + 1][0]] if k + 1 < len(items) else None,
        )
        path.write_text(html, encoding="utf-8")
        views.append(view)
        pages[cid] = path

    totals = _totals(views)
    rows = [
        {
            "view": view,
            "href": f"{PAGES_DIR}/{names[view.id]}",
            "search": " ".join([view.id, *(f"{r.speaker} {r.text}" for r in view.rows)]).lower(),
        }
        for view in views
    ]
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(site=site, root="", rows=rows, totals=totals),
        encoding="utf-8",
    )
    evaluation = None
    if gold is not None:
        evaluation = _write_evaluation(
            out,
            list(gold),
            predictions,
            views,
            chip.colours,
            site,
            totals,
            bootstrap=bootstrap,
            seed=seed,
            confidence=confidence,
        )
    return ReportSite(out, index, pages, evaluation, tuple(views))


def _judged_items(
    predictions: list[Conversation],
    gold: list[Conversation] | None,
) -> list[tuple[str, Conversation | None, Conversation | None]]:
    """(id, prediction, gold) in gold order with gold, else in prediction order."""
    if gold is None:
        seen: set[str] = set()
        for conv in predictions:
            if conv.id in seen:
                raise DataFormatError(
                    "conversation id occurs twice", conversation=conv.id, field="id"
                )
            seen.add(conv.id)
        return [(conv.id, conv, None) for conv in predictions]
    from unimeec.evaluation.counts import align, validate_predictions
    from unimeec.evaluation.report import make_layout

    validate_predictions(gold, predictions, make_layout(gold))
    return [(g.id, p, g) for g, p in align(gold, predictions)]


def _labels(
    predictions: list[Conversation], gold: Sequence[Conversation] | None
) -> tuple[str, ...]:
    if gold is None:
        return labels_of(predictions)
    from unimeec.evaluation.report import make_layout

    return make_layout(gold).labels


def _totals(views: Sequence[ConversationView]) -> dict[str, int]:
    return {
        "utterances": sum(len(v.rows) for v in views),
        "predicted": sum(v.predicted_pairs for v in views),
        "correct": sum(v.count("correct") for v in views),
        "missed": sum(v.count("missed") for v in views),
        "spurious": sum(v.count("spurious") for v in views),
        "wrong_emotions": sum(v.count("wrong") for v in views),
        "unpredicted_emotions": sum(v.count("unpredicted") for v in views),
        "emotion_errors": sum(v.emotion_errors for v in views),
    }


def _write_evaluation(
    out: Path,
    gold: list[Conversation],
    predictions: list[Conversation],
    views: list[ConversationView],
    colours: ChipColours,
    site: dict[str, Any],
    totals: dict[str, int],
    *,
    bootstrap: int,
    seed: int,
    confidence: float,
) -> Path:
    """Metrics (with intervals), the four plots as PNG + SVG, evaluation.json and the page."""
    from unimeec.report import plots  # matplotlib: only when an evaluation page is drawn

    report = evaluate_report(
        gold, predictions, bootstrap=bootstrap, seed=seed, confidence=confidence
    )
    plot_dir = out / PLOTS_DIR
    figures: list[dict[str, Any]] = []
    notes: list[str] = []
    metrics = report.metrics
    if report.confusion_matrix is not None:
        plots.confusion_plot(report.confusion_matrix, report.labels, plot_dir)
        figures.append(
            {
                "name": "confusion",
                "title": "Emotion confusion matrix",
                "table": None,
                "caption": "Rows: gold emotions; columns: predicted emotions, then "
                "utterances the prediction left without an emotion (none).",
            }
        )
    merc = {lab: metrics[f"merc_f1_{lab}"] for lab in report.labels if f"merc_f1_{lab}" in metrics}
    cat = {
        e: metrics[f"mecpe_cat_f1_{e}"]
        for e in report.cause_emotions
        if f"mecpe_cat_f1_{e}" in metrics
    }
    if merc or cat:
        plots.per_class_f1_plot(
            {"emotion F1 (MERC)": merc, "pair F1 by emotion (MECPE-Cat)": cat},
            {lab: colours.background(lab) for lab in report.labels},
            plot_dir,
        )
        table = [["class", "MERC P (%)", "MERC R (%)", "MERC F1 (%)", "MECPE-Cat F1 (%)"]]
        for lab in report.labels:
            cells = [
                f"{100 * metrics[f'merc_{m}_{lab}']:.2f}" if f"merc_{m}_{lab}" in metrics else ""
                for m in ("precision", "recall", "f1")
            ]
            table.append([lab, *cells, f"{100 * cat[lab]:.2f}" if lab in cat else ""])
        figures.append(
            {
                "name": "per_class_f1",
                "title": "Per-class F1",
                "table": table,
                "caption": "Emotion recognition F1 per gold class, and MECPE-Cat pair "
                "F1 per emotion category.",
            }
        )
    gold_distances, pred_distances = distance_counts(views)
    curve = threshold_curve(views)
    if report.counts["cause_conversations"]:
        plots.distance_plot(gold_distances, pred_distances, plot_dir)
        figures.append(
            {
                "name": "distance",
                "title": "Emotion-cause distance",
                "table": None,
                "caption": "Emotion utterance index minus cause utterance index over "
                "distinct pairs (0: the utterance causes its own emotion).",
            }
        )
        if curve is not None:
            plots.threshold_plot(curve, plot_dir)
            best = curve.best
            figures.append(
                {
                    "name": "threshold",
                    "title": "Precision, recall and F1 vs cause threshold",
                    "table": None,
                    "caption": f"Pairs kept when their score is at least the threshold. Pairs "
                    f"scored below the model's decoding threshold are not in the prediction file, "
                    f"so the curve starts at the lowest score present ({curve.thresholds[0]:.3f}, "
                    f"where it equals the metrics above). Best F1 {100 * curve.f1[best]:.2f} at "
                    f"threshold {curve.thresholds[best]:.3f}.",
                }
            )
        else:
            notes.append("No threshold curve: some predicted pairs carry no score.")
    payload = report.to_dict()
    payload["marks"] = totals
    payload["distances"] = {
        "gold": dict(sorted(gold_distances.items())),
        "predicted": dict(sorted(pred_distances.items())),
    }
    payload["threshold_curve"] = curve.to_dict() if curve is not None else None
    (out / "evaluation.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    path = out / "evaluation.html"
    path.write_text(
        environment()
        .get_template("evaluation.html.j2")
        .render(
            site=site,
            root="",
            report=report,
            totals=totals,
            figures=figures,
            notes=notes,
            metric_names=[name for name in TABLE_ORDER if name in metrics],
        ),
        encoding="utf-8",
    )
    return path
