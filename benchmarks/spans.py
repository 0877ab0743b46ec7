"""Span benchmark (SemEval-2024 Task 3 subtask 1): the span head against two baselines.

Per seed, train UniMEEC with ``span_head: true`` through the training pipeline on the
training part of ``Subtask_1_train.json`` (``configs/semeval2024_subtask1_dev.yaml``: the
fixed hash hold-out of ``unimeec.data.holdout`` gives 151 dev conversations; dev selects the
epoch and tunes the cause threshold), then run the selected model once over the dev
conversations and decode the SAME forward outputs three ways (same emotions, same pairs):

- ``span-model``: each pair's span from the span head;
- ``baseline-whole-utterance``: each pair cites its whole cause utterance;
- ``baseline-trimmed-utterance``: the whole utterance less leading/trailing punctuation tokens.

The same three decodings are also applied to the gold pairs (gold emotions, every gold pair
inside the cause window; rows ``<system> (gold pairs)``), which scores the spans alone.
All rows are scored with ``unimeec.evaluation.evaluate`` (the official subtask-1 rules:
strict and proportional span F1, weighted and micro). The span model's predictions are also
written as the official submission (``"<utt>_<start>_<end>"``), read back and rescored, and the
row records that both scores agree. One JSON row per system (mean over seeds, per-seed values).

    python benchmarks/spans.py --seeds 0 1 2 --epochs 3
    python benchmarks/spans.py --smoke          # tiny random backbone, a few steps
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_common as bc

log = logging.getLogger("benchmarks.spans")

SYSTEMS: dict[str, str] = {
    "span-model": "model",
    "baseline-whole-utterance": "utterance",
    "baseline-trimmed-utterance": "trimmed",
}
METRICS = (
    "semeval_st1_strict_weighted_f1",
    "semeval_st1_proportional_weighted_f1",
    "semeval_st1_strict_micro_f1",
    "semeval_st1_proportional_micro_f1",
    "mecpe_pair_f1",
    "merc_weighted_f1",
)
DEFAULT_CONFIG = bc.REPO / "configs" / "semeval2024_subtask1_dev.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the config's")
    parser.add_argument(
        "--limit-train-batches",
        type=float,
        default=None,
        help="fraction (<= 1) or number of training batches per epoch; the dev "
        "split stays whole (budget runs)",
    )
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--override",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra overrides of the training config",
    )
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "spans.json")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where the runs write checkpoints (default: a temp dir)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="paired bootstrap resamples of dev conversations, span model vs each baseline "
        "(0: none)",
    )
    parser.add_argument(
        "--run",
        type=Path,
        default=None,
        help="evaluate this finished run directory of the script instead of training (one seed)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny random backbone, 30 conversations, 2 steps (CI)"
    )
    return parser


def _overrides(args: argparse.Namespace, seed: int, backbone: str | None) -> list[str]:
    out = [
        f"seed={seed}",
        f"data.data_dir={args.data_dir}",
        f"run_name=spans-seed{seed}",
        "trainer.enable_progress_bar=true",
        "trainer.accelerator=cpu",
        "trainer.devices=1",
    ]
    if args.epochs is not None:
        out.append(f"trainer.max_epochs={args.epochs}")
    if args.limit_train_batches is not None:
        value = args.limit_train_batches
        out.append(f"trainer.limit_train_batches={int(value) if value > 1 else value}")
    if backbone is not None:
        out += [
            f"model.backbone={backbone}",
            "model.thc_heads=2",
            "data.limit=30",
            "trainer.limit_train_batches=2",
            "trainer.max_epochs=1",
        ]
    return out + list(args.override)


def _gold_pair_predictions(model: Any, result: Any, batch: dict[str, Any], mode: str) -> list[Any]:
    """Gold emotions and the gold pairs inside the cause window, spans decoded by ``mode``.

    Why: with identical predicted pairs the three systems differ only in their spans, but the
    span scores still carry the pair errors; on the gold pairs they measure the spans alone.
    """
    from unimeec.data.schema import EmotionCausePair

    decode_span = model.span_decoder(result, mode)
    rows = {tuple(r): k for k, r in enumerate(result.candidate_pairs.tolist())}
    out = []
    for c_pos, conv in enumerate(batch["conversations"]):
        pairs = {}
        for p in conv.pairs:
            row = rows.get((c_pos, p.emotion_utterance, p.cause_utterance))
            if row is not None:
                pairs.setdefault((p.emotion_utterance, p.emotion, p.cause_utterance), row)
        predicted = [
            EmotionCausePair(i, j, emotion=e, span=decode_span(row, conv.utterance(j).text))
            for (i, e, j), row in pairs.items()
        ]
        out.append(
            conv.with_predictions(emotions=[u.emotion for u in conv.utterances], pairs=predicted)
        )
    return out


def decode_all_ways(
    model_dir: Path, conversations: list[Any], batch_size: int
) -> dict[str, list[Any]]:
    """One forward pass per batch, decoded once per system of :data:`SYSTEMS`, on the model's
    pairs and on the gold pairs (``<system> (gold pairs)``)."""
    import torch
    from tqdm.auto import tqdm

    from unimeec.checkpoint import load_model_and_processor

    model, processor = load_model_and_processor(model_dir)
    order = {c.id: k for k, c in enumerate(conversations)}
    out: dict[str, list[Any]] = {}
    with torch.inference_mode():
        for start in tqdm(range(0, len(conversations), batch_size), desc="dev decoding"):
            batch = processor(conversations[start : start + batch_size])
            result = model(**batch)
            for name, mode in SYSTEMS.items():
                out.setdefault(name, []).extend(model.decode(result, batch, spans=mode))
                out.setdefault(f"{name} (gold pairs)", []).extend(
                    _gold_pair_predictions(model, result, batch, mode)
                )
    return {name: sorted(preds, key=lambda c: order[c.id]) for name, preds in out.items()}


def run_seed(
    args: argparse.Namespace, seed: int, root: Path, backbone: str | None
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    from unimeec.data import load_dataset, read_conversations, write_conversations
    from unimeec.data.holdout import holdout_split
    from unimeec.evaluation import evaluate
    from unimeec.training.config import load_config
    from unimeec.training.run import train

    if args.run is not None:  # evaluate a finished run of this script
        config = load_config(args.run / "config.yaml")
        model_dir, run_dir, seconds = args.run / "model", args.run, None
        threshold = config.model.get("cause_threshold")
        dev_metrics = json.loads((args.run / "metrics_dev.json").read_text())
    else:
        config = load_config(args.config, _overrides(args, seed, backbone))
        start = time.perf_counter()
        result = train(config, output_dir=root)
        seconds = round(time.perf_counter() - start, 1)
        model_dir, run_dir = result.model_dir, result.run_dir
        threshold, dev_metrics = result.threshold, result.dev_metrics
    if config.data.dev_fraction is None:
        raise SystemExit("data.dev_fraction must be set (the dev split)")
    conversations = load_dataset(config.data.dataset, "train", data_dir=args.data_dir)
    if config.data.limit is not None:
        conversations = conversations[: config.data.limit]
    dev = holdout_split(conversations, config.data.dev_fraction)[1]
    predictions = decode_all_ways(model_dir, dev, config.data.eval_batch_size)
    metrics = {name: evaluate(dev, preds) for name, preds in predictions.items()}
    submission = run_dir / "dev_submission_subtask1.json"
    write_conversations(
        predictions["span-model"], submission, format="semeval-subtask1", span_format="positions"
    )
    reread = evaluate(dev, read_conversations(submission, span_format="positions"))
    keys = [k for k in METRICS if k.startswith("semeval_st1")]
    info = {
        "train_seconds": seconds,
        "threshold": threshold,
        "dev_fraction": config.data.dev_fraction,
        "dev_conversations": len(dev),
        "dev_span_pairs": sum(len(c.pairs) for c in dev),
        "submission_round_trip_equal": all(
            abs(reread[k] - metrics["span-model"][k]) < 1e-12 for k in keys
        ),
        "dev_metrics_of_training_run": {k: v for k, v in dev_metrics.items() if k in METRICS},
    }
    if args.bootstrap:
        info["paired_bootstrap"] = paired_tests(dev, predictions, args.bootstrap)
    return metrics, info


def paired_tests(
    dev: list[Any], predictions: dict[str, list[Any]], n_resamples: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Span model minus each baseline (same pairs), resampling dev conversations (seed 0).

    This measures how much the difference depends on which conversations are in dev; it says
    nothing about the spread over training seeds.
    """
    from dataclasses import asdict

    from unimeec.evaluation.bootstrap import paired_bootstrap
    from unimeec.evaluation.counts import count_conversations
    from unimeec.evaluation.report import make_layout

    layout = make_layout(dev)
    wanted = [k for k in METRICS if k.startswith("semeval_st1") and "weighted" in k]
    out = {}
    for suffix in ("", " (gold pairs)"):
        model_rows = count_conversations(dev, predictions[f"span-model{suffix}"], layout)
        for name in ("baseline-whole-utterance", "baseline-trimmed-utterance"):
            rows = count_conversations(dev, predictions[name + suffix], layout)
            tests = paired_bootstrap(
                model_rows, rows, layout, n_resamples=n_resamples, seed=0, metrics=wanted
            )
            out[f"span-model{suffix} - {name}{suffix}"] = {k: asdict(v) for k, v in tests.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bc.set_cpu_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        backbone = bc.make_tiny_backbone(Path(tmp) / "tiny") if args.smoke else None
        root = args.run_dir or Path(tmp) / "runs"
        if args.run is not None and len(args.seeds) != 1:
            raise SystemExit("--run evaluates one finished run: give one --seeds value")
        rows = [(name, mode, "predicted") for name, mode in SYSTEMS.items()]
        rows += [(f"{name} (gold pairs)", mode, "gold") for name, mode in SYSTEMS.items()]
        per_seed: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in rows}
        infos = []
        for seed in args.seeds:
            metrics, info = run_seed(args, seed, root, backbone)
            infos.append({"seed": seed, **info})
            for name, values in per_seed.items():
                values.append(metrics[name])
            log.info(
                "seed %d: %s",
                seed,
                {
                    name: {k: round(metrics[name][k], 4) for k in METRICS if k in metrics[name]}
                    for name in per_seed
                },
            )
        records = []
        command = bc.command_line(argv)
        machine = bc.machine_description(args.machine_note)
        for name, mode, pairs in rows:
            mean, std = bc.aggregate_seeds(per_seed[name])
            records.append(
                bc.result_record(
                    name,
                    "semeval2024",
                    f"dev (hash hold-out, data.dev_fraction={infos[0]['dev_fraction']:g})",
                    {k: mean[k] for k in METRICS if k in mean},
                    args.seeds,
                    command,
                    machine,
                    metrics_std={k: std[k] for k in METRICS if k in std},
                    per_seed=[{k: m[k] for k in METRICS if k in m} for m in per_seed[name]],
                    span_decoding=mode,
                    pairs=pairs,
                    runs=infos,
                    smoke=args.smoke,
                )
            )
        bc.write_results(records, args.out)
        log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
