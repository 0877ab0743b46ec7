"""Record a finished ``unimeec train`` run directory as a benchmark row.

Why: the main job and its variants are run with ``unimeec train`` itself (the command a
user types), not through ``quality.py``; this turns such a run's ``metrics_test.json``,
``metrics_dev.json`` and ``config.yaml`` into a row of ``benchmarks/results/`` with the
command that made it, so it enters the tables like every other row. The date is the time
the run wrote its test metrics.

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
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True, help="row name, e.g. unimeec-tune-ema-0.99")
    parser.add_argument("--command", required=True, help="the command that made the run")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--append", action="store_true", help="keep the rows already in --out")
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--seconds", type=float, default=None, help="wall time of the run")
    parser.add_argument(
        "--tuning-base",
        nargs="*",
        default=[],
        help="overrides the variant is on top of (tuning rows)",
    )
    return parser


def run_row(args: argparse.Namespace) -> dict[str, Any]:
    test_file = args.run_dir / "metrics_test.json"
    test = json.loads(test_file.read_text(encoding="utf-8"))
    dev_file = args.run_dir / "metrics_dev.json"
    dev = json.loads(dev_file.read_text(encoding="utf-8")) if dev_file.is_file() else {}
    config = yaml.safe_load((args.run_dir / "config.yaml").read_text(encoding="utf-8"))
    dataset = config["data"]["dataset"]
    written = datetime.datetime.fromtimestamp(test_file.stat().st_mtime, datetime.timezone.utc)
    training = {
        "seed": config["seed"],
        "seconds": args.seconds,
        "run_dir": str(args.run_dir),
        "cause_threshold": config.get("model", {}).get("cause_threshold"),
        "dev_metrics": bc.headline(dev, dataset),
    }
    row = bc.result_record(
        args.name,
        dataset,
        "test",
        bc.headline(test, dataset),
        [config["seed"]],
        args.command,
        bc.machine_description(args.machine_note),
        all_metrics=test,
        training=[training],
        tuning_base=args.tuning_base,
    )
    row["date"] = written.strftime("%Y-%m-%dT%H:%M:%SZ")
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
