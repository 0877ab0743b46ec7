"""The training configuration: one YAML file per experiment plus ``key=value`` overrides.

Why a schema: a typo in a YAML key must stop the run before hours are spent training the
wrong thing. Every section is a pydantic model that forbids unknown keys and checks types;
errors come back as one-line :class:`~unimeec.errors.ConfigError` messages naming the file
and the dotted key. The ``model`` section is passed to ``UniMEECConfig`` and is checked
against that class's constructor when the run starts (see :func:`model_config_kwargs`).
"""

from __future__ import annotations

import copy
import inspect
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from unimeec.data.datasets import DEFAULT_TASKS
from unimeec.data.modalities import FeatureModality
from unimeec.errors import ConfigError


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``1e-3`` is 0.001, not the string "1e-3"
    (PyYAML follows YAML 1.1, whose floats need a dot), in files and overrides alike."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YamlLoader)  # a SafeLoader subclass: safe


class _Section(BaseModel):
    """A config section: unknown keys and wrong types are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Which conversations to read and how to batch them.

    ``dev_fraction``: for datasets without a dev split (SemEval-2024 Task 3), hold out this
    fraction of the training conversations as dev, by the fixed rule of
    :func:`unimeec.data.holdout.in_holdout` (a hash of the conversation id, the rule of
    ``decoding.crossfit_fraction`` too); needs ``dev_split: null``.
    ``limit`` applies to the conversations read, before the hold-out.
    """

    dataset: str = "ecf1"
    data_dir: str | None = None
    train_splits: list[str] = Field(default_factory=lambda: ["train"], min_length=1)
    dev_split: str | None = "dev"
    dev_fraction: float | None = Field(default=None, gt=0, lt=1)
    test_split: str | None = "test"
    limit: int | None = Field(default=None, ge=1)
    features: dict[FeatureModality, str] = Field(default_factory=dict)
    missing_features: Literal["missing", "error"] = "missing"
    batch_size: int = Field(default=8, ge=1)
    #: Train on overlapping windows of at most this many utterances (None = whole
    #: conversations), so long dialogues give as many optimiser steps as short ones; see
    #: :mod:`unimeec.data.chunking`. Evaluation always sees whole conversations.
    train_chunk_utterances: int | None = Field(default=None, ge=2)
    eval_batch_size: int = Field(default=16, ge=1)
    num_workers: int = Field(default=0, ge=0)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value not in DEFAULT_TASKS:
            raise ValueError(
                f"unknown dataset {value!r}; expected one of {', '.join(sorted(DEFAULT_TASKS))}"
            )
        return value

    @model_validator(mode="after")
    def _one_dev_source(self) -> DataConfig:
        if self.dev_fraction is not None and self.dev_split is not None:
            raise ValueError(
                f"dev_fraction holds dev out of the training splits; set "
                f"dev_split: null (it is {self.dev_split!r})"
            )
        return self


