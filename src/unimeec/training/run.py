"""One experiment from config to run directory: train, tune tau on dev, test, save, describe.

Run directory layout (every run)::

    <output_dir>/<run_name>/
      config.yaml              resolved config (overrides applied, tuned threshold filled in)
      metrics_dev.json         dev metrics of the selected model at the tuned threshold
      metrics_test.json        test metrics (absent when the config has no test split)
      predictions_test.jsonl   test predictions in our JSONL format
      checkpoints/best.ckpt    Lightning checkpoint of the best dev epoch
      logs/csv/metrics.csv     per-step / per-epoch losses and metrics
      logs/tensorboard/        the same for TensorBoard
      model/                   save_pretrained model + processor + README.md model card
                               + training_config.yaml

Model selection and threshold tuning only ever look at the **dev** split.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch

from unimeec.data.labels import LABEL_SETS, NEUTRAL_LABELS
from unimeec.data.schema import Conversation
from unimeec.errors import CheckpointError, ConfigError
from unimeec.evaluation.formulas import JOINT_SCORE
from unimeec.training.config import TrainConfig, model_config_kwargs
from unimeec.training.datamodule import UniMEECDataModule
from unimeec.training.model_card import metrics_table, render_model_card, write_model_card
from unimeec.training.module import DEV_PREFIX, TEST_PREFIX, TUNE_PREFIX, UniMEECLightningModule
from unimeec.training.trainer import BEST_CHECKPOINT, build_trainer, check_hardware

log = logging.getLogger(__name__)

#: Name of the experiment config saved beside the model (makes a model dir self-describing).
TRAINING_CONFIG_FILE = "training_config.yaml"


@dataclass
class RunResult:
    """What :func:`train` produced."""

    run_dir: Path
    model_dir: Path
    dev_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    threshold: float | None = None
    seconds: float = 0.0
    #: False in the extra processes of a multi-process (DDP) run, which should stay quiet
    primary: bool = True


def monitor_metric(config: TrainConfig) -> str:
    """The dev metric to maximise (``trainer.monitor: auto``), one per task.

    Joint runs select on ``joint_f1`` (the mean of emotion weighted F1 and pair F1), so the
    kept epoch is good at both tasks (selecting on pair F1 alone can keep an epoch whose
    emotions are worse); emotion-only runs on weighted F1; cause-only runs on pair F1.
    """
    if config.trainer.monitor != "auto":
        name = config.trainer.monitor
        return name if name.startswith(DEV_PREFIX) else DEV_PREFIX + name
    return DEV_PREFIX + {"emotion": "merc_weighted_f1",
                         "cause": "mecpe_pair_f1"}.get(config.resolved_task, JOINT_SCORE)


_LOSSES = frozenset({"loss", "emotion_loss", "cause_loss"})


def _strip(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """Logged ``<prefix>metric`` values without the prefix; losses are not metrics."""
    return {k[len(prefix):]: float(v) for k, v in metrics.items()
            if k.startswith(prefix) and k[len(prefix):] not in _LOSSES}


def _stage_metrics(module: UniMEECLightningModule, logged: Mapping[str, Any],
                   prefix: str) -> dict[str, float]:
    """Exact metrics from the module when it ran in this process, else Lightning's logged ones."""
    exact = module.last_metrics.pop(prefix.rstrip("/"), None)
    return exact if exact is not None else _strip(logged, prefix)


def build_model(config: TrainConfig, datamodule: UniMEECDataModule) -> tuple[Any, Any]:
    """A fresh UniMEECModel + processor for the configured dataset, task and features."""
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    labels = LABEL_SETS[config.data.dataset]
    neutral = next(label for label in labels if label in NEUTRAL_LABELS) \
        if any(label in NEUTRAL_LABELS for label in labels) else labels[0]
    kwargs = model_config_kwargs(config, UniMEECConfig)
    for reserved in ("emotion_labels", "neutral_label", "modalities", "feature_dims", "tasks"):
        if reserved in kwargs:
            raise ConfigError(f"model.{reserved} is set from data/task; remove it from the config")
    features = datamodule.features
    model_config = UniMEECConfig(
        emotion_labels=list(labels), neutral_label=neutral,
        modalities=["text", *sorted(features)],
        feature_dims={m: lookup.dim for m, lookup in features.items()},
        tasks=config.resolved_task, **kwargs)
    model = UniMEECModel(model_config)
    # the model fills in backbone_config / label_word_ids: build the processor from its config
    processor = UniMEECProcessor.from_config(model.config)
    for modality, (mean, std) in datamodule.feature_statistics().items():
        model.set_feature_statistics(modality, mean, std)
    return model, processor


def _pick_threshold(results: Mapping[str, float], grid: Sequence[float]) -> float:
    """Highest dev pair F1; ties go to the threshold closest to 0.5 (the least extreme)."""
    scored = [(results.get(f"{TUNE_PREFIX}{tau:g}", 0.0), -abs(tau - 0.5), tau) for tau in grid]
    return max(scored)[2]


