"""The README's results table, generated from ``benchmarks/results/*.json``.

Why a module of its own: the README shows a dozen headline numbers picked from several
result files (GPU sweeps, CPU runs, baselines). Typed by hand they drift from the JSON;
here each cell names the file, row and metrics it comes from, and ``table.py`` writes the
table between ``<!-- headline:start -->`` and ``<!-- headline:end -->`` of the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

START, END = "<!-- headline:start -->", "<!-- headline:end -->"


@dataclass(frozen=True)
class Cell:
    """Values of one or more result rows: ``file`` / ``name`` / ``dataset``, ``metrics``.

    Several rows (``names``) are joined by " and " per metric, several metrics by " / ".
    """

    file: str
    names: tuple[str, ...]
    dataset: str
    metrics: tuple[str, ...]
    label: str = ""  # e.g. "context classifier: "


@dataclass(frozen=True)
class Line:
    what: str
    ours: Cell | str
    baseline: Cell | str = ""
    reference: str = ""


R1, R2 = "gpu-sweep-round1.json", "gpu-sweep-round2.json"
# GPU rounds 12-13 (2026-12-04): per dataset, the configuration with the best 3-seed dev mean
# over all GPU rounds is shown (ECF 1.0: round 13; MELD: round 2; RECCON-DD: round 12), see
# docs/quality.md "Back on the GPU"; the baselines are round 12's (same machine and budget).
R12, R13 = "gpu-sweep-round12.json", "gpu-sweep-round13-ecf1.json"
AB12, AB13 = "ablations-gpu-ecf1-round12.json", "ablations-gpu-ecf1-round13.json"
AB = "ablations-cpu-ecf1-main-job.json"  # the main job's config, one change per row
CRE = "ablations-cpu-ecf1-cause-reads-emotion.json"  # the same with cause_reads_emotion
W, A, P, C = "merc_weighted_f1", "merc_accuracy", "mecpe_pair_f1", "mecpe_cat_weighted_f1"
SS, SP = "semeval_st1_strict_weighted_f1", "semeval_st1_proportional_weighted_f1"
LINES: tuple[Line, ...] = (
    Line(
        "ECF 1.0 emotion weighted F1",
        Cell(R13, ("unimeec",), "ecf1", (W,)),
        Cell(R12, ("baseline-context-classifier",), "ecf1", (W,), "context classifier: "),
        "fine-tuned MiniLM classifier: about 57.5",
    ),
    Line(
        "ECF 1.0 pair F1, end to end",
        Cell(R13, ("unimeec",), "ecf1", (P,)),
        Cell(
            R12,
            ("baseline-rule-on-classifier-emotions",),
            "ecf1",
            (P,),
            "rule on classifier emotions: ",
        ),
        "rule on fine-tuned MiniLM emotions: about 49.7; two-step BERT text+audio: 53.5",
    ),
    Line(
        "ECF 1.0 MECPE-Cat weighted F1",
        Cell(R13, ("unimeec",), "ecf1", (C,)),
        Cell(
            R12,
            ("baseline-rule-on-classifier-emotions",),
            "ecf1",
            (C,),
            "rule on classifier emotions: ",
        ),
        "none given",
    ),
    Line(
        "ECF 1.0 pair F1, causes for the **gold** emotions",
        Cell(R13, ("unimeec-gold-emotions",), "ecf1", (P,)),
        Cell(
            "quality-cpu-rule.json",
            ("baseline-rule-gold-emotions",),
            "ecf1",
            (P,),
            'rule "self + previous": ',
        ),
        "rule: 64.5",
    ),
    Line(
        "MELD weighted F1 / accuracy",
        Cell(R2, ("unimeec",), "meld", (W, A)),
        Cell(R12, ("baseline-context-classifier",), "meld", (W, A), "context classifier: "),
        "fine-tuned MiniLM about 60.0; frozen MiniLM + logistic regression about 53.9; "
        "UniMEEC paper 68.96 (large backbones); RoBERTa-large 67; 7-8B LLMs about 70",
    ),
    Line(
        "RECCON-DD pair F1 (cause task, gold emotions)",
        Cell(R12, ("unimeec",), "reccon", (P,)),
        Cell("quality-cpu-rule.json", ("baseline-rule-gold-emotions",), "reccon", (P,), "rule: "),
        "none given",
    ),
    Line(
        "the paper's claims on the GPU (5 epochs, seeds 0-2, the ECF configuration above): "
        "emotion w-F1, joint against emotion-only training",
        Cell(AB13, ("unimeec",), "ecf1", (W,), "joint: "),
        Cell(AB13, ("unimeec-emotion-only",), "ecf1", (W,), "emotion-only: "),
        "paper: joint > emotion-only",
    ),
    Line(
        "the same: pair F1 for the gold emotions, joint against cause-only training",
        Cell(AB13, ("unimeec-gold-emotions",), "ecf1", (P,), "joint: "),
        Cell(AB13, ("unimeec-cause-only-gold-emotions",), "ecf1", (P,), "cause-only: "),
        "paper: joint > cause-only",
    ),
    Line(
        "the same: THC on against THC off, emotion w-F1 / pair F1",
        Cell(AB13, ("unimeec",), "ecf1", (W, P), "THC on: "),
        Cell(AB13, ("unimeec-no-thc",), "ecf1", (W, P), "THC off: "),
        "paper: THC on > off",
    ),
    Line(
        "the three claims on the GPU with round 12's configuration (conversation scope, "
        "lower on dev): emotion w-F1 joint / emotion-only; gold-emotion pair F1 joint / "
        "cause-only; emotion w-F1 THC on / off",
        Cell(
            AB12,
            ("unimeec", "unimeec-gold-emotions", "unimeec"),
            "ecf1",
            (W, P, W),
            "joint, joint, THC on: ",
        ),
        Cell(
            AB12,
            ("unimeec-emotion-only", "unimeec-cause-only-gold-emotions", "unimeec-no-thc"),
            "ecf1",
            (W, P, W),
            "emotion-only, cause-only, THC off: ",
        ),
        "paper: all three hold",
    ),
    Line(
        "same budget on 2 CPU cores (1 epoch, seed 0): ECF 1.0 emotion w-F1 / pair F1",
        Cell("quality-cpu-ecf1-1epoch-readout.json", ("unimeec",), "ecf1", (W, P)),
        Cell(
            "quality-cpu-ecf1-1epoch-baselines.json",
            ("baseline-context-classifier", "baseline-rule-on-classifier-emotions"),
            "ecf1",
            (W, P),
            "classifier / rule on it: ",
        ),
    ),
    Line(
        "same budget on 2 CPU cores (1 epoch, seed 0): MELD emotion w-F1",
        Cell("quality-cpu-meld-1epoch-readout.json", ("unimeec",), "meld", (W,)),
        Cell(
            "quality-cpu-meld-1epoch-baselines.json",
            ("baseline-context-classifier",),
            "meld",
            (W,),
            "classifier: ",
        ),
    ),
    Line(
        "the main job, 2 CPU cores, 13 minutes: emotion w-F1 / pair F1",
        Cell(
            "quality-cpu-ecf1-main-job.json",
            ("unimeec-main-job",),
            "ecf1",
            (W, P),
            "as shipped (2 epochs, uncertainty loss weights, weight average over epoch 2), "
            "seeds 42, 0, 1: ",
        ),
        Cell(
            "quality-cpu-ecf1-main-job.json",
            ("unimeec-main-job-round5",),
            "ecf1",
            (W, P),
            "the config before (no weight average), seeds 42, 0, 1: ",
        ),
        "target of issue 16: 57 / 52",
    ),
    Line(
        "the paper's claims at the main job's budget (2 CPU cores, seeds 42, 0, 1): "
        "emotion w-F1, joint against emotion-only training",
        Cell(AB, ("unimeec",), "ecf1", (W,), "joint: "),
        Cell(AB, ("unimeec-emotion-only",), "ecf1", (W,), "emotion-only: "),
        "paper: joint > emotion-only",
    ),
    Line(
        "the same: pair F1 for the gold emotions, joint against cause-only training",
        Cell(AB, ("unimeec-gold-emotions",), "ecf1", (P,), "joint: "),
        Cell(AB, ("unimeec-cause-only-gold-emotions",), "ecf1", (P,), "cause-only: "),
        "paper: joint > cause-only",
    ),
    Line(
        "the same: THC on against THC off, emotion w-F1 / pair F1",
        Cell(AB, ("unimeec",), "ecf1", (W, P), "THC on: "),
        Cell(AB, ("unimeec-no-thc",), "ecf1", (W, P), "THC off: "),
        "paper: THC on > off",
    ),
    Line(
        "the same with the pair scorer reading the emotion (`model.cause_reads_emotion=true`, "
        "round 11; not in the main job): pair F1 for the gold emotions, joint against "
        "cause-only training",
        Cell(CRE, ("unimeec-cause-reads-emotion-gold-emotions",), "ecf1", (P,), "joint: "),
        Cell(
            CRE,
            ("unimeec-cause-reads-emotion-cause-only-gold-emotions",),
            "ecf1",
            (P,),
            "cause-only: ",
        ),
        "paper: joint > cause-only",
    ),
    Line(
        "the main job distilled from a 1-epoch all-mpnet-base-v2 teacher (`distill.weight=0.5`; "
        "+31 min for the teacher, +12 min for its pass once): emotion w-F1 / pair F1",
        Cell(
            "quality-cpu-ecf1-round7.json",
            ("unimeec-distill-mpnet-weight-0.5",),
            "ecf1",
            (W, P),
            "seeds 42, 0, 1: ",
        ),
        Cell(
            "quality-cpu-ecf1-main-job.json",
            ("unimeec-main-job-round5",),
            "ecf1",
            (W, P),
            "its main job (no weight average), seeds 42, 0, 1: ",
        ),
        "dev joint F1 -0.1 over the same seeds: not shipped",
    ),
    Line(
        "offline all-mpnet-base-v2 (110M), 1 CPU epoch, seed 42: ECF 1.0 emotion w-F1 / pair F1",
        Cell("quality-cpu-mpnet-1epoch-ecf1.json", ("unimeec-mpnet",), "ecf1", (W, P)),
        Cell(
            "quality-cpu-ecf1-round5.json",
            ("unimeec-tune-uncertainty",),
            "ecf1",
            (W, P),
            "UniMEEC on MiniLM, same config and seed: ",
        ),
        "target of issue 16 (GPU, 3 seeds): 63 / 58",
    ),
    Line(
        "offline all-mpnet-base-v2 (110M), 1 CPU epoch, seed 42: MELD emotion w-F1",
        Cell("quality-cpu-mpnet-1epoch-meld.json", ("unimeec-mpnet",), "meld", (W,)),
        Cell(
            "quality-cpu-meld-1epoch-baselines.json",
            ("baseline-context-classifier",),
            "meld",
            (W,),
            "MiniLM classifier, 1 CPU epoch, seed 0: ",
        ),
        "target of issue 16 (GPU, 3 seeds): 65",
    ),
    Line(
        "SemEval-2024 subtask 1 cause spans, **dev** hold-out (no public test labels), "
        "1 CPU epoch, seeds 0-2: strict / proportional weighted F1",
        Cell(
            "spans-cpu-1epoch-3seeds.json", ("span-model",), "semeval2024", (SS, SP), "span head: "
        ),
        Cell(
            "spans-cpu-1epoch-3seeds.json",
            ("baseline-trimmed-utterance",),
            "semeval2024",
            (SS, SP),
            "same pairs, whole utterance less punctuation: ",
        ),
        "2nd place of the task (official test set, 7B+ LLM pipelines): 10.4 / 26.4",
    ),
    Line(
        "long dialogues (ECF 1.0 joined into 40-61 utterances), 1 CPU epoch: emotion w-F1 / pair F1",
        Cell(
            "quality-cpu-ecf1-long-chunked.json",
            ("unimeec-long-chunked",),
            "ecf1",
            (W, P),
            "24-utterance training chunks: ",
        ),
        Cell(
            "quality-cpu-ecf1-long-whole.json",
            ("unimeec-long-whole",),
            "ecf1",
            (W, P),
            "whole dialogues: ",
        ),
    ),
)


def _find(rows: Sequence[dict[str, Any]], file: str, name: str, dataset: str) -> dict[str, Any]:
    for row in rows:
        if row["_file"] == file and row["name"] == name and row["dataset"] == dataset:
            return row
    raise SystemExit(f"headline table: no row {name!r} ({dataset}) in results/{file}")


def _value(row: dict[str, Any], metric: str) -> str:
    text = f"{100 * row['metrics'][metric]:.1f}"
    std = row.get("metrics_std", {}).get(metric)
    return text + (f" ± {100 * std:.1f}" if std and len(row.get("seeds", [])) > 1 else "")


def _values(rows: Sequence[dict[str, Any]], cell: Cell) -> list[tuple[str, float]]:
    """(shown text, value) per value of the cell, in order."""
    found = [_find(rows, cell.file, name, cell.dataset) for name in cell.names]
    if len(found) > 1:  # several systems: one metric each, "a / b"
        pairs = list(zip(found, cell.metrics))
    else:
        pairs = [(found[0], m) for m in cell.metrics]
    return [(_value(row, m), float(row["metrics"][m])) for row, m in pairs]


def _cell(rows: Sequence[dict[str, Any]], cell: Cell | str, other: Cell | str = "") -> str:
    """The cell's text; a value is bold where it beats the same metric of ``other``."""
    if isinstance(cell, str):
        return cell
    values = _values(rows, cell)
    rivals = (
        _values(rows, other)
        if isinstance(other, Cell)
        and other.metrics == cell.metrics
        and len(other.names) == len(cell.names) == 1
        else []
    )
    shown = [
        f"**{text}**" if rivals and value > rivals[k][1] else text
        for k, (text, value) in enumerate(values)
    ]
    return cell.label + " / ".join(shown)


def render_headline(rows: Sequence[dict[str, Any]]) -> str:
    """The Markdown table; each value that beats the other column's same metric is bold."""
    lines = [
        "| what | UniMEEC (ours) | baselines, same code base, same budget | published reference (METHOD.md section 8) |",
        "|---|---|---|---|",
    ]
    for line in LINES:
        cells = [
            line.what,
            _cell(rows, line.ours, line.baseline),
            _cell(rows, line.baseline, line.ours),
            line.reference,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def replace_between(text: str, start: str, end: str, body: str, where: str) -> str:
    """``text`` with the part between the two markers replaced by ``body``."""
    if start not in text or end not in text:
        raise SystemExit(f"{where}: markers {start} / {end} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"
