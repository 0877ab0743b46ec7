"""Quality benchmark: UniMEEC and the two baselines, dev-selected, test-reported.

For each dataset (ECF 1.0, MELD, RECCON-DD by default) and seed this trains

- ``unimeec``: the model, through the training pipeline (``unimeec train``'s code path);
- ``baseline-context-classifier``: plain fine-tuning of the same backbone per utterance;
- ``baseline-rule-on-classifier-emotions``: the self+previous cause rule on those emotions;
- ``baseline-rule-gold-emotions``: the rule on gold emotions (deterministic, no training);

and writes one JSON row per system and dataset (mean over seeds in ``metrics``, spread in
``metrics_std``, each seed in ``per_seed``) to ``--out``. The file is rewritten after every
row, so a run cut short keeps what it finished.

    python benchmarks/quality.py --datasets ecf1 meld reccon --seeds 0 1 2 --epochs 5
    python benchmarks/quality.py --smoke          # CI: tiny random backbone, a few steps
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_common as bc
from unimeec_runner import GOLD_EMOTIONS_NOTE

log = logging.getLogger("benchmarks.quality")

SYSTEMS = ("unimeec", "classifier", "rule")
#: Datasets whose gold pairs make the cause rule meaningful.
CAUSE_DATASETS = frozenset({"ecf1", "reccon", "semeval2024"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ecf1", "meld", "reccon"])
    parser.add_argument(
        "--systems",
        nargs="+",
        default=list(SYSTEMS),
        choices=SYSTEMS,
        help="run in this order (rows are written as each finishes)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="cap on optimiser steps per training run (smoke / budget runs)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="use only the first N conversations of each split (budget runs)",
    )
    parser.add_argument(
        "--long-dialogues",
        type=int,
        default=None,
        metavar="MIN",
        help="the stress set: join consecutive conversations of every split "
        "into dialogues of >= MIN utterances (unimeec.data.chunking)",
    )
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--backbone", default=None, help="HF name or path; default offline MiniLM")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--unimeec-override",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra overrides of the UniMEEC training config",
    )
    parser.add_argument(
        "--unimeec-name",
        default="unimeec",
        help="row name of the UniMEEC rows (e.g. a tuning variant's)",
    )
    parser.add_argument(
        "--machine-note",
        default=None,
        help="e.g. 'CPU shared with other jobs' (goes into the machine field)",
    )
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "quality.json")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where UniMEEC runs write checkpoints (default: a temp dir)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny random backbone, 4 conversations per split, 2 steps",
    )
    return parser


def load_splits(
    dataset: str, data_dir: Path, limit: int | None, long_min: int | None = None
) -> dict[str, list[Any]]:
    from unimeec.data import load_dataset
    from unimeec.data.chunking import long_dialogues

    splits = {}
    for split in ("train", "dev", "test"):
        conversations = load_dataset(dataset, split, data_dir=data_dir)
        if long_min is not None:
            conversations = long_dialogues(conversations, long_min)
        splits[split] = conversations[:limit] if limit else conversations
    return splits


class Recorder:
    """Collects rows and rewrites ``path`` after each one."""

    def __init__(self, path: Path, command: str, machine: str) -> None:
        self.path, self.command, self.machine = path, command, machine
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        dataset: str,
        per_seed: list[dict[str, float]],
        seeds: list[int],
        **extra: Any,
    ) -> dict[str, Any]:
        mean, std = bc.aggregate_seeds(per_seed)
        row = bc.result_record(
            name,
            dataset,
            "test",
            bc.headline(mean, dataset) or mean,
            seeds,
            self.command,
            self.machine,
            metrics_std=bc.headline(std, dataset),
            all_metrics=mean,
            per_seed=[bc.headline(m, dataset) for m in per_seed],
            **extra,
        )
        self.rows.append(row)
        bc.write_results(self.rows, self.path)
        log.info("%s on %s: %s", name, dataset, row["metrics"])
        return row


def run_rule_gold(dataset: str, splits: dict[str, list[Any]], rec: Recorder) -> None:
    from unimeec.baselines import apply_cause_rule
    from unimeec.evaluation import evaluate

    test = splits["test"]
    rec.add(
        "baseline-rule-gold-emotions",
        dataset,
        [evaluate(test, apply_cause_rule(test))],
        [],
        note="gold emotions; each emotion utterance caused by itself and the previous one",
    )


def run_classifier(
    dataset: str, splits: dict[str, list[Any]], args: argparse.Namespace, rec: Recorder
) -> None:
    from unimeec.baselines import apply_cause_rule
    from unimeec.baselines.context_classifier import (
        ContextClassifierConfig,
        config_dict,
        fit_context_classifier,
        predict_emotions,
    )
    from unimeec.evaluation import evaluate

    test = splits["test"]
    per_seed, per_seed_rule, fits = [], [], []
    for seed in args.seeds:
        config = ContextClassifierConfig(
            backbone=args.backbone,
            epochs=args.epochs,
            max_steps=args.max_steps,
            seed=seed,
            device=args.device,
            precision=args.precision,
        )
        started = time.perf_counter()
        fit = fit_context_classifier(splits["train"], splits["dev"], config)
        pred = predict_emotions(fit.model, fit.tokenizer, test, fit.config)
        # The classifier predicts no pairs: its row carries the emotion metrics only.
        per_seed.append({k: v for k, v in evaluate(test, pred).items() if k.startswith("merc_")})
        if dataset in CAUSE_DATASETS:
            per_seed_rule.append(evaluate(test, apply_cause_rule(pred)))
        fits.append(
            {
                "seed": seed,
                "best_epoch": fit.best_epoch,
                "dev_merc_weighted_f1": fit.best_dev_weighted_f1,
                "train_utterances_per_second": fit.train_utterances_per_second,
                "seconds": time.perf_counter() - started,
            }
        )
        config_used = config_dict(fit.config)
        del fit
    extra = {"training": fits, "config": config_used, "train_conversations": len(splits["train"])}
    rec.add("baseline-context-classifier", dataset, per_seed, args.seeds, **extra)
    if per_seed_rule:
        rec.add("baseline-rule-on-classifier-emotions", dataset, per_seed_rule, args.seeds, **extra)


def run_unimeec(
    dataset: str,
    splits: dict[str, list[Any]],
    args: argparse.Namespace,
    rec: Recorder,
    name: str = "unimeec",
    overrides: list[str] | None = None,
    gold_emotions: bool = True,
) -> None:
    """Train UniMEEC per seed with the training pipeline, evaluate the dev-selected model on test."""
    from unimeec_runner import train_and_test

    with_gold = gold_emotions and dataset in CAUSE_DATASETS
    per_seed, per_seed_gold, runs = [], [], []
    for seed in args.seeds:
        metrics, info, gold = train_and_test(
            dataset, seed, args, list(overrides or []), splits, gold_emotions=with_gold
        )
        per_seed.append(metrics)
        runs.append(info)
        if gold is not None:
            per_seed_gold.append(gold)
    rec.add(
        name, dataset, per_seed, args.seeds, training=runs, train_conversations=len(splits["train"])
    )
    if per_seed_gold:
        rec.add(
            f"{name}-gold-emotions",
            dataset,
            per_seed_gold,
            args.seeds,
            training=runs,
            train_conversations=len(splits["train"]),
            note=f"{GOLD_EMOTIONS_NOTE} (compare with baseline-rule-gold-emotions)",
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bc.set_cpu_threads(args.threads)
    command = bc.command_line(argv, "benchmarks/quality.py")
    with tempfile.TemporaryDirectory(prefix="unimeec-quality-") as tmp:
        if args.smoke:
            args.backbone = args.backbone or bc.make_tiny_backbone(Path(tmp) / "tiny")
            args.limit = args.limit or 4
            args.max_steps = args.max_steps or 2
            args.epochs = min(args.epochs, 1)
        if args.run_dir is None:
            args.run_dir = Path(tmp) / "runs"
        machine = bc.machine_description(args.machine_note)
        rec = Recorder(args.out, command, machine)
        for dataset in args.datasets:
            splits = load_splits(dataset, args.data_dir, args.limit, args.long_dialogues)
            for system in args.systems:  # in the order given: a budget run puts first first
                if system == "rule" and dataset in CAUSE_DATASETS:
                    run_rule_gold(dataset, splits, rec)
                elif system == "classifier":
                    run_classifier(dataset, splits, args, rec)
                elif system == "unimeec":
                    run_unimeec(
                        dataset,
                        splits,
                        args,
                        rec,
                        name=args.unimeec_name,
                        overrides=args.unimeec_override,
                    )
    print(f"wrote {len(rec.rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
