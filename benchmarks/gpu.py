"""Driver of ``benchmarks/gpu.sh``: the quality, ablation and speed benchmarks on one GPU.

Runs each benchmark as its own process with a time limit taken from one overall budget, in
priority order (ECF 1.0 and MELD quality, speed, ablations, RECCON-DD), in bf16, with the
backbone and data carried in ``.gpu_carry/`` (see ``make_gpu_carry.py``). Every step writes
its JSON rows as they finish, so a step cut by its limit still leaves its finished rows.
``summary.json`` lists each step's command, exit status and duration.

    python benchmarks/gpu.py --carry .gpu_carry --out OUT --budget-s 450
    python benchmarks/gpu.py --smoke --device cpu --out /tmp/gpu-smoke   # CI / CPU check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carry", type=Path, default=REPO / ".gpu_carry")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget-s", type=float, default=450.0,
                        help="wall-clock budget of all steps together")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=["32", "bf16"])
    parser.add_argument("--epochs", type=int, default=5, help="quality runs")
    parser.add_argument("--ablation-epochs", type=int, default=3)
    parser.add_argument("--seeds", nargs="+", default=["0"])
    parser.add_argument("--limit", type=int, default=None,
                        help="first N conversations per split (a quick check of the script)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="cap on optimiser steps per training run (a quick check)")
    parser.add_argument("--smoke", action="store_true",
                        help="pass --smoke to every step (tiny model, a few steps)")
    parser.add_argument("--only", nargs="+", default=None, help="run only these steps")
    return parser


def steps(args: argparse.Namespace) -> list[tuple[str, list[str], float]]:
    """(name, argv, share of the budget it may use at most) in priority order."""
    common = ["--device", args.device, "--precision", args.precision,
              "--data-dir", str(args.carry / "data")]
    if args.smoke:
        common.append("--smoke")
    else:
        common += ["--backbone", str(args.carry / "minilm")]
    budget = []
    if args.limit:
        budget += ["--limit", str(args.limit)]
    if args.max_steps:
        budget += ["--max-steps", str(args.max_steps)]
    if not args.smoke:
        # the experiment files' effective batch (4 x 2 accumulated) in one GPU step
        budget += ["--unimeec-override", "data.batch_size=8", "trainer.accumulate_grad_batches=1",
                   "data.eval_batch_size=32"]
    quality = ["--seeds", *args.seeds, "--epochs", str(args.epochs), *common, *budget]
    out = args.out
    return [
        ("quality-ecf1", ["quality.py", "--datasets", "ecf1", "--systems", "unimeec", "rule",
                          "classifier", *quality, "--out", str(out / "quality-gpu-ecf1.json")],
         0.35),
        ("quality-meld", ["quality.py", "--datasets", "meld", "--systems", "unimeec",
                          "classifier", *quality, "--out", str(out / "quality-gpu-meld.json")],
         0.27),
        ("speed", ["speed.py", "--in-process", "--latency-conversations", "100",
                   "--throughput-batches", "8", "--train-steps", "20",
                   *common, "--out", str(out / "speed-gpu.json")], 0.15),
        ("ablations-ecf1", ["ablations.py", "--variants", "full", "no-thc", "emotion-only",
                            "cause-only", "utterance-scope", "random-head", "--seeds", *args.seeds,
                            "--epochs", str(args.ablation_epochs), *common, *budget,
                            "--out", str(out / "ablations-gpu.json")], 1.0),
        ("quality-reccon", ["quality.py", "--datasets", "reccon", "--systems", "unimeec",
                            "rule", "classifier", *quality,
                            "--out", str(out / "quality-gpu-reccon.json")], 1.0),
    ]


def step_limit(left: float, share: float, budget: float) -> float | None:
    """Seconds a step may run: its share of the budget, at most what is left; None = skip."""
    if left < 20:
        return None
    return left if share >= 1.0 else max(20.0, min(left, share * budget))


def environment() -> dict[str, object]:
    """Versions and device, recorded before anything runs (why a step failed is then clear)."""
    info: dict[str, object] = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "lightning", "torchmetrics", "pydantic",
                 "tensorboardX", "tensorboard", "matplotlib", "sklearn"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", "?")
        except Exception as err:  # noqa: BLE001 - record any import failure verbatim
            info[name] = f"unavailable ({type(err).__name__}: {err})"
    import torch

    info["cuda"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["bf16"] = torch.cuda.is_bf16_supported()
    return info


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    summary: dict[str, object] = {"environment": environment(), "steps": []}
    summary_path = args.out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["environment"]), flush=True)
    env = dict(os.environ)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("UNIMEEC_BENCH_PARENT_COMMAND", "bash benchmarks/gpu.sh")
    for name, step_argv, share in steps(args):
        if args.only is not None and name not in args.only:
            continue
        limit = step_limit(args.budget_s - (time.monotonic() - started), share, args.budget_s)
        if limit is None:
            summary["steps"].append({"name": name, "skipped": "budget spent"})  # type: ignore[union-attr]
            continue
        command = [sys.executable, str(HERE / step_argv[0]), *step_argv[1:]]
        print(f"== {name} (limit {limit:.0f} s): {' '.join(command)}", flush=True)
        step_start = time.monotonic()
        try:
            code: int | str = subprocess.run(command, check=False, cwd=REPO, env=env,
                                             timeout=limit).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        seconds = time.monotonic() - step_start
        print(f"== {name}: exit {code} after {seconds:.0f} s", flush=True)
        summary["steps"].append({"name": name, "command": " ".join(command),  # type: ignore[union-attr]
                                 "exit": code, "seconds": round(seconds, 1),
                                 "limit_s": round(limit, 1)})
        summary_path.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
