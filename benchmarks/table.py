"""Render ``benchmarks/results/*.json`` as the Markdown tables of ``benchmarks/README.md``.

The README's numbers are never typed by hand: this rewrites the part of the README between
``<!-- results:start -->`` and ``<!-- results:end -->`` from the JSON rows (or prints it with
``--print``). Metrics that are fractions are shown as percentages with one decimal. Speed
rows say in their name what varies (``-overhead-b16``: 16 conversations per step;
``-compiled``: THC and heads compiled); a speed column no row fills is left out.

    python benchmarks/table.py            # update benchmarks/README.md
    python benchmarks/table.py --print    # show the tables only
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bench_common as bc
from headline import END as HEADLINE_END
from headline import START as HEADLINE_START
from headline import render_headline, replace_between

from unimeec.evaluation.formulas import joint_f1

START, END = "<!-- results:start -->", "<!-- results:end -->"
QUALITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("merc_weighted_f1", "emotion w-F1"),
    ("merc_accuracy", "emotion acc"),
    ("mecpe_pair_precision", "pair P"),
    ("mecpe_pair_recall", "pair R"),
    ("mecpe_pair_f1", "pair F1"),
    ("mecpe_cat_weighted_f1", "Cat w-F1"),
)
SPEED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("train_utterances_per_s", "train utt/s", "{:.1f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
    ("peak_cuda_mib", "peak GPU MiB", "{:.0f}"),
    ("overhead_ratio", "overhead ratio", "{:.2f}"),
    ("compile_warmup_s", "compile + warm-up s", "{:.1f}"),
    ("latency_p50_ms", "latency p50 ms", "{:.1f}"),
    ("latency_p95_ms", "latency p95 ms", "{:.1f}"),
    ("latency_p99_ms", "latency p99 ms", "{:.1f}"),
    ("requests_per_s", "req/s", "{:.1f}"),
    ("errors", "errors", "{:.0f}"),
    ("throughput_b1_conversations_per_s", "conv/s b1", "{:.1f}"),
    ("throughput_b32_conversations_per_s", "conv/s b32", "{:.1f}"),
)


def load_rows(directory: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for row in data if isinstance(data, list) else [data]:
            if isinstance(row, dict) and {"name", "split", "metrics"} <= set(row):
                row["_file"] = path.name  # other JSON (e.g. a GPU run's summary) is skipped
                rows.append(row)
    return rows


def machine_label(machine: str) -> str:
    """A short label: the GPU, or the CPU core count plus "shared" when it was."""
    gpu = re.search(r"GPU ([^;]+)", machine)
    if gpu:
        return gpu.group(1).replace("NVIDIA ", "")
    cores = re.search(r"(\d+) cores", machine)
    label = f"{cores.group(1)}-core CPU" if cores else "CPU"
    return label + (" (shared)" if "shared" in machine else "")


def _pct(row: dict[str, Any], key: str) -> str:
    value = row["metrics"].get(key)
    if value is None:
        return ""
    std = row.get("metrics_std", {}).get(key)
    text = f"{100 * value:.1f}"
    return text + (f" ± {100 * std:.1f}" if std and len(row.get("seeds", [])) > 1 else "")


def _run_columns(row: dict[str, Any]) -> list[str]:
    seeds = ",".join(str(s) for s in row.get("seeds", [])) or "n/a"
    return [
        machine_label(row["machine"]),
        row["date"][:16].replace("T", " "),
        seeds,
        f"`{row['command']}`",
    ]


def quality_table(rows: Iterable[dict[str, Any]]) -> str:
    head = [
        "system",
        "dataset",
        *(label for _, label in QUALITY_COLUMNS),
        "machine",
        "date (UTC)",
        "seeds",
        "command",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [
            row["name"],
            row["dataset"],
            *(_pct(row, k) for k, _ in QUALITY_COLUMNS),
            *_run_columns(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Columns of the checkpoint-integrity table (benchmarks/checkpoint_load.py).
CHECKPOINT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("directory_mib", "model dir MiB", "{:.1f}"),
    ("verify_s", "SHA-256 check s", "{:.3f}"),
    ("load_s", "whole load s", "{:.3f}"),
)
CHECKPOINT_ROW = "unimeec-checkpoint-load"
#: Columns of the span-cause table (benchmarks/spans.py; fractions shown as percentages).
SPAN_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("semeval_st1_strict_weighted_f1", "strict w-F1", "{:.1%}"),
    ("semeval_st1_proportional_weighted_f1", "proportional w-F1", "{:.1%}"),
    ("semeval_st1_strict_micro_f1", "strict micro F1", "{:.1%}"),
    ("semeval_st1_proportional_micro_f1", "proportional micro F1", "{:.1%}"),
    ("mecpe_pair_f1", "pair F1", "{:.1%}"),
    ("merc_weighted_f1", "emotion w-F1", "{:.1%}"),
)
#: Columns of the gradient-conflict table (benchmarks/gradient_conflict.py).
GRADIENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("backbone_cosine", "encoder cosine", "{:+.3f}"),
    ("backbone_cosine_std", "encoder cosine std", "{:.3f}"),
    ("backbone_conflict_share", "encoder batches in conflict", "{:.0%}"),
    ("backbone_cause_to_emotion_norm", "encoder norm cause/emotion", "{:.3f}"),
    ("context_cosine", "THC cosine", "{:+.3f}"),
    ("context_cause_to_emotion_norm", "THC norm cause/emotion", "{:.3f}"),
)
#: Columns of the neutral-bias check on dev halves (benchmarks/neutral_bias_cv.py).
NEUTRAL_BIAS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("delta_merc_weighted_f1", "held-out change emotion w-F1", "{:+.2%}"),
    ("delta_mecpe_pair_f1", "held-out change pair F1", "{:+.2%}"),
    ("delta_joint_f1", "held-out change joint F1", "{:+.2%}"),
    ("delta_joint_f1_min", "smallest joint change", "{:+.2%}"),
)
#: Columns of the report-building table (benchmarks/report_speed.py).
REPORT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("conversations", "conversations", "{:.0f}"),
    ("wall_s_median", "wall s (median)", "{:.1f}"),
    ("wall_s_max", "wall s (max)", "{:.1f}"),
    ("cpu_s_median", "CPU s (median)", "{:.1f}"),
    ("conversations_per_s", "conv/s", "{:.1f}"),
    ("site_mib", "site MiB", "{:.1f}"),
)


def speed_table(
    rows: Iterable[dict[str, Any]], all_columns: tuple[tuple[str, str, str], ...] = SPEED_COLUMNS
) -> str:
    rows = list(rows)
    columns = [c for c in all_columns if any(c[0] in r["metrics"] for r in rows)]
    head = [
        "measurement",
        *(label for _, label, _ in columns),
        "machine",
        "date (UTC)",
        "seeds",
        "command",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["name"]]
        for key, _, fmt in columns:
            value = row["metrics"].get(key)
            cells.append(fmt.format(value) if value is not None else "")
        lines.append("| " + " | ".join(cells + _run_columns(row)) + " |")
    return "\n".join(lines)


DATASET_ORDER = {"ecf1": 0, "meld": 1, "reccon": 2}
DATASET_TITLES = {"ecf1": "ECF 1.0", "meld": "MELD", "reccon": "RECCON-DD"}
#: Tuning sets with both tasks, chosen by dev joint F1 (the others by their one task's F1).
TUNING_JOINT = frozenset({"ecf1"})
TUNE_PREFIX = "unimeec-tune-"
#: Rows of the ablation table: the full model and one row per variant of ablations.py.
ABLATION_NAMES = frozenset(
    {
        "unimeec-full",
        "unimeec-no-thc",
        "unimeec-emotion-only",
        "unimeec-cause-only",
        "unimeec-utterance-scope",
        "unimeec-random-head",
        "unimeec-mask-readout",
    }
)


def _dev(row: dict[str, Any], key: str) -> str:
    training = row.get("training") or [{}]
    value = training[0].get("dev_metrics", {}).get(key)
    return "" if value is None else f"{100 * value:.1f}"


def tuning_table(rows: Iterable[dict[str, Any]], gold_rows: Iterable[dict[str, Any]] = ()) -> str:
    """One line per tuning variant: dev numbers (what selection read), then test.

    ``gold_rows``: the ``<name>-gold-emotions`` twins; their pair F1 (test, and dev when
    it was decoded for the gold emotions too: ``dev_emotions: gold``) joins the variant's line.
    """
    gold_twins = {(r["_file"], r["name"]): r for r in gold_rows}
    head = [
        "variant",
        "on top of",
        "dev joint",
        "dev emotion w-F1",
        "dev pair F1",
        "test emotion w-F1",
        "test pair F1",
        "test Cat w-F1",
        "dev pair F1, gold emotions",
        "test pair F1, gold emotions",
        "machine",
        "date (UTC)",
        "seeds",
        "command",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        joint = joint_f1((row.get("training") or [{}])[0].get("dev_metrics", {}))
        gold = gold_twins.get((row["_file"], row["name"] + "-gold-emotions"))
        variant = row["name"][len(TUNE_PREFIX) :]
        cells = [
            f"**{variant}** (chosen)" if row.get("selected") else variant,
            " ".join(f"`{o}`" for o in row.get("tuning_base", [])) or "the config file",
            "" if joint is None else f"{100 * joint:.1f}",
            _dev(row, "merc_weighted_f1"),
            _dev(row, "mecpe_pair_f1"),
            _pct(row, "merc_weighted_f1"),
            _pct(row, "mecpe_pair_f1"),
            _pct(row, "mecpe_cat_weighted_f1"),
            _dev(gold, "mecpe_pair_f1") if gold and gold.get("dev_emotions") == "gold" else "",
            _pct(gold, "mecpe_pair_f1") if gold else "",
            *_run_columns(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _quality_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Dataset, then UniMEEC rows before baselines, then file (GPU and CPU runs apart)."""
    return (
        DATASET_ORDER.get(row["dataset"], 9),
        row["dataset"],
        "baseline" in row["name"],
        row["_file"],
        not row["name"].endswith("-full"),
        row["name"],
    )


