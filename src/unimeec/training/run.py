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
                               + training_config.yaml + checkpoint_manifest.json
                               (see unimeec.checkpoint)

Model selection and threshold tuning only ever look at the **dev** split. :func:`train` is
a sequence of named steps (:func:`prepare_data`, :func:`build_model`, :func:`fit`,
:func:`evaluate_run`, :func:`save_run`, :func:`predict_extra`); the LightningModule gets what
each pass needs when it is built (a separate module scores the threshold grid), never
through attributes set from outside.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch

from unimeec import __version__
from unimeec.checkpoint import load_model_and_processor, resolve_model_dir, save_checkpoint
from unimeec.data.datasets import LABEL_SETS
from unimeec.data.labels import NEUTRAL_LABELS
from unimeec.data.schema import Conversation
from unimeec.errors import ConfigError
from unimeec.evaluation.formulas import JOINT_SCORE
from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor
from unimeec.predict import predict_file
from unimeec.training.config import (
    TrainConfig,
    TrainerConfig,
    config_from_dict,
    load_config,
    model_config_kwargs,
)
from unimeec.training.crossfit import needs_crossfit, with_crossfit_threshold
from unimeec.training.datamodule import UniMEECDataModule
from unimeec.training.distill import Distillation, teacher_log_probs
from unimeec.training.model_card import MODEL_CARD_FILE, render_model_card
from unimeec.training.module import (
    DEV_PREFIX,
    TEST_PREFIX,
    TUNE_METRIC,
    UniMEECLightningModule,
    tune_key,
)
from unimeec.training.trainer import BEST_CHECKPOINT, build_trainer, check_hardware, on_cuda

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
    #: The neutral bias tuned on dev (``decoding.tune_neutral_bias``), else None.
    neutral_bias: float | None = None
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
    return DEV_PREFIX + {"emotion": "merc_weighted_f1", "cause": "mecpe_pair_f1"}.get(
        config.resolved_task, JOINT_SCORE
    )


_LOSSES = frozenset({"loss", "emotion_loss", "cause_loss", "span_loss"})


