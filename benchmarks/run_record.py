"""Record a finished ``unimeec train`` run directory as a benchmark row.

Why: the main job and its variants are run with ``unimeec train`` itself (the command a
user types), not through ``quality.py``; this turns such a run's ``metrics_test.json``,
``metrics_dev.json`` and ``config.yaml`` into a row of ``benchmarks/results/`` with the
command that made it, so it enters the tables like every other row. The date is the time
the (last) run wrote its test metrics. Several run directories of one configuration, one
per seed, make one row with the mean over seeds and ``metrics_std``. With
``--gold-emotions`` a second row, ``<name>-gold-emotions``, scores the same saved models
with cause pairs decoded for the gold emotion utterances (the paper's claim "joint >=
cause-only" is about this number), as ``quality.py`` does for the runs it trains; its
``dev_metrics`` are the same decoding on the run's dev split, so a choice about the cause
side can be made on dev.

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
from unimeec_runner import GOLD_EMOTIONS_NOTE


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
    parser.add_argument(
        "--gold-emotions",
        action="store_true",
        help="also write <name>-gold-emotions: each run's model/ on its test (and dev) "
        "split, cause pairs decoded for the gold emotion utterances",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=bc.DEFAULT_DATA_DIR,
        help="where the test and dev splits are read for --gold-emotions",
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


def _gold_emotion_metrics(run: dict[str, Any], data_dir: Path, split: str) -> dict[str, float]:
    """Metrics of the run's saved model on ``split`` ("test" or "dev") with pairs decoded
    for the gold emotions, or {} for a run without that split.

    The conversations are those the run was scored on: its dataset, ``data.test_split``
    (or ``data.dev_split``) and ``data.limit``.
    """
    from unimeec_runner import predict_with_gold_emotions

    from unimeec.data import load_dataset
    from unimeec.evaluation import evaluate

    data = run["config"]["data"]
    model_dir = run["run_dir"] / "model"
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"{model_dir}: no saved model (config.json) for --gold-emotions")
    name = data.get(f"{split}_split", split)
    if not name:
        return {}
    conversations = load_dataset(data["dataset"], name, data_dir=data_dir)
    conversations = conversations[: data["limit"]] if data.get("limit") else conversations
    settings = argparse.Namespace(device="cpu", precision="32")
    return evaluate(conversations, predict_with_gold_emotions(model_dir, conversations, settings))


def load_runs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The run directories of ``args``, each with its wall time from ``--seconds``."""
    seconds = list(args.seconds or [])
    if seconds and len(seconds) != len(args.run_dir):
        raise SystemExit(
            f"--seconds: {len(seconds)} values for {len(args.run_dir)} run directories"
        )
    return [_one_run(d, seconds[k] if seconds else None) for k, d in enumerate(args.run_dir)]


def run_row(args: argparse.Namespace, runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """One row from one run, or the mean (and ``metrics_std``) of several seeds' runs."""
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
        name,
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
    runs = load_runs(args)
    new = [run_row(args, runs, args.name)]
    if args.gold_emotions:
        gold = [
            {
                **run,
                "test": _gold_emotion_metrics(run, args.data_dir, "test"),
                "dev": _gold_emotion_metrics(run, args.data_dir, "dev"),
            }
            for run in runs
        ]
        row = run_row(args, gold, f"{args.name}-gold-emotions")
        row["note"] = GOLD_EMOTIONS_NOTE
        row["dev_emotions"] = "gold"  # its dev_metrics were decoded for the gold emotions too
        new.append(row)
    names = {row["name"] for row in new}
    rows = []
    if args.append and args.out.is_file():
        rows = [
            r for r in json.loads(args.out.read_text(encoding="utf-8")) if r["name"] not in names
        ]
    rows.extend(new)
    bc.write_results(rows, args.out)
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
