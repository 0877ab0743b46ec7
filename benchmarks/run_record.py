"""Record a finished ``unimeec train`` run directory as a benchmark row.

Why: the main job and its variants are run with ``unimeec train`` itself (the command a
user types), not through ``quality.py``; this turns such a run's ``metrics_test.json``,
``metrics_dev.json`` and ``config.yaml`` into a row of ``benchmarks/results/`` with the
command that made it, so it enters the tables like every other row. The date is the time
the (last) run wrote its test metrics. Several run directories of one configuration, one
per seed, make one row with the mean over seeds and ``metrics_std``.

    python benchmarks/run_record.py runs/ecf1-joint --name unimeec-tune-default \\
        --command "unimeec train --config configs/ecf1_joint.yaml" \\
        --out benchmarks/results/quality-cpu-ecf1-1epoch-round3.json --append
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any

import bench_common as bc
import yaml


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run_dir", type=Path, nargs="+", help="one run, or one per seed of the same config"
    )
    parser.add_argument("--name", required=True, help="row name, e.g. unimeec-tune-ema-0.99")
    parser.add_argument("--command", required=True, help="the command that made the run")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--append", action="store_true", help="keep the rows already in --out")
    parser.add_argument("--machine-note", default=None)
    parser.add_argument(
        "--seconds", type=float, nargs="*", default=None, help="wall time of each run"
    )
    parser.add_argument(
        "--tuning-base",
        nargs="*",
        default=[],
        help="overrides the variant is on top of (tuning rows)",
    )
    return parser


def _one_run(run_dir: Path, seconds: float | None) -> dict[str, Any]:
    """Test and dev metrics, config and write time of one finished run directory."""
    test_file = run_dir / "metrics_test.json"
    dev_file = run_dir / "metrics_dev.json"
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    return {
        "test": json.loads(test_file.read_text(encoding="utf-8")),
        "dev": json.loads(dev_file.read_text(encoding="utf-8")) if dev_file.is_file() else {},
        "config": config,
        "written": datetime.datetime.fromtimestamp(
            test_file.stat().st_mtime, datetime.timezone.utc
        ),
        "seconds": seconds,
        "run_dir": run_dir,
    }


#: Keys that may differ between the seeds of one row: the seed, paths, dev-made choices.
_PER_RUN = {"seed", "output_dir", "run_name", "model.cause_threshold", "model.neutral_bias"}


def _settings(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The config flattened to dotted keys, without those of ``_PER_RUN``."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = prefix + str(key)
        if isinstance(value, dict):
            flat.update(_settings(value, dotted + "."))
        elif dotted not in _PER_RUN:
            flat[dotted] = value
    return flat


def _disagreement(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys both configs set to different values (a key one lacks is a newer default)."""
    left, right = _settings(a), _settings(b)
    return sorted(k for k in left.keys() & right.keys() if left[k] != right[k])


def run_row(args: argparse.Namespace) -> dict[str, Any]:
    """One row from one run, or the mean (and ``metrics_std``) of several seeds' runs."""
    seconds = list(args.seconds or [])
    if seconds and len(seconds) != len(args.run_dir):
        raise SystemExit(
            f"--seconds: {len(seconds)} values for {len(args.run_dir)} run directories"
        )
    runs = [_one_run(d, seconds[k] if seconds else None) for k, d in enumerate(args.run_dir)]
    first = runs[0]
    dataset = first["config"]["data"]["dataset"]
    for run in runs[1:]:
        differing = _disagreement(first["config"], run["config"])
        if differing:
            raise SystemExit(
                f"{run['run_dir']}: its config.yaml differs from {first['run_dir']} in more "
                f"than the seed ({', '.join(differing)}); one row holds seeds of one "
                "configuration"
            )
    training = [
        {
            "seed": run["config"]["seed"],
            "seconds": run["seconds"],
            "run_dir": str(run["run_dir"]),
            "cause_threshold": run["config"].get("model", {}).get("cause_threshold"),
            "dev_metrics": bc.headline(run["dev"], dataset),
        }
        for run in runs
    ]
    mean, std = bc.aggregate_seeds([run["test"] for run in runs])
    extra: dict[str, Any] = {"all_metrics": mean, "training": training}
    if len(runs) > 1:
        extra["metrics_std"] = bc.headline(std, dataset)
    row = bc.result_record(
        args.name,
        dataset,
        "test",
        bc.headline(mean, dataset),
        [run["config"]["seed"] for run in runs],
        args.command,
        bc.machine_description(args.machine_note),
        tuning_base=args.tuning_base,
        **extra,
    )
    row["date"] = max(run["written"] for run in runs).strftime("%Y-%m-%dT%H:%M:%SZ")
    return row


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rows = []
    if args.append and args.out.is_file():
        rows = [
            r for r in json.loads(args.out.read_text(encoding="utf-8")) if r["name"] != args.name
        ]
    rows.append(run_row(args))
    bc.write_results(rows, args.out)
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
