"""Train and test UniMEEC for a benchmark through the training pipeline (``unimeec train``).

The benchmarks do not re-implement training: they build the same ``TrainConfig`` that
``unimeec train --config configs/<file>.yaml key=value ...`` builds (the dataset's config
file of :data:`CONFIG_FILES` when the repository has it, else the defaults) and call
:func:`unimeec.training.run.train`, which selects the epoch and the cause threshold on dev.
The test predictions it writes are then scored with :func:`unimeec.evaluation.evaluate`,
the function that scores the baselines, so every row of a table is computed alike.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import bench_common as bc

CONFIGS_DIR = bc.REPO / "configs"
#: The experiment file each dataset's benchmark starts from (text only, the dataset's task).
CONFIG_FILES: dict[str, str] = {
    "ecf1": "ecf1_joint.yaml",
    "meld": "meld_emotion.yaml",
    "reccon": "reccon_cause.yaml",
    "semeval2024": "semeval2024_subtask2.yaml",
    "iemocap": "iemocap_emotion.yaml",
}


def config_file(dataset: str) -> Path | None:
    """The dataset's experiment file in ``configs/`` when the repository ships one."""
    path = CONFIGS_DIR / CONFIG_FILES.get(dataset, f"{dataset}.yaml")
    return path if path.is_file() else None


def training_overrides(
    dataset: str, seed: int, args: argparse.Namespace, run_name: str
) -> list[str]:
    """``key=value`` settings the benchmark fixes (on top of the dataset's config file)."""
    overrides = [
        f"data.dataset={dataset}",
        f"seed={seed}",
        f"output_dir={args.run_dir}",
        f"run_name={run_name}",
        f"trainer.max_epochs={args.epochs}",
        "trainer.enable_progress_bar=false",
    ]
    if args.max_steps is not None:
        overrides.append(f"trainer.max_steps={args.max_steps}")
    if args.backbone:
        overrides.append(f"model.backbone={args.backbone}")
    accelerator = "gpu" if args.device.startswith("cuda") else "cpu"
    precision = "bf16-mixed" if args.precision == "bf16" else "32-true"
    overrides += [
        f"trainer.accelerator={accelerator}",
        "trainer.devices=1",
        f"trainer.precision={precision}",
    ]
    return overrides


#: The note of every ``<name>-gold-emotions`` row (quality.py, run_record.py).
GOLD_EMOTIONS_NOTE = "the same trained models; cause pairs decoded for the gold emotion utterances"


def predict_with_gold_emotions(
    model_dir: Path, conversations: list[Any], args: argparse.Namespace, batch_size: int = 16
) -> list[Any]:
    """Cause pairs decoded for the *gold* emotion utterances (the setting of the rule's 64.5)."""
    import torch

    from unimeec.checkpoint import move_batch
    from unimeec.predict import Predictor

    predictor = Predictor.from_pretrained(model_dir, device=args.device)
    model, processor = predictor.model, predictor.processor
    predictions: list[Any] = []
    autocast = torch.autocast(
        device_type=torch.device(args.device).type,
        dtype=torch.bfloat16,
        enabled=args.precision == "bf16",
    )
    with torch.inference_mode(), autocast:
        for start in range(0, len(conversations), batch_size):
            batch = move_batch(processor(conversations[start : start + batch_size]), args.device)
            out = model(**batch)
            predictions.extend(model.decode(out, batch, gold_emotions=True))
    return predictions


def train_and_test(
    dataset: str,
    seed: int,
    args: argparse.Namespace,
    extra: list[str],
    splits: dict[str, list[Any]],
    gold_emotions: bool = False,
) -> tuple[dict[str, float], dict[str, Any], dict[str, float] | None]:
    """One seed: train (dev-selected), predict test, score.

    Returns (test metrics, run info, test metrics with causes decoded for the gold emotion
    utterances, or None unless ``gold_emotions`` and the model has a cause head).
    """
    from unimeec.data import read_conversations
    from unimeec.evaluation import evaluate
    from unimeec.training.config import config_from_dict, load_config
    from unimeec.training.run import train

    tag = "-".join(o.replace("=", "_").replace(".", "_").replace("/", "_") for o in extra)
    run_name = f"{dataset}-seed{seed}" + (f"-{tag}" if tag else "")
    overrides = training_overrides(dataset, seed, args, run_name) + list(extra)
    source = config_file(dataset)
    config = (
        load_config(source, overrides) if source is not None else config_from_dict({}, overrides)
    )
    started = time.perf_counter()
    result = train(config, conversations=splits)
    seconds = time.perf_counter() - started
    predictions = read_conversations(result.run_dir / "predictions_test.jsonl", "jsonl")
    metrics = evaluate(splits["test"], predictions)
    gold_metrics = None
    if gold_emotions and config.resolved_task != "emotion":  # no cause head: no pairs
        gold_metrics = evaluate(
            splits["test"], predict_with_gold_emotions(result.model_dir, splits["test"], args)
        )
    info = {
        "seed": seed,
        "seconds": seconds,
        "run_dir": str(result.run_dir),
        "config_file": str(source.relative_to(bc.REPO)) if source else None,
        "overrides": overrides,
        "cause_threshold": result.threshold,
        "dev_metrics": bc.headline(result.dev_metrics, dataset),
    }
    return metrics, info, gold_metrics
