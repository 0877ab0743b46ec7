"""Build the ``lightning.Trainer`` of a run: hardware checks, precision, loggers, callbacks.

Why a function of its own: ``train`` and ``test`` need the same hardware resolution, and the
checks (a GPU asked for where there is none) must fail with one clear line before
Lightning raises from deep inside its connectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    TQDMProgressBar,
)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from unimeec.errors import ConfigError
from unimeec.training.averaging import ExponentialMovingAverage
from unimeec.training.config import TrainerConfig

_GPU_NAMES = frozenset({"gpu", "cuda"})
_ACCELERATORS = frozenset({"auto", "cpu", "gpu", "cuda", "mps", "tpu"})
#: File name (without .ckpt) of the best dev checkpoint inside ``checkpoints/``.
BEST_CHECKPOINT = "best"


def on_cuda(accelerator: str) -> bool:
    """Whether a run with ``trainer.accelerator`` = ``accelerator`` trains on a CUDA GPU."""
    return torch.cuda.is_available() and accelerator in _GPU_NAMES | {"auto"}


def resolve_precision(precision: str, accelerator: str) -> str:
    """``auto``: bf16 mixed precision on a CUDA GPU that supports it, else full fp32."""
    if precision != "auto":
        return precision
    if on_cuda(accelerator) and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def check_hardware(trainer: TrainerConfig) -> None:
    """Raise :class:`ConfigError` for hardware that this machine does not have."""
    if trainer.accelerator not in _ACCELERATORS:
        raise ConfigError(
            f"trainer.accelerator: unknown accelerator {trainer.accelerator!r}; "
            f"expected one of {', '.join(sorted(_ACCELERATORS))}"
        )
    if trainer.accelerator in _GPU_NAMES and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.accelerator is {trainer.accelerator!r} but no CUDA GPU is "
            "available on this machine; use trainer.accelerator=cpu (or auto)"
        )
    if (
        trainer.accelerator in _GPU_NAMES
        and isinstance(trainer.devices, int)
        and trainer.devices > torch.cuda.device_count()
    ):
        raise ConfigError(
            f"trainer.devices={trainer.devices} but this machine has "
            f"{torch.cuda.device_count()} GPU(s)"
        )
    if (
        trainer.precision.startswith("bf16")
        and trainer.accelerator in _GPU_NAMES
        and not torch.cuda.is_bf16_supported()
    ):
        raise ConfigError(
            f"trainer.precision={trainer.precision!r} but this GPU has no bf16; "
            "use trainer.precision=auto"
        )


def build_trainer(
    config: TrainerConfig,
    run_dir: Path | None,
    *,
    monitor: str | None,
    validate: bool,
    fit: bool = True,
) -> L.Trainer:
    """A Trainer for fitting (with early stopping / best checkpoint on dev) or evaluation only.

    ``monitor`` is the dev metric to maximise (``val/...``); ``validate=False`` runs without a
    dev split: no early stopping and the last epoch is kept.
    """
    check_hardware(config)
    callbacks: list[Callback] = []
    loggers: list[Any] | bool = False
    if fit and run_dir is not None:
        loggers = [
            CSVLogger(run_dir / "logs", name="csv", version=""),
            TensorBoardLogger(run_dir / "logs", name="tensorboard", version=""),
        ]
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    if fit and config.ema_decay is not None:
        callbacks.append(ExponentialMovingAverage(config.ema_decay, config.ema_start))
    if fit and run_dir is not None and validate and monitor:
        callbacks.append(
            ModelCheckpoint(
                dirpath=run_dir / "checkpoints",
                filename=BEST_CHECKPOINT,
                monitor=monitor,
                mode="max",
                save_top_k=1,
                save_weights_only=True,
                enable_version_counter=False,
            )
        )
        if config.early_stopping_patience > 0:
            # checked after each dev pass only: a run whose max_steps ends inside an
            # epoch has no dev metric at that epoch's end, which would be an error
            callbacks.append(
                EarlyStopping(
                    monitor=monitor,
                    mode="max",
                    patience=config.early_stopping_patience,
                    check_on_train_epoch_end=False,
                )
            )
    if config.enable_progress_bar:
        callbacks.append(TQDMProgressBar())
    kwargs: dict[str, Any] = {}
    if fit:
        kwargs.update(
            max_epochs=config.max_epochs,
            max_steps=config.max_steps,
            gradient_clip_val=config.gradient_clip_val,
            accumulate_grad_batches=config.accumulate_grad_batches,
            limit_train_batches=config.limit_train_batches,
            log_every_n_steps=config.log_every_n_steps,
        )
        if validate:
            kwargs["val_check_interval"] = config.val_check_interval
        else:
            kwargs["limit_val_batches"] = 0
    return L.Trainer(
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=resolve_precision(config.precision, config.accelerator),  # type: ignore[arg-type]
        logger=loggers,
        callbacks=callbacks,
        enable_checkpointing=fit and validate,
        enable_progress_bar=config.enable_progress_bar,
        enable_model_summary=fit,
        num_sanity_val_steps=0,
        deterministic=config.deterministic,
        use_distributed_sampler=False,  # ConversationBatchSampler splits batches across ranks
        default_root_dir=str(run_dir) if run_dir is not None else None,
        **kwargs,
    )