def render(rows: list[dict[str, Any]]) -> str:
    spans = [r for r in rows if SPAN_COLUMNS[0][0] in r["metrics"]]
    report = [r for r in rows if REPORT_COLUMNS[1][0] in r["metrics"]]
    gradients = [r for r in rows if GRADIENT_COLUMNS[0][0] in r["metrics"]]
    neutral = [r for r in rows if NEUTRAL_BIAS_COLUMNS[0][0] in r["metrics"]]
    special = (spans, report, gradients, neutral)
    rows = [r for r in rows if not any(r in group for group in special)]
    is_speed = [r for r in rows if r["split"] != "test" or "latency_p50_ms" in r["metrics"]]
    checkpoint = [r for r in is_speed if r["name"] == CHECKPOINT_ROW]
    speed = [r for r in is_speed if r["name"] not in ("unimeec-cost-vs-length", CHECKPOINT_ROW)]
    evaluated = [r for r in rows if r not in is_speed]
    tuning = sorted(
        (
            r
            for r in evaluated
            if r["name"].startswith(TUNE_PREFIX) and not r["name"].endswith("-gold-emotions")
        ),
        key=lambda r: (r["_file"], r["name"] != TUNE_PREFIX + "default", r["name"]),
    )
    tuning_gold = [
        r
        for r in evaluated
        if r["name"].startswith(TUNE_PREFIX) and r["name"].endswith("-gold-emotions")
    ]
    evaluated = [r for r in evaluated if not r["name"].startswith(TUNE_PREFIX)]

    def is_ablation(row: dict[str, Any]) -> bool:
        return row["_file"].startswith("ablations") or (
            row["_file"].startswith("gpu-sweep") and row["name"] in ABLATION_NAMES
        )

    ablations = sorted((r for r in evaluated if is_ablation(r)), key=_quality_key)
    quality = sorted((r for r in evaluated if not is_ablation(r)), key=_quality_key)
    parts = []
    if quality:
        parts += [
            "### Quality (test split, dev-selected; percentages)",
            "",
            quality_table(quality),
            "",
        ]
    for dataset in sorted({r["dataset"] for r in tuning}, key=lambda d: DATASET_ORDER.get(d, 9)):
        criterion = (
            "dev joint = mean of dev emotion w-F1 and dev pair F1"
            if dataset in TUNING_JOINT
            else "the dataset's one dev F1"
        )
        parts += [
            (
                f"### Tuning on {DATASET_TITLES.get(dataset, dataset)} (chosen by {criterion}; "
                "test shown, never read for selection; percentages)"
            ),
            "",
            tuning_table([r for r in tuning if r["dataset"] == dataset], tuning_gold),
            "",
        ]
    if ablations:
        parts += [
            "### Ablations (ECF 1.0 test, dev-selected; percentages)",
            "",
            quality_table(ablations),
            "",
        ]
    if speed:
        parts += [
            "### Speed and memory (text only, ECF 1.0 conversations)",
            "",
            speed_table(speed),
            "",
        ]
    if checkpoint:
        parts += [
            "### Checkpoint integrity check (MiniLM-sized model directory)",
            "",
            speed_table(checkpoint, CHECKPOINT_COLUMNS),
            "",
        ]
    if spans:
        parts += [
            (
                "### Span causes (SemEval-2024 Task 3 subtask 1, hash hold-out dev of "
                "Subtask_1_train; percentages)"
            ),
            "",
            speed_table(spans, SPAN_COLUMNS),
            "",
        ]
    if gradients:
        parts += [
            (
                "### Emotion-loss against cause-loss gradients on the shared weights "
                "(ECF 1.0 training batches)"
            ),
            "",
            speed_table(gradients, GRADIENT_COLUMNS),
            "",
        ]
    if neutral:
        parts += [
            (
                "### Choosing the neutral bias: change on the dev half it was not tuned on "
                "(the dev split of each row's dataset; percentage points)"
            ),
            "",
            (
                "`neutral-bias-cv`: tau alone -> bias and tau on joint F1 (shipped); "
                "`split-bias-cv`: the shipped bias -> separate biases for emotion labels and "
                "pairs; `prior-bias-cv`: the shipped bias -> corrected to the training "
                "split's neutral share (`benchmarks/neutral_bias_cv.py --variant`). Rows on "
                "MELD (emotion-only models): bias 0 -> the bias chosen on emotion w-F1."
            ),
            "",
            speed_table(neutral, NEUTRAL_BIAS_COLUMNS),
            "",
        ]
    if report:
        parts += [
            "### Building the visual report (`unimeec report`)",
            "",
            speed_table(report, REPORT_COLUMNS),
            "",
        ]
    plots = sorted({r["plot"] for r in rows if r.get("plot")})
    for plot in plots:
        name = Path(plot).name
        parts += [f"![cost vs conversation length](results/{name})", ""]
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=bc.RESULTS_DIR)
    parser.add_argument("--readme", type=Path, default=bc.REPO / "benchmarks" / "README.md")
    parser.add_argument("--print", action="store_true", help="print instead of updating")
    parser.add_argument("--front-readme", type=Path, default=bc.REPO / "README.md")
    args = parser.parse_args(argv)
    rows = load_rows(args.results)
    text = render(rows)
    if args.print:
        print(text)
        print(render_headline(rows))
        return 0
    readme = args.readme.read_text(encoding="utf-8")
    args.readme.write_text(
        replace_between(readme, START, END, text, str(args.readme)), encoding="utf-8"
    )
    front = args.front_readme.read_text(encoding="utf-8")
    args.front_readme.write_text(
        replace_between(front, HEADLINE_START, HEADLINE_END, render_headline(rows), "README.md"),
        encoding="utf-8",
    )
    print(f"updated {args.readme} and {args.front_readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
