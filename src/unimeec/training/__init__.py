"""Training: experiment configs, the Lightning module and data module, runs.

Saving and loading model directories is :mod:`unimeec.checkpoint` (inference needs it too).

``unimeec train`` / ``unimeec test`` are thin wrappers over :func:`unimeec.training.run.train`
and :func:`unimeec.training.run.evaluate_checkpoint`. Names are imported lazily so that the ``unimeec``
command starts without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "TrainConfig": "unimeec.training.config",
    "load_config": "unimeec.training.config",
    "config_from_dict": "unimeec.training.config",
    "UniMEECDataModule": "unimeec.training.datamodule",
    "UniMEECLightningModule": "unimeec.training.module",
    "ConversationBatchSampler": "unimeec.training.sampler",
    "RunResult": "unimeec.training.run",
    "train": "unimeec.training.run",
    "evaluate_checkpoint": "unimeec.training.run",
}

__all__ = [
    "ConversationBatchSampler",
    "RunResult",
    "TrainConfig",
    "UniMEECDataModule",
    "UniMEECLightningModule",
    "config_from_dict",
    "evaluate_checkpoint",
    "load_config",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
