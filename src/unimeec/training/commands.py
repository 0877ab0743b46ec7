"""``unimeec train``, ``unimeec test`` and ``unimeec predict``.

Heavy imports (torch, lightning, transformers) stay inside the handlers so that
``unimeec --help`` is instant. User mistakes raise :class:`~unimeec.errors.UnimeecError`
subclasses, which ``unimeec.cli`` prints as one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from unimeec.argtypes import finite_float, positive_int, probability
from unimeec.data.modalities import FEATURE_MODALITIES
from unimeec.errors import ConfigError


def _features(items: list[str] | None) -> dict[str, str] | None:
    """``["audio=stores/audio", ...]`` -> ``{"audio": "stores/audio"}``."""
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        modality, sep, path = item.partition("=")
        if not sep or modality not in FEATURE_MODALITIES or not path:
            raise ConfigError(f"--features {item!r}: expected audio=PATH or visual=PATH")
        out[modality] = path
    return out


def _train(args: argparse.Namespace) -> int:
    from unimeec.training.config import load_config
    from unimeec.training.model_card import metrics_table
    from unimeec.training.run import train

    overrides = list(args.overrides)
    if args.data_dir is not None:
        overrides.append(f"data.data_dir={args.data_dir}")
    features = _features(args.features)
    if features:  # the same flag as `test` / `predict`; a YAML flow map keeps paths literal
        overrides.append(
            "data.features={"
            + ", ".join(f"{modality}: {json.dumps(path)}" for modality, path in features.items())
            + "}"
        )
    config = load_config(args.config, overrides)
    command = ["unimeec", "train", "--config", str(args.config), *args.overrides]
    if args.data_dir is not None:
        command += ["--data-dir", str(args.data_dir)]
    for item in args.features or []:
        command += ["--features", item]
    if args.output_dir is not None:
        command += ["--output-dir", str(args.output_dir)]
    result = train(config, output_dir=args.output_dir, command=command)
    if not result.primary:
        return 0
    columns = {
        name: values
        for name, values in (("dev", result.dev_metrics), ("test", result.test_metrics))
        if values
    }
    print(metrics_table(columns) if columns else "(no dev or test split: no metrics)")
    tau = (
        f", cause threshold {result.threshold:g} (tuned on dev)"
        if result.threshold is not None
        else ""
    )
    if result.neutral_bias is not None:
        tau += f", neutral bias {result.neutral_bias:g} (tuned on dev)"
    took = f"{result.seconds / 60:.1f} min" if result.seconds >= 60 else f"{result.seconds:.0f} s"
    print(f"\nrun directory: {result.run_dir} ({took}{tau})")
    return 0


def _test(args: argparse.Namespace) -> int:
    from lightning.pytorch.utilities import rank_zero_only

    from unimeec.training.model_card import metrics_table
    from unimeec.training.run import evaluate_checkpoint

    metrics, predictions = evaluate_checkpoint(
        args.checkpoint,
        split=args.split,
        dataset=args.dataset,
        data_dir=args.data_dir,
        features=_features(args.features),
        overrides=args.overrides,
    )
    if getattr(rank_zero_only, "rank", 0) != 0:  # extra DDP processes stay quiet
        return 0
    print(metrics_table({args.split: metrics}))
    if args.output is not None:
        from unimeec.outputs import write_text

        write_text(args.output, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    if args.predictions is not None:
        from unimeec.training.module import write_jsonl

        write_jsonl(predictions, args.predictions)
    return 0


def _predict(args: argparse.Namespace) -> int:
    if any(getattr(args, name) is not None for name in _SCALE_OPTIONS):
        return _predict_distributed(args)
    from unimeec.predict import predict_file

    predictions = predict_file(
        args.checkpoint,
        args.input,
        args.output,
        output_format=args.format,
        input_format=args.input_format,
        features=_features(args.features),
        batch_size=args.batch_size,
        threshold=args.threshold,
        neutral_bias=args.neutral_bias,
        quantize=args.quantize,
    )
    if args.output is not None:
        print(f"{len(predictions)} conversations predicted -> {args.output}", file=sys.stderr)
    return 0


#: ``predict`` options that select the Lightning engine (several devices or nodes).
_SCALE_OPTIONS = ("accelerator", "devices", "num_nodes", "strategy", "shard_dir")


def _predict_distributed(args: argparse.Namespace) -> int:
    from unimeec.predict_distributed import predict_file_distributed

    if args.output is None:
        raise ConfigError(
            "--output is required with --devices/--num-nodes/--strategy "
            "(the shards of the processes are merged into it)"
        )
    run = predict_file_distributed(
        args.checkpoint,
        args.input,
        args.output,
        output_format=args.format,
        input_format=args.input_format,
        features=_features(args.features),
        batch_size=args.batch_size,
        threshold=args.threshold,
        neutral_bias=args.neutral_bias,
        accelerator=args.accelerator or "auto",
        devices=args.devices or "auto",
        num_nodes=args.num_nodes or 1,
        strategy=args.strategy or "auto",
        shard_dir=args.shard_dir,
        keep_shards=args.keep_shards,
        quantize=args.quantize,
    )
    if run.primary:
        print(
            f"{run.conversations} conversations predicted by {run.world_size} process(es) "
            f"-> {run.output}",
            file=sys.stderr,
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``, ``test`` and ``predict`` to the ``unimeec`` command."""
    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML config, evaluate it, save it",
        description="Train on the config's dataset, select the best epoch and tune the cause "
        "threshold on dev, evaluate on test, and write a run directory (config, metrics, "
        "predictions, model/).",
    )
    p.add_argument(
        "--config", required=True, type=Path, help="YAML file, e.g. configs/ecf1_joint.yaml"
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="dotted overrides, e.g. trainer.max_epochs=1 data.limit=20",
    )
    p.add_argument("--data-dir", help="dataset root (default: data.data_dir or $UNIMEEC_DATA)")
    p.add_argument("--output-dir", help="where run directories go (default: output_dir)")
    p.add_argument(
        "--features",
        action="append",
        metavar="MODALITY=PATH",
        help="feature store, e.g. audio=stores/ecf_audio (repeatable; same as data.features)",
    )
    p.set_defaults(handler=_train)

    p = subparsers.add_parser(
        "test",
        help="evaluate a saved model on a dataset split",
        description="Evaluate a run or model directory on a split of its dataset and print "
        "the metrics table.",
    )
    p.add_argument("--checkpoint", required=True, help="run directory or its model/ directory")
    p.add_argument("--split", default="test", help="split to evaluate (default: test)")
    p.add_argument("--dataset", help="evaluate on another dataset with the same labels")
    p.add_argument("--data-dir", help="dataset root (default: as trained, or $UNIMEEC_DATA)")
    p.add_argument(
        "--features",
        action="append",
        metavar="MODALITY=PATH",
        help="feature store, e.g. audio=stores/ecf_audio (repeatable)",
    )
    p.add_argument("--output", help="also write the metrics as JSON here")
    p.add_argument("--predictions", help="also write the predictions as JSONL here")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="overrides of the saved config, e.g. trainer.devices=2 data.eval_batch_size=8",
    )
    p.set_defaults(handler=_test)

    p = subparsers.add_parser(
        "predict",
        help="predict emotions and cause pairs for conversations in a file",
        description="Read a JSONL (our format) or SemEval-2024 JSON file, predict, and write "
        "JSONL or a SemEval-2024 submission: semeval / semeval-subtask2 (utterance causes), "
        "semeval-subtask1 (span causes as token positions); stdout by default.",
    )
    p.add_argument("--checkpoint", required=True, help="run directory or its model/ directory")
    p.add_argument("input", help="JSONL or SemEval JSON file")
    p.add_argument("--output", "-o", help="output file (default: stdout)")
    p.add_argument(
        "--format",
        default="jsonl",
        choices=("jsonl", "semeval", "semeval-subtask1", "semeval-subtask2"),
        help="output format (default: jsonl)",
    )
    p.add_argument(
        "--input-format",
        default=None,
        help="format of the input file (jsonl, semeval, ...; default: detected)",
    )
    p.add_argument(
        "--features",
        action="append",
        metavar="MODALITY=PATH",
        help="feature store, e.g. audio=stores/ecf_audio (repeatable)",
    )
    p.add_argument("--batch-size", type=positive_int, default=16, help="conversations per batch")
    p.add_argument("--threshold", type=probability, help="override the tuned cause threshold")
    p.add_argument(
        "--neutral-bias",
        type=finite_float,
        help="override the model's neutral-logit offset (model.neutral_bias; 0 = plain argmax)",
    )
    p.add_argument(
        "--quantize",
        choices=("none", "int8"),
        default="none",
        help="int8: dynamic quantisation of the backbone's linear layers, faster "
        "on CPU (default: none)",
    )
    p.set_defaults(handler=_predict)
    scale = p.add_argument_group(
        "several devices or nodes",
        "any of these runs Lightning's Trainer.predict (DDP): "
        "each process writes a shard, global rank 0 merges them into --output in input "
        "order, every conversation exactly once (docs/prediction.md)",
    )
    scale.add_argument("--accelerator", help="auto (default), cpu or gpu")
    scale.add_argument("--devices", help="processes per node: a count, or auto (default)")
    scale.add_argument("--num-nodes", type=positive_int, help="number of nodes (default: 1)")
    scale.add_argument(
        "--strategy",
        help="how the processes start: auto (default: ddp when "
        "several), ddp, ddp_spawn or ddp_fork",
    )
    scale.add_argument(
        "--shard-dir",
        help="where the per-rank shards go (default: "
        "OUTPUT.shards; on several nodes a shared filesystem)",
    )
    scale.add_argument("--keep-shards", action="store_true", help="keep the shards after merging")