class OptimConfig(_Section):
    """AdamW with a small learning rate for the pre-trained backbone, a larger one for new layers."""

    lr_backbone: float = Field(default=3e-5, gt=0)
    lr_head: float = Field(default=1e-3, gt=0)
    #: Learned loss weights (``model.loss_balancing: uncertainty``) only.
    lr_loss_weights: float = Field(default=1e-2, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(default=1e-8, gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, le=1)
    schedule: Literal["linear", "constant"] = "linear"
    #: Layer-wise rate decay inside the backbone: layer k of L trains at
    #: ``lr_backbone * layer_decay ** (L - k)``, the embeddings at ``** L`` (1 = off).
    layer_decay: float = Field(default=1.0, gt=0, le=1)
    #: ``pcgrad``: project the conflicting part out of each task gradient on the shared
    #: weights (Yu et al., 2020) instead of summing them; joint runs on one device only.
    gradient_projection: Literal["none", "pcgrad"] = "none"
    #: Fraction of the optimiser steps during which the backbone's rate is 0 (the fresh
    #: prompt, context and head layers train on fixed features first, as in linear probing
    #: then fine-tuning); the backbone's warm-up and decay then run over the steps left.
    backbone_frozen_ratio: float = Field(default=0.0, ge=0, lt=1)


class TrainerConfig(_Section):
    """Arguments of ``lightning.Trainer`` we expose, plus early stopping."""

    max_epochs: int = Field(default=2, ge=1)
    max_steps: int = -1
    accelerator: str = "auto"
    devices: int | str | list[int] = "auto"
    num_nodes: int = Field(default=1, ge=1)
    strategy: str = "auto"
    precision: str = "auto"
    gradient_clip_val: float | None = 1.0
    accumulate_grad_batches: int = Field(default=1, ge=1)
    early_stopping_patience: int = Field(default=2, ge=0)
    monitor: str = "auto"
    compile: bool = False
    val_check_interval: float | int = 1.0
    limit_train_batches: float | int = 1.0
    log_every_n_steps: int = Field(default=10, ge=1)
    deterministic: bool = False
    enable_progress_bar: bool = True
    #: Exponential moving average of the weights (None = off), used for dev selection and
    #: as the saved model; see :mod:`unimeec.training.averaging`.
    ema_decay: float | None = Field(default=None, gt=0, lt=1)
    #: Fraction of the optimiser steps after which averaging starts.
    ema_start: float = Field(default=0.1, ge=0, lt=1)


class DecodingConfig(_Section):
    """How the decoding settings are chosen: grid search on the dev split only.

    ``tune_threshold``: the cause threshold tau, on dev pair F1. ``tune_neutral_bias``: an
    offset added to the neutral label's logit (``model.neutral_bias``), chosen together with
    tau on the dev metric the run selects its epoch on (``joint_f1`` for joint runs, emotion
    weighted F1 for emotion runs): a model trained briefly over-predicts the majority label,
    and a cause can only be found for an utterance predicted non-neutral.
    """

    tune_threshold: bool = True
    threshold_grid: list[float] = Field(
        default_factory=lambda: [round(0.05 * k, 2) for k in range(1, 20)], min_length=1
    )
    tune_neutral_bias: bool = False
    neutral_bias_grid: list[float] = Field(
        default_factory=lambda: [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5], min_length=1
    )
    #: Without a dev split: tune tau on this fraction of the training conversations, held
    #: out of a first run of the same configuration (see :mod:`unimeec.training.crossfit`).
    crossfit_fraction: float | None = Field(default=None, gt=0, lt=1)

    @field_validator("threshold_grid")
    @classmethod
    def _probabilities(cls, value: list[float]) -> list[float]:
        bad = [t for t in value if not 0.0 < t < 1.0]
        if bad:
            raise ValueError(f"thresholds must lie in (0, 1), got {bad}")
        return sorted(set(value))

    @field_validator("neutral_bias_grid")
    @classmethod
    def _finite(cls, value: list[float]) -> list[float]:
        bad = [b for b in value if not math.isfinite(b)]
        if bad:
            raise ValueError(f"neutral biases must be finite numbers, got {bad}")
        return sorted(set(value))


class DistillConfig(_Section):
    """Distil a trained teacher's emotion distribution into this model (off: ``teacher: null``).

    The loss becomes ``loss + weight * T^2 * KL(teacher || student)`` at temperature ``T``
    over the training utterances with a gold emotion; see :mod:`unimeec.training.distill`.
    """

    #: A saved UniMEEC model directory (or run directory) with the same emotion labels.
    teacher: str | None = None
    weight: float = Field(default=1.0, ge=0)
    temperature: float = Field(default=2.0, gt=0)
    #: Conversations per teacher batch when it predicts the training split.
    batch_size: int = Field(default=16, ge=1)
    #: Reuse the teacher's predictions from ``$UNIMEEC_CACHE/distill`` when they are there.
    cache: bool = True


class PredictConfig(_Section):
    """An extra input predicted after training (e.g. the SemEval evaluation file)."""

    input: str | None = None
    format: Literal["jsonl", "semeval", "semeval-subtask1", "semeval-subtask2"] = "jsonl"


class TrainConfig(_Section):
    """A whole experiment. ``model`` holds ``UniMEECConfig`` keyword arguments."""

    seed: int = 42
    task: Literal["auto", "joint", "emotion", "cause"] = "auto"
    output_dir: str = "runs"
    run_name: str | None = None
    data: DataConfig = Field(default_factory=DataConfig)
    model: dict[str, Any] = Field(default_factory=dict)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)
    predict: PredictConfig = Field(default_factory=PredictConfig)

    @property
    def resolved_task(self) -> str:
        """The task, with ``auto`` replaced by the dataset's default."""
        return DEFAULT_TASKS[self.data.dataset] if self.task == "auto" else self.task

    @model_validator(mode="after")
    def _one_holdout(self) -> TrainConfig:
        if self.data.dev_fraction is not None and self.decoding.crossfit_fraction is not None:
            raise ValueError(
                "data.dev_fraction already gives a dev split to tune tau on; "
                "remove decoding.crossfit_fraction"
            )
        return self

    @model_validator(mode="after")
    def _distil_emotions(self) -> TrainConfig:
        if self.distill.teacher is not None and self.resolved_task == "cause":
            raise ValueError(
                "distill.teacher: distillation passes on emotions, and this run trains "
                "causes only (task: cause)"
            )
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.lr_head=1e-3"`` -> (["optim", "lr_head"], 0.001); values are read as YAML.

    Hand-written rather than OmegaConf's dotlist: these dozen lines keep our error
    messages and YAML typing, and a dependency would not make them shorter.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"override {text!r} is not of the form key=value (e.g. trainer.max_epochs=3)"
        )
    try:
        value = _yaml(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({err.problem})") from None
    return [part for part in key.strip().split(".")], value


def _apply_override(tree: dict[str, Any], path: list[str], value: Any, text: str) -> None:
    node = tree
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {text!r}: {'.'.join(path[: depth + 1])} is not a section")
        node = child
    node[path[-1]] = value


def _format_validation_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif "input" in first and not isinstance(first["input"], (dict, list)):
        msg = f"{msg} (got {first['input']!r})"
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{source}: {loc}: {msg}{more}"


def config_from_dict(
    raw: Mapping[str, Any], overrides: Sequence[str] = (), source: str = "config"
) -> TrainConfig:
    """Validate a config tree after applying dotted ``key=value`` overrides."""
    tree = copy.deepcopy(dict(raw))
    for text in overrides:
        path, value = parse_override(text)
        _apply_override(tree, path, value, text)
    try:
        return TrainConfig.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML experiment file; ConfigError names the file and the offending key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from None
    try:
        raw = _yaml(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping, got {type(raw).__name__}")
    return config_from_dict(raw, overrides, source=str(path))


def model_config_kwargs(config: TrainConfig, config_class: type) -> dict[str, Any]:
    """Check ``config.model`` against ``config_class.__init__`` (unknown keys, wrong types)."""
    params = inspect.signature(config_class.__init__).parameters
    known = {
        name: p
        for name, p in params.items()
        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    for key, value in config.model.items():
        if key not in known:
            raise ConfigError(
                f"model.{key}: unknown key; known model keys: {', '.join(sorted(known))}"
            )
        default = known[key].default
        if default is inspect.Parameter.empty or default is None or value is None:
            continue
        expected: tuple[type, ...] = (type(default),)
        if isinstance(default, float):
            expected = (float, int)
        elif isinstance(default, (list, tuple)):
            expected = (list, tuple)
        if isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, expected):
            raise ConfigError(f"model.{key}: expected {type(default).__name__}, got {value!r}")
    return dict(config.model)
