"""fp32 against dynamic int8 (``Predictor(quantize="int8")``): latency and ECF 1.0 quality.

For each weight format, on one trained checkpoint:

- latency of ``Predictor.predict`` on one 10-utterance conversation (processor + forward +
  decode; the first 10 utterances of real ECF 1.0 test conversations, round robin), p50 /
  p95 / mean over ``--repeats`` calls after ``--warmup`` calls, with ``--threads`` torch
  threads;
- quality on ECF 1.0 test through the user's commands, ``unimeec predict --quantize ...``
  then ``unimeec evaluate`` (emotion weighted F1, pair F1, MECPE-Cat weighted F1), and a
  paired bootstrap of int8 against fp32 (``unimeec evaluate --compare``), kept with the
  int8 row as ``int8_vs_fp32``.

    python benchmarks/quantize.py --checkpoint runs/ecf1-joint --threads 2 \\
        --out benchmarks/results/serve-quantize-cpu.json
    python benchmarks/quantize.py --smoke      # CI: tiny random checkpoint, few calls
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_common as bc

MODES = ("none", "int8")
QUALITY = ("merc_weighted_f1", "mecpe_pair_f1", "mecpe_cat_weighted_f1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="run or model directory (trained)")
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--utterances", type=int, default=10, help="conversation length")
    parser.add_argument("--repeats", type=int, default=200, help="timed calls per format")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--limit", type=int, default=None, help="quality on the first N test conversations only"
    )
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="resamples of the int8-vs-fp32 paired bootstrap"
    )
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="skip the quality part (e.g. to time another thread count)",
    )
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "serve-quantize.json")
    parser.add_argument("--smoke", action="store_true")
    return parser


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); no interpolation between calls."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def conversations_of_length(data_dir: Path, n: int) -> list[Any]:
    """The first ``n`` utterances of every ECF 1.0 test conversation that has ``n`` or more."""
    from unimeec.data import Conversation, Utterance, load_dataset

    out = []
    for conv in load_dataset("ecf1", "test", data_dir):
        if len(conv) >= n:
            out.append(
                Conversation(
                    id=conv.id,
                    utterances=[
                        Utterance(index=u.index, speaker=u.speaker, text=u.text)
                        for u in conv.utterances[:n]
                    ],
                )
            )
    return out


def measure_latency(
    predictor: Any, conversations: list[Any], repeats: int, warmup: int
) -> dict[str, float]:
    cycle = itertools.cycle(conversations)
    for _ in range(warmup):
        predictor.predict(next(cycle), progress=False)
    times = []
    for _ in range(repeats):
        conversation = next(cycle)
        start = time.perf_counter()
        predictor.predict(conversation, progress=False)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "latency_p50_ms": percentile(times, 50),
        "latency_p95_ms": percentile(times, 95),
        "latency_mean_ms": statistics.fmean(times),
    }


def run_cli(argv: list[str]) -> str:
    """Run a ``unimeec`` command in-process (as typed); the command line, for the record."""
    from unimeec.cli import main

    if main(argv) != 0:
        raise RuntimeError(f"unimeec {' '.join(argv)} failed")
    return "unimeec " + " ".join(argv)


def measure_quality(
    checkpoint: Path, gold: Path, work: Path, bootstrap: int
) -> tuple[dict[str, dict[str, float]], dict[str, Any], list[str]]:
    """Per format: metrics; and the paired bootstrap of int8 against fp32."""
    metrics: dict[str, dict[str, float]] = {}
    commands = []
    for mode in MODES:
        pred = work / f"pred-{mode}.jsonl"
        report = work / f"eval-{mode}.json"
        commands.append(
            run_cli(
                [
                    "predict",
                    "--checkpoint",
                    str(checkpoint),
                    str(gold),
                    "-o",
                    str(pred),
                    "--quantize",
                    mode,
                ]
            )
        )
        commands.append(
            run_cli(["evaluate", "--gold", str(gold), "--pred", str(pred), "--json", str(report)])
        )
        metrics[mode] = _metrics(json.loads(report.read_text()))
    paired = work / "eval-int8-vs-fp32.json"
    commands.append(
        run_cli(
            [
                "evaluate",
                "--gold",
                str(gold),
                "--pred",
                str(work / "pred-int8.jsonl"),
                "--compare",
                str(work / "pred-none.jsonl"),
                "--bootstrap",
                str(bootstrap),
                "--json",
                str(paired),
            ]
        )
    )
    return metrics, json.loads(paired.read_text()), commands


def _metrics(report: dict[str, Any]) -> dict[str, float]:
    flat = report.get("metrics", report)
    return {k: float(flat[k]) for k in QUALITY if k in flat}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from unimeec.predict import Predictor

    bc.set_cpu_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        checkpoint = args.checkpoint
        if args.smoke:
            checkpoint = _tiny_checkpoint(work)
            args.repeats, args.warmup, args.limit = 5, 1, args.limit or 6
            args.bootstrap = min(args.bootstrap, 20)
        if checkpoint is None:
            raise SystemExit("--checkpoint is required (or --smoke)")
        gold = args.data_dir / "ecf1" / "test.txt"
        if args.limit is not None:
            from unimeec.data import load_dataset, write_conversations

            gold = work / "gold.jsonl"
            write_conversations(load_dataset("ecf1", "test", args.data_dir)[: args.limit], gold)
        latency_inputs = conversations_of_length(args.data_dir, args.utterances)
        load_before = os.getloadavg()[0]
        latency: dict[str, dict[str, float]] = {}
        versions = {}
        for mode in MODES:
            predictor = Predictor.from_pretrained(checkpoint, device="cpu", quantize=mode)
            from unimeec.serving import model_version

            versions[mode] = model_version(predictor)
            latency[mode] = measure_latency(predictor, latency_inputs, args.repeats, args.warmup)
            print(f"{mode}: {latency[mode]}", file=sys.stderr)
        load_after = os.getloadavg()[0]
        quality: dict[str, dict[str, float]] = {mode: {} for mode in MODES}
        paired: dict[str, Any] = {}
        commands: list[str] = []
        if not args.latency_only:
            quality, paired, commands = measure_quality(checkpoint, gold, work, args.bootstrap)
    note = args.machine_note or (
        "shared with other jobs (load average above the core count "
        "during the run): latencies are upper bounds"
    )
    machine = bc.machine_description(note)
    command = bc.command_line(argv)
    deltas = {
        f"delta_{k}": quality["int8"][k] - quality["none"][k]
        for k in QUALITY
        if k in quality["int8"] and k in quality["none"]
    }
    comparison = {
        **deltas,
        "p50_speedup": latency["none"]["latency_p50_ms"] / latency["int8"]["latency_p50_ms"],
        "paired_bootstrap": paired.get("comparison", paired),
        "bootstrap": args.bootstrap,
        "command": next((c for c in commands if "--compare" in c), None),
    }
    rows = []
    for mode in MODES:
        extra = {"int8_vs_fp32": comparison} if mode == "int8" else {}
        rows.append(
            bc.result_record(
                f"unimeec-{'fp32' if mode == 'none' else mode}-threads{args.threads}",
                "ecf1",
                "test",
                {**latency[mode], **quality[mode]},
                [],
                command,
                machine,
                quantize=mode,
                model_version=versions[mode],
                threads=args.threads,
                latency_utterances=args.utterances,
                latency_conversations=len(latency_inputs),
                repeats=args.repeats,
                warmup=args.warmup,
                limit=args.limit,
                load_average_1min=[load_before, load_after],
                quality_commands=[
                    c for c in commands if f"pred-{mode}" in c and "--compare" not in c
                ],
                **extra,
            )
        )
    bc.write_results(rows, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _tiny_checkpoint(work: Path) -> Path:
    import torch

    from unimeec.checkpoint import save_checkpoint
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    backbone = bc.make_tiny_backbone(work / "tiny_backbone")
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=backbone, thc_heads=2)).eval()
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), work / "tiny" / "model")
    return work / "tiny"


if __name__ == "__main__":
    sys.exit(main())