def _strip(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """Logged ``<prefix>metric`` values without the prefix; losses are not metrics."""
    return {
        k[len(prefix) :]: float(v)
        for k, v in metrics.items()
        if k.startswith(prefix) and k[len(prefix) :] not in _LOSSES
    }


def run_stage(
    module: UniMEECLightningModule, evaluator: L.Trainer, datamodule: UniMEECDataModule, stage: str
) -> dict[str, float]:
    """One ``"val"`` or ``"test"`` pass; its metrics without prefix.

    Exact values come from the module when the pass ran in this process, else (``ddp_spawn``)
    from what Lightning logged.
    """
    run = evaluator.validate if stage == "val" else evaluator.test
    logged = run(module, datamodule=datamodule, verbose=False)[0]
    exact = module.stage_metrics(stage)
    return (
        exact
        if exact is not None
        else _strip(logged, DEV_PREFIX if stage == "val" else TEST_PREFIX)
    )


def build_model(config: TrainConfig, datamodule: UniMEECDataModule) -> tuple[Any, Any]:
    """A fresh UniMEECModel + processor for the configured dataset, task and features."""
    labels = LABEL_SETS[config.data.dataset]
    neutral = (
        next(label for label in labels if label in NEUTRAL_LABELS)
        if any(label in NEUTRAL_LABELS for label in labels)
        else labels[0]
    )
    kwargs = model_config_kwargs(config, UniMEECConfig)
    for reserved in ("emotion_labels", "neutral_label", "modalities", "feature_dims", "tasks"):
        if reserved in kwargs:
            raise ConfigError(f"model.{reserved} is set from data/task; remove it from the config")
    features = datamodule.features
    model_config = UniMEECConfig(
        emotion_labels=list(labels),
        neutral_label=neutral,
        modalities=["text", *sorted(features)],
        feature_dims={m: lookup.dim for m, lookup in features.items()},
        tasks=config.resolved_task,
        **kwargs,
    )
    model = UniMEECModel(model_config)
    # the model fills in backbone_config / label_word_ids: build the processor from its config
    processor = UniMEECProcessor.from_config(model.config)
    for modality, (mean, std) in datamodule.feature_statistics().items():
        model.set_feature_statistics(modality, mean, std)
    return model, processor


def pick_threshold(scores: Mapping[float, float], grid: Sequence[float]) -> float:
    """Highest dev pair F1; ties go to the threshold closest to 0.5 (the least extreme)."""
    return max((scores.get(tau, 0.0), -abs(tau - 0.5), tau) for tau in grid)[2]


def pick_decoding(
    scores: Mapping[tuple[float | None, float | None], float],
) -> tuple[float | None, float | None]:
    """Highest dev score; ties go to the smallest bias, then the tau closest to 0.5."""

    def key(candidate: tuple[float | None, float | None]) -> tuple[float, float, float]:
        bias, tau = candidate
        return (scores[candidate], -abs(bias or 0.0), -abs((tau or 0.5) - 0.5))

    return max(scores, key=key)


def tune_decoding(
    model: Any,
    config: TrainConfig,
    evaluator: L.Trainer,
    datamodule: UniMEECDataModule,
    *,
    tune_tau: bool = True,
    tune_bias: bool = False,
) -> tuple[float | None, dict[str, float], float | None]:
    """One dev pass scoring every candidate decoding; sets the best in the model config.

    Thresholds alone are chosen on dev pair F1 (:func:`pick_threshold`); with ``tune_bias``
    every (neutral bias, tau) pair of the two grids is scored on the run's selection metric
    (:func:`monitor_metric`) and the best kept (:func:`pick_decoding`). Returns tau (None
    when not tuned), the dev metrics at the choice (empty when the pass ran in other
    processes, e.g. ``ddp_spawn``: the caller then runs a plain dev pass) and the bias
    (None when not tuned).
    """
    grid = config.decoding.threshold_grid if tune_tau else []
    biases = config.decoding.neutral_bias_grid if tune_bias else []
    metric = monitor_metric(config).removeprefix(DEV_PREFIX) if tune_bias else TUNE_METRIC
    tuner = UniMEECLightningModule(
        model, config.optim, threshold_grid=grid, neutral_bias_grid=biases, tune_metric=metric
    )
    logged = evaluator.validate(tuner, datamodule=datamodule, verbose=False)[0]
    exact = tuner.decoding_metrics()
    candidates = tuner.candidates
    scores = (
        {c: values.get(metric, 0.0) for c, values in exact.items()}
        if exact
        else {
            (bias, tau): float(logged[tune_key(tau, bias, metric)])
            for bias, tau in candidates
            if tune_key(tau, bias, metric) in logged
        }
    )
    if tune_bias:
        bias, threshold = pick_decoding(scores)
    else:
        bias, threshold = None, pick_threshold({t: v for (_, t), v in scores.items()}, grid)
    if threshold is not None:
        model.config.cause_threshold = threshold
    if bias is not None:
        model.config.neutral_bias = bias
    log.info(
        "decoding tuned on dev:%s%s",
        f" tau={threshold:g}" if threshold is not None else "",
        f" neutral bias={bias:g}" if bias is not None else "",
    )
    return threshold, exact.get((bias, threshold), {}), bias


def _write_json(data: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(dict(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _run_dir(config: TrainConfig, output_dir: str | Path | None) -> Path:
    root = Path(output_dir if output_dir is not None else config.output_dir)
    name = (
        config.run_name
        or f"{config.data.dataset}-{config.resolved_task}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    return root / name


# ---------------------------------------------------------------------- the steps of train
def prepare_data(
    config: TrainConfig, conversations: Mapping[str, list[Conversation]] | None
) -> UniMEECDataModule:
    """Fail fast on config and hardware, then read the splits and open the features."""
    model_config_kwargs(config, UniMEECConfig)  # unknown model keys fail before data is read
    L.seed_everything(config.seed, workers=True, verbose=False)
    datamodule = UniMEECDataModule(config.data, seed=config.seed, conversations=conversations)
    check_hardware(config.trainer)  # before minutes of data loading and model building
    datamodule.load()
    return datamodule


def build_distillation(
    config: TrainConfig, datamodule: UniMEECDataModule, model_config: Any
) -> Distillation | None:
    """The teacher's emotion distributions of the training split (``distill.teacher``)."""
    settings = config.distill
    if settings.teacher is None:
        return None
    # under DDP every process predicts on its own device (Lightning sets LOCAL_RANK)
    gpu = on_cuda(config.trainer.accelerator)
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if gpu else "cpu"
    table = teacher_log_probs(
        settings.teacher,
        datamodule.split("train"),
        model_config,
        features=datamodule.features or None,
        device=device,
        batch_size=settings.batch_size,
        use_cache=settings.cache,
    )
    return Distillation(table, weight=settings.weight, temperature=settings.temperature)


def _trainer_config(config: TrainConfig, datamodule: UniMEECDataModule) -> TrainerConfig:
    trainer_config = config.trainer
    if datamodule.features and trainer_config.strategy in ("ddp", "ddp_spawn"):
        # a batch may lack a modality entirely, leaving its soft-prompt weights without grads
        trainer_config = trainer_config.model_copy(
            update={"strategy": f"{trainer_config.strategy}_find_unused_parameters_true"}
        )
    return trainer_config


def fit(
    module: UniMEECLightningModule,
    trainer: L.Trainer,
    datamodule: UniMEECDataModule,
    run_dir: Path,
    monitor: str,
) -> None:
    """Train; then keep the weights of the best dev epoch (when there is a dev split)."""
    module.train()  # Lightning keeps the modes it is given; from_pretrained parts start in eval
    trainer.fit(module, datamodule=datamodule)
    best = run_dir / "checkpoints" / f"{BEST_CHECKPOINT}.ckpt"
    if datamodule.split("dev") and best.is_file():
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        module.load_state_dict(state)
        log.info("selected %s (best %s on dev)", best, monitor)


def evaluate_run(
    module: UniMEECLightningModule,
    config: TrainConfig,
    evaluator: L.Trainer,
    datamodule: UniMEECDataModule,
    tune: bool,
    tune_bias: bool = False,
) -> tuple[float | None, dict[str, float], dict[str, float], float | None]:
    """Tune the decoding on dev (when asked), then dev and test metrics:
    ``(tau, dev, test, neutral bias)``."""
    threshold, dev_metrics, bias = (
        tune_decoding(
            module.model, config, evaluator, datamodule, tune_tau=tune, tune_bias=tune_bias
        )
        if tune or tune_bias
        else (None, {}, None)
    )
    if datamodule.split("dev") and not dev_metrics:
        dev_metrics = run_stage(module, evaluator, datamodule, "val")
    test_metrics = (
        run_stage(module, evaluator, datamodule, "test") if datamodule.split("test") else {}
    )
    return threshold, dev_metrics, test_metrics, bias


def save_run(
    result: RunResult,
    config: TrainConfig,
    module: UniMEECLightningModule,
    processor: Any,
    datamodule: UniMEECDataModule,
    *,
    monitor: str,
    command: Sequence[str] | None,
) -> None:
    """Write the run directory: resolved config, metrics, and the sealed model directory."""
    resolved = config.model_copy(deep=True)
    if result.threshold is not None:
        resolved.model = {**resolved.model, "cause_threshold": result.threshold}
    if result.neutral_bias is not None:
        resolved.model = {**resolved.model, "neutral_bias": result.neutral_bias}
    run_dir = result.run_dir
    (run_dir / "config.yaml").write_text(resolved.to_yaml(), encoding="utf-8")
    if result.dev_metrics:
        _write_json(result.dev_metrics, run_dir / "metrics_dev.json")
    if result.test_metrics:
        _write_json(result.test_metrics, run_dir / "metrics_test.json")
    sizes = {
        role: len(datamodule.split(role))
        for role in ("train", "dev", "test")
        if datamodule.split(role)
    }
    columns = {
        name: values
        for name, values in (("dev", result.dev_metrics), ("test", result.test_metrics))
        if values
    }
    has_dev = bool(datamodule.split("dev"))
    card = render_model_card(
        resolved,
        split_sizes=sizes,
        metrics=columns,
        command=command,
        threshold=result.threshold,
        neutral_bias=result.neutral_bias,
        version=__version__,
        backbone=str(module.model.config.backbone),
        monitor=monitor if has_dev else "none (no dev split)",
    )
    save_checkpoint(
        module.model,
        processor,
        result.model_dir,
        files={TRAINING_CONFIG_FILE: resolved.to_yaml(), MODEL_CARD_FILE: card},
    )


def predict_extra(config: TrainConfig, result: RunResult) -> None:
    """Predict ``predict.input`` with the saved model (e.g. the SemEval evaluation file)."""
    suffix = "jsonl" if config.predict.format == "jsonl" else "json"
    out = result.run_dir / f"predictions_{Path(str(config.predict.input)).stem}.{suffix}"
    predict_file(
        result.model_dir,
        str(config.predict.input),
        out,
        output_format=config.predict.format,
        features=config.data.features or None,
    )
    log.info("predictions for %s written to %s", config.predict.input, out)


def train(
    config: TrainConfig,
    *,
    output_dir: str | Path | None = None,
    conversations: Mapping[str, list[Conversation]] | None = None,
    command: Sequence[str] | None = None,
) -> RunResult:
    """Train, select on dev, tune tau on dev, test, and write the run directory."""
    start = time.perf_counter()
    if needs_crossfit(config, conversations):
        model_config_kwargs(config, UniMEECConfig)  # fail before the first of the two runs
        config = with_crossfit_threshold(
            config, train, output_dir=output_dir, conversations=conversations
        )
    datamodule = prepare_data(config, conversations)
    model, processor = build_model(config, datamodule)
    if config.trainer.compile:
        model.compile_context()
    datamodule.attach_processor(processor)
    has_dev = bool(datamodule.split("dev"))
    if not has_dev and config.resolved_task != "emotion" and "cause_threshold" not in config.model:
        log.warning(
            "no dev split: pairs are decoded at the untuned default cause threshold; "
            "set decoding.crossfit_fraction (e.g. 0.1) or model.cause_threshold"
        )
    run_dir = _run_dir(config, output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    module = UniMEECLightningModule(
        model,
        config.optim,
        test_order=[c.id for c in datamodule.split("test")],
        predictions_path=run_dir / "predictions_test.jsonl",
        distillation=build_distillation(config, datamodule, model.config),
    )
    monitor = monitor_metric(config)
    trainer_config = _trainer_config(config, datamodule)
    trainer = build_trainer(trainer_config, run_dir, monitor=monitor, validate=has_dev)
    fit(module, trainer, datamodule, run_dir, monitor)

    evaluator = build_trainer(trainer_config, run_dir, monitor=None, validate=True, fit=False)
    tune = has_dev and config.decoding.tune_threshold and config.resolved_task != "emotion"
    tune_bias = has_dev and config.decoding.tune_neutral_bias and config.resolved_task != "cause"
    threshold, dev_metrics, test_metrics, bias = evaluate_run(
        module, config, evaluator, datamodule, tune, tune_bias
    )
    result = RunResult(
        run_dir=run_dir,
        model_dir=run_dir / "model",
        dev_metrics=dev_metrics,
        test_metrics=test_metrics,
        threshold=threshold,
        neutral_bias=bias,
        primary=trainer.is_global_zero,
    )
    if result.primary:
        save_run(result, config, module, processor, datamodule, monitor=monitor, command=command)
        if config.predict.input:
            predict_extra(config, result)
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------- saved models
def load_training_config(model_dir: Path) -> TrainConfig | None:
    """The experiment config saved with the model, if any."""
    path = model_dir / TRAINING_CONFIG_FILE
    return load_config(path) if path.is_file() else None


def evaluate_checkpoint(
    checkpoint: str | Path,
    *,
    split: str = "test",
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    conversations: Sequence[Conversation] | None = None,
    features: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
) -> tuple[dict[str, float], list[Conversation]]:
    """Evaluate a saved model on ``split`` (or on given conversations); metrics + predictions.

    ``overrides`` are dotted ``key=value`` settings applied to the saved training config
    (e.g. ``trainer.strategy=ddp_spawn trainer.devices=2 data.eval_batch_size=8``):
    evaluation scales out like training. The hardware settings of training are not reused
    (a model trained on GPUs is tested here on what this machine has, unless overridden).
    Predictions are returned for in-process strategies (not ``ddp_spawn``).
    """
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
    raw["trainer"] = {
        **raw.get("trainer", {}),
        "accelerator": "auto",
        "devices": "auto",
        "strategy": "auto",
        "num_nodes": 1,
    }
    config = config_from_dict(raw, overrides, source=str(model_dir / TRAINING_CONFIG_FILE))
    given = {split: list(conversations)} if conversations is not None else None
    datamodule = UniMEECDataModule(
        config.data, seed=config.seed, processor=processor, conversations=given, roles=("test",)
    )
    datamodule.load()
    _check_modalities(model, datamodule)
    module = UniMEECLightningModule(
        model, config.optim, test_order=[c.id for c in datamodule.split("test")]
    )
    evaluator = build_trainer(config.trainer, None, monitor=None, validate=True, fit=False)
    metrics = run_stage(module, evaluator, datamodule, "test")
    return metrics, module.test_predictions


def _check_modalities(model: Any, datamodule: UniMEECDataModule) -> None:
    trained = [m for m in getattr(model.config, "modalities", ["text"]) if m != "text"]
    missing = [m for m in trained if m not in datamodule.features]
    if missing:
        log.warning(
            "the checkpoint was trained with %s features but none were given; those "
            "modalities are treated as missing",
            ", ".join(missing),
        )