def _tune_threshold(module: UniMEECLightningModule, evaluator: L.Trainer,
                    datamodule: UniMEECDataModule, grid: Sequence[float]
                    ) -> tuple[float, dict[str, float]]:
    """One dev pass scoring every tau of ``grid``; sets the best in the model config.

    Returns tau and the dev metrics at tau (empty when the pass ran in other processes, e.g.
    ``ddp_spawn``, in which case the caller runs a plain dev pass).
    """
    module.last_metrics.clear()
    module.tuning = True
    results = evaluator.validate(module, datamodule=datamodule, verbose=False)[0]
    module.tuning = False
    exact = {f"{TUNE_PREFIX}{tau:g}": module.last_metrics[f"tune@{tau:g}"].get("mecpe_pair_f1", 0.0)
             for tau in grid if f"tune@{tau:g}" in module.last_metrics}
    threshold = _pick_threshold(exact or results, grid)
    module.model.config.cause_threshold = threshold
    log.info("cause threshold tuned on dev: tau=%g", threshold)
    return threshold, module.last_metrics.get(f"tune@{threshold:g}", {})


def _write_json(data: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(dict(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _run_dir(config: TrainConfig, output_dir: str | Path | None) -> Path:
    root = Path(output_dir if output_dir is not None else config.output_dir)
    name = config.run_name or f"{config.data.dataset}-{config.resolved_task}-" \
        f"{time.strftime('%Y%m%d-%H%M%S')}"
    return root / name


def train(config: TrainConfig, *, output_dir: str | Path | None = None,
          conversations: Mapping[str, list[Conversation]] | None = None,
          command: Sequence[str] | None = None) -> RunResult:
    """Train, select on dev, tune tau on dev, test, and write the run directory."""
    from unimeec import __version__
    from unimeec.models import UniMEECConfig

    start = time.perf_counter()
    model_config_kwargs(config, UniMEECConfig)  # unknown model keys fail before data is read
    L.seed_everything(config.seed, workers=True, verbose=False)
    datamodule = UniMEECDataModule(config.data, seed=config.seed, conversations=conversations)
    check_hardware(config.trainer)  # before minutes of data loading and model building
    datamodule.load()
    model, processor = build_model(config, datamodule)
    if config.trainer.compile:
        model.compile_context()
    datamodule.attach_processor(processor)
    has_dev = bool(datamodule.split("dev"))
    has_test = bool(datamodule.split("test"))
    tune = (has_dev and config.decoding.tune_threshold and config.resolved_task != "emotion")
    module = UniMEECLightningModule(model, config.optim,
                                    config.decoding.threshold_grid if tune else None)
    run_dir = _run_dir(config, output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    monitor = monitor_metric(config)
    trainer_config = config.trainer
    if datamodule.features and trainer_config.strategy in ("ddp", "ddp_spawn"):
        # a batch may lack a modality entirely, leaving its soft-prompt weights without grads
        trainer_config = trainer_config.model_copy(
            update={"strategy": f"{trainer_config.strategy}_find_unused_parameters_true"})
    trainer = build_trainer(trainer_config, run_dir, monitor=monitor, validate=has_dev)
    module.train()  # Lightning keeps the modes it is given; from_pretrained parts start in eval
    trainer.fit(module, datamodule=datamodule)

    best = run_dir / "checkpoints" / f"{BEST_CHECKPOINT}.ckpt"
    if has_dev and best.is_file():
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        module.load_state_dict(state)
        log.info("selected %s (best %s on dev)", best, monitor)

    evaluator = build_trainer(trainer_config, run_dir, monitor=None, validate=True, fit=False)
    threshold, dev_metrics = (_tune_threshold(module, evaluator, datamodule,
                                              config.decoding.threshold_grid)
                              if tune else (None, {}))
    if has_dev and not dev_metrics:
        module.last_metrics.clear()
        dev_metrics = _stage_metrics(
            module, evaluator.validate(module, datamodule=datamodule, verbose=False)[0],
            DEV_PREFIX)
    test_metrics: dict[str, float] = {}
    if has_test:
        module.predictions_path = run_dir / "predictions_test.jsonl"
        module.order = [c.id for c in datamodule.split("test")]
        module.last_metrics.clear()
        test_metrics = _stage_metrics(
            module, evaluator.test(module, datamodule=datamodule, verbose=False)[0], TEST_PREFIX)

    resolved = config.model_copy(deep=True)
    if threshold is not None:
        resolved.model = {**resolved.model, "cause_threshold": threshold}
    model_dir = run_dir / "model"
    if trainer.is_global_zero:
        (run_dir / "config.yaml").write_text(resolved.to_yaml(), encoding="utf-8")
        if has_dev:
            _write_json(dev_metrics, run_dir / "metrics_dev.json")
        if has_test:
            _write_json(test_metrics, run_dir / "metrics_test.json")
        from unimeec.predict import mark_version

        mark_version(module.model)
        module.model.save_pretrained(model_dir)
        processor.save_pretrained(model_dir)
        (model_dir / TRAINING_CONFIG_FILE).write_text(resolved.to_yaml(), encoding="utf-8")
        sizes = {role: len(datamodule.split(role)) for role in ("train", "dev", "test")
                 if datamodule.split(role)}
        columns = {name: values for name, values in (("dev", dev_metrics), ("test", test_metrics))
                   if values}
        write_model_card(model_dir, render_model_card(
            resolved, split_sizes=sizes, metrics=columns, command=command,
            threshold=threshold, version=__version__, backbone=str(module.model.config.backbone),
            monitor=monitor if has_dev else "none (no dev split)"))
        if config.predict.input:
            from unimeec.predict import predict_file

            suffix = "jsonl" if config.predict.format == "jsonl" else "json"
            out = run_dir / f"predictions_{Path(config.predict.input).stem}.{suffix}"
            predict_file(model_dir, config.predict.input, out, output_format=config.predict.format,
                         features=config.data.features or None)
            log.info("predictions for %s written to %s", config.predict.input, out)
    return RunResult(run_dir=run_dir, model_dir=model_dir, dev_metrics=dev_metrics,
                     test_metrics=test_metrics, threshold=threshold,
                     seconds=time.perf_counter() - start, primary=trainer.is_global_zero)


def resolve_model_dir(checkpoint: str | Path) -> Path:
    """A run directory or a model directory -> the model directory (with ``config.json``)."""
    path = Path(checkpoint)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint directory not found")
    if (path / "model" / "config.json").is_file():
        return path / "model"
    if (path / "config.json").is_file():
        return path
    raise CheckpointError(f"{path / 'config.json'}: not found; expected a run directory (with "
                          "model/) or a model directory saved by unimeec train")


def load_training_config(model_dir: Path) -> TrainConfig | None:
    """The experiment config saved with the model, if any."""
    from unimeec.training.config import load_config

    path = model_dir / TRAINING_CONFIG_FILE
    return load_config(path) if path.is_file() else None


def evaluate_checkpoint(checkpoint: str | Path, *, split: str = "test", dataset: str | None = None,
         data_dir: str | Path | None = None,
         conversations: Sequence[Conversation] | None = None,
         features: Mapping[str, str] | None = None,
         overrides: Sequence[str] = ()) -> tuple[dict[str, float], list[Conversation]]:
    """Evaluate a saved model on ``split`` (or on given conversations); metrics + predictions.

    ``overrides`` are dotted ``key=value`` settings applied to the saved training config
    (e.g. ``trainer.strategy=ddp_spawn trainer.devices=2 data.eval_batch_size=8``):
    evaluation scales out like training. The hardware settings of training are not reused
    (a model trained on GPUs is tested here on what this machine has, unless overridden).
    Predictions are returned for in-process strategies (not ``ddp_spawn``).
    """
    from unimeec.predict import load_model_and_processor
    from unimeec.training.config import config_from_dict

    model_dir = resolve_model_dir(checkpoint)
    model, processor = load_model_and_processor(model_dir)
    saved = load_training_config(model_dir)
    raw = saved.model_dump(mode="json") if saved is not None else {}
    raw.setdefault("data", {})
    if dataset is not None:
        raw["data"]["dataset"] = dataset
    if data_dir is not None:
        raw["data"]["data_dir"] = str(data_dir)
    if features is not None:
        raw["data"]["features"] = dict(features)
    raw["data"]["test_split"] = split
    raw["data"]["limit"] = None  # a smoke run's limit is not a property of the model
    raw["trainer"] = {**raw.get("trainer", {}), "accelerator": "auto", "devices": "auto",
                      "strategy": "auto", "num_nodes": 1}
    config = config_from_dict(raw, overrides,
                              source=str(model_dir / TRAINING_CONFIG_FILE))
    given = {split: list(conversations)} if conversations is not None else None
    datamodule = UniMEECDataModule(config.data, seed=config.seed, processor=processor,
                                   conversations=given, roles=("test",))
    datamodule.load()
    _check_modalities(model, datamodule)
    module = UniMEECLightningModule(model, config.optim)
    module.order = [c.id for c in datamodule.split("test")]
    evaluator = build_trainer(config.trainer, None, monitor=None, validate=True, fit=False)
    metrics = _stage_metrics(
        module, evaluator.test(module, datamodule=datamodule, verbose=False)[0], TEST_PREFIX)
    return metrics, module.test_predictions


def _check_modalities(model: Any, datamodule: UniMEECDataModule) -> None:
    trained = [m for m in getattr(model.config, "modalities", ["text"]) if m != "text"]
    missing = [m for m in trained if m not in datamodule.features]
    if missing:
        log.warning("the checkpoint was trained with %s features but none were given; those "
                    "modalities are treated as missing", ", ".join(missing))


def format_metrics(columns: Mapping[str, Mapping[str, float]]) -> str:
    """The metrics table printed at the end of ``unimeec train`` / ``unimeec test``."""
    return metrics_table(columns)
