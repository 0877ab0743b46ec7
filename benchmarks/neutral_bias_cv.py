"""Does tuning a neutral bias with tau help on dev conversations it was not tuned on?

``decoding.tune_neutral_bias`` chooses a neutral-logit offset together with the cause
threshold on dev. Whether to ship it was decided here, **on dev only**: each trained model's
dev conversations are split in two halves (even and odd positions in the dev file); on one
half the decoding is tuned as training does (``unimeec.training.run.pick_threshold`` for
tau alone, ``pick_decoding`` for bias and tau on ``joint_f1``), and both choices are scored
on the other half; then the halves swap. One row per model and fold, plus their mean: the
held-out change of emotion weighted F1, pair F1 and joint F1. The test split is never read.

    python benchmarks/neutral_bias_cv.py runs/a runs/b --out benchmarks/results/neutral-bias-cv.json
"""

from __future__ import annotations

import argparse
import logging
import statistics
from pathlib import Path
from typing import Any

import bench_common as bc

log = logging.getLogger("benchmarks.neutral_bias_cv")
METRICS = ("merc_weighted_f1", "mecpe_pair_f1", "joint_f1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="trained ECF 1.0 joint runs")
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--dataset", default="ecf1")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N dev conversations")
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "neutral-bias-cv.json")
    return parser


def forward_once(model: Any, processor: Any, conversations: list[Any]) -> list[tuple[Any, Any]]:
    """(output, batch) per batch of single conversations, so any subset can be decoded."""
    import torch

    outputs = []
    with torch.inference_mode():
        for conversation in conversations:
            batch = processor([conversation])
            outputs.append((model(**batch), batch))
    return outputs


def score(
    model: Any, outputs: list[tuple[Any, Any]], positions: list[int], bias: float, tau: float
) -> dict[str, float]:
    from unimeec.evaluation import evaluate

    gold, pred = [], []
    for k in positions:
        out, batch = outputs[k]
        gold += batch["conversations"]
        pred += model.decode(out, batch, threshold=tau, neutral_bias=bias)
    return evaluate(gold, pred)


def main(argv: list[str] | None = None) -> int:
    from unimeec.checkpoint import load_model_and_processor
    from unimeec.data import load_dataset
    from unimeec.training.config import DecodingConfig
    from unimeec.training.run import pick_decoding, pick_threshold

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bc.set_cpu_threads(args.threads)
    grid = DecodingConfig()
    taus, biases = grid.threshold_grid, grid.neutral_bias_grid
    dev = load_dataset(args.dataset, "dev", data_dir=args.data_dir)[: args.limit]
    halves = [list(range(0, len(dev), 2)), list(range(1, len(dev), 2))]
    machine = bc.machine_description(args.machine_note)
    rows: list[dict[str, Any]] = []
    deltas: dict[str, list[float]] = {m: [] for m in METRICS}
    for run in args.runs:
        model, processor = load_model_and_processor(run)
        model.eval()
        outputs = forward_once(model, processor, dev)
        for fold, (tune, held) in enumerate((halves, halves[::-1])):
            log.info("%s fold %d: tuning on %d dev conversations", run, fold, len(tune))
            table = {(b, t): score(model, outputs, tune, b, t) for b in biases for t in taus}
            tau_only = pick_threshold({t: table[(0.0, t)]["mecpe_pair_f1"] for t in taus}, taus)
            bias, tau = pick_decoding({c: m["joint_f1"] for c, m in table.items()})
            before = score(model, outputs, held, 0.0, tau_only)
            after = score(model, outputs, held, bias, tau)
            change = {f"delta_{m}": after[m] - before[m] for m in METRICS}
            for m in METRICS:
                deltas[m].append(change[f"delta_{m}"])
            rows.append(
                bc.result_record(
                    f"neutral-bias-cv-{Path(run).name}-fold{fold}",
                    args.dataset,
                    "dev",
                    {**change, **{f"held_out_{m}_before": before[m] for m in METRICS}},
                    [],
                    bc.command_line(argv),
                    machine,
                    run=str(run),
                    chosen={"neutral_bias": bias, "cause_threshold": tau},
                    threshold_alone=tau_only,
                    tuned_on=len(tune),
                    held_out=len(held),
                )
            )
    summary = {f"delta_{m}": statistics.fmean(v) for m, v in deltas.items()}
    summary.update({f"delta_{m}_min": min(v) for m, v in deltas.items()})
    rows.append(
        bc.result_record(
            "neutral-bias-cv-mean",
            args.dataset,
            "dev",
            summary,
            [],
            bc.command_line(argv),
            machine,
            folds=len(deltas["joint_f1"]),
        )
    )
    path = bc.write_results(rows, args.out)
    for row in rows:
        shown = {k: round(100 * v, 2) for k, v in row["metrics"].items() if k.startswith("delta")}
        print(row["name"], row.get("chosen", ""), shown)
    print(f"wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
