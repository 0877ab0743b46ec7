"""How long ``unimeec report`` takes for many conversations (target: 2,000 within a minute on
2 cores), timed end to end as a user runs it: a fresh process that reads the files, renders
every page, bootstraps the intervals and draws the plots.

Input: real conversations, the 1,374 of ECF 2.0 (SemEval-2024 Task 3 training file) then
ECF 1.0 train, ids prefixed by their dataset, as many as ``--conversations``; predictions of
an untrained tiny UniMEEC model (seed 0): they carry every field a page shows (emotion
probabilities, pair scores) and rendering time does not depend on their quality.

    python benchmarks/report_speed.py --out benchmarks/results/report-speed.json
    python benchmarks/report_speed.py --smoke        # CI: 40 conversations, no JSON
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_common as bc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs (fresh processes)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples of the report")
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--smoke", action="store_true", help="40 conversations, one run")
    return parser


def real_conversations(data_dir: Path, n: int) -> list:
    """``n`` real conversations with unique ids: ECF 2.0 train, then ECF 1.0 train."""
    from dataclasses import replace

    from unimeec.data import load_dataset

    found = []
    for name, split in (("semeval2024", "train"), ("ecf1", "train")):
        for conv in load_dataset(name, split, data_dir):
            found.append(replace(conv, id=f"{name}-{conv.id}"))
            if len(found) == n:
                return found
    raise SystemExit(f"only {len(found)} conversations available, asked for {n}")


def untrained_predictions(conversations: list, workdir: Path) -> list:
    """Predictions of a tiny random UniMEEC model (seeded, so the same every run)."""
    import torch

    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor
    from unimeec.predict import Predictor

    backbone = bc.make_tiny_backbone(workdir / "tiny-backbone")
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=backbone, thc_heads=2)).eval()
    predictor = Predictor(model, UniMEECProcessor.from_config(model.config), device="cpu")
    return predictor.predict(conversations, progress=True)


def time_report(predictions: Path, gold: Path, out: Path, bootstrap: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``unimeec report`` process.

    On a machine shared with other jobs the wall time includes waiting for a core; the CPU
    time is the work itself.
    """
    command = [
        sys.executable,
        "-m",
        "unimeec.cli",
        "report",
        str(predictions),
        "--gold",
        str(gold),
        "--out",
        str(out),
        "--bootstrap",
        str(bootstrap),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    n = 40 if args.smoke else args.conversations
    repeats = 1 if args.smoke else args.repeats
    from unimeec.data import write_conversations

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        gold = real_conversations(args.data_dir, n)
        write_conversations(gold, workdir / "gold.jsonl")
        write_conversations(untrained_predictions(gold, workdir), workdir / "pred.jsonl")
        seconds, cpu = [], []
        load = os.getloadavg()[0]
        for run in range(repeats):
            out = workdir / f"site-{run}"
            wall, used = time_report(
                workdir / "pred.jsonl", workdir / "gold.jsonl", out, args.bootstrap
            )
            seconds.append(wall)
            cpu.append(used)
            pages = len(list((out / "conversations").glob("*.html")))
            if pages != n:
                raise SystemExit(f"expected {n} pages, found {pages}")
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            print(
                f"run {run + 1}: {n} conversations in {wall:.1f} s wall, {used:.1f} s CPU "
                f"({size / 2**20:.1f} MiB)"
            )
    if args.out is not None:
        row = bc.result_record(
            "unimeec-report",
            "ecf2+ecf1",
            "train",
            {
                "conversations": n,
                "wall_s_median": sorted(seconds)[len(seconds) // 2],
                "wall_s_max": max(seconds),
                "wall_s_min": min(seconds),
                "cpu_s_median": sorted(cpu)[len(cpu) // 2],
                "conversations_per_s": n / max(seconds),
                "site_mib": size / 2**20,
                "load_average_1min_before": load,
            },
            seeds=[0],
            command=bc.command_line(argv),
            machine=bc.machine_description(args.machine_note),
            settings={
                "bootstrap": args.bootstrap,
                "repeats": repeats,
                "wall_s": seconds,
                "cpu_s": cpu,
                "predictions": "untrained tiny UniMEEC, seed 0",
                "measured": "one `unimeec report PRED --gold GOLD --out DIR` process, "
                "start to exit",
            },
        )
        bc.write_results([row], args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
