"""Driver of ``benchmarks/gpu.sh``: the quality, ablation and speed benchmarks on one GPU.

Two steps, each its own process with a time limit taken from one overall budget, in bf16,
with the backbone and data carried in ``.gpu_carry/`` (see ``make_gpu_carry.py``):

1. ``speed`` (``speed.py``): alone on the GPU (timings must not share it), within the time
   reserved for it (``--speed-reserve-s``);
2. ``sweep`` (``sweep.py``): dev-selected tuning on ECF 1.0, the chosen configuration with
   several seeds on ECF 1.0, MELD and RECCON-DD, the baselines and the ablations, as
   parallel jobs on the one GPU; it stops starting jobs when the rest of the budget ends.

Every step writes its JSON rows as they finish, so a step cut by its limit still leaves
its finished rows. ``summary.json`` lists each step's command, exit status and duration.
At most 8 files come back from the GPU machine, so the sweep keeps its per-job files in a
temporary directory and returns them as one archive.

    python benchmarks/gpu.py --carry .gpu_carry --out OUT --budget-s 560
    python benchmarks/gpu.py --smoke --device cpu --precision 32 --out /tmp/gpu-smoke
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: Seconds the sweep leaves itself to stop its last jobs, merge and archive.
SWEEP_GRACE_S = 30.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carry", type=Path, default=REPO / ".gpu_carry")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--budget-s", type=float, default=560.0, help="wall-clock budget of all steps together"
    )
    parser.add_argument(
        "--speed-reserve-s",
        type=float,
        default=180.0,
        help="part of the budget kept for the speed step",
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=["32", "bf16"])
    parser.add_argument("--epochs", type=int, default=5, help="every training run")
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    parser.add_argument("--workers", type=int, default=8, help="sweep jobs at once on the GPU")
    parser.add_argument(
        "--tuning",
        nargs="+",
        default=None,
        help="sweep: tuning variants (default: the sweep's first round)",
    )
    parser.add_argument(
        "--base",
        nargs="+",
        default=None,
        metavar="KEY=VALUE",
        help="sweep: overrides under every UniMEEC job",
    )
    parser.add_argument("--ablations", nargs="*", default=None, help="sweep: ablations")
    parser.add_argument(
        "--claims", nargs="*", default=None, help="sweep: claim variants, every seed"
    )
    parser.add_argument("--tune-dataset", default=None, help="sweep: the tuning dataset")
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="sweep: datasets of the chosen configuration"
    )
    parser.add_argument("--no-baselines", action="store_true", help="sweep: no classifier jobs")
    parser.add_argument(
        "--smoke", action="store_true", help="pass --smoke to every step (tiny model, a few steps)"
    )
    parser.add_argument("--only", nargs="+", default=None, help="run only these steps")
    return parser


def steps(args: argparse.Namespace) -> list[tuple[str, list[str], float]]:
    """(name, argv, share of the budget it may use at most) in order."""
    common = ["--device", args.device, "--precision", args.precision]
    if args.smoke:
        common.append("--smoke")  # the data directory beside the repository, tiny model
    out = args.out
    sweep_share = max(0.1, 1.0 - args.speed_reserve_s / args.budget_s)
    sweep_budget = max(30.0, sweep_share * args.budget_s - SWEEP_GRACE_S)
    # its own folder: two sweeps may share the machine (different --out)
    work = Path(tempfile.mkdtemp(prefix="unimeec-sweep-jobs-"))
    speed = [
        "speed.py",
        "--in-process",
        "--scopes",
        "conversation",
        "--compile",
        "both",
        "--overhead-batches",
        "8",
        "16",
        "32",
        "--train-batch",
        "8",
        "--latency-conversations",
        "100",
        "--throughput-batches",
        "4",
        "--train-steps",
        "20",
        "--lengths",
        "2",
        "8",
        "16",
        "32",
        "--repeats",
        "2",
        *common,
        "--out",
        str(out / "speed-gpu.json"),
    ]
    if not args.smoke:
        speed += ["--data-dir", str(args.carry / "data"), "--backbone", str(args.carry / "minilm")]
    sweep = [
        "sweep.py",
        "--carry",
        str(args.carry),
        "--out",
        str(out / "sweep"),
        "--work",
        str(work),
        "--budget-s",
        f"{sweep_budget:.0f}",
        "--workers",
        str(args.workers),
        "--epochs",
        str(args.epochs),
        # a 5-epoch job takes minutes beside 7 others: start none that cannot end
        "--min-start-s",
        "45" if args.smoke else "100",
        "--seeds",
        *args.seeds,
        *common,
    ]
    if args.tuning:
        sweep += ["--tuning", *args.tuning]
    if args.base:
        sweep += ["--base", *args.base]
    if args.ablations is not None:
        sweep += ["--ablations", *args.ablations]
    if args.claims is not None:
        sweep += ["--claims", *args.claims]
    if args.tune_dataset is not None:
        sweep += ["--tune-dataset", args.tune_dataset]
    if args.datasets is not None:
        sweep += ["--datasets", *args.datasets]
    if args.no_baselines:
        sweep.append("--no-baselines")
    # speed first: its timings need the GPU to itself, and a failure there costs the sweep
    # nothing (the sweep's share is fixed in advance)
    return [("speed", speed, args.speed_reserve_s / args.budget_s), ("sweep", sweep, 1.0)]


def step_limit(left: float, share: float, budget: float) -> float | None:
    """Seconds a step may run: its share of the budget, at most what is left; None = skip."""
    if left < 20:
        return None
    return left if share >= 1.0 else max(20.0, min(left, share * budget))


def environment() -> dict[str, object]:
    """Versions and device, recorded before anything runs (why a step failed is then clear)."""
    info: dict[str, object] = {"python": sys.version.split()[0]}
    for name in (
        "torch",
        "transformers",
        "lightning",
        "torchmetrics",
        "pydantic",
        "tensorboardX",
        "tensorboard",
        "matplotlib",
        "sklearn",
    ):
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
            code: int | str = subprocess.run(
                command, check=False, cwd=REPO, env=env, timeout=limit
            ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        seconds = time.monotonic() - step_start
        print(f"== {name}: exit {code} after {seconds:.0f} s", flush=True)
        summary["steps"].append(
            {
                "name": name,
                "command": " ".join(command),  # type: ignore[union-attr]
                "exit": code,
                "seconds": round(seconds, 1),
                "limit_s": round(limit, 1),
            }
        )
        summary_path.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
