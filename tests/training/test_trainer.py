"""The run's Trainer (training/trainer.py): callbacks and loggers per mode, hardware checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from unimeec.errors import ConfigError
from unimeec.training.config import TrainerConfig
from unimeec.training.trainer import build_trainer, check_hardware


def _cpu(**fields: object) -> TrainerConfig:
    return TrainerConfig(accelerator="cpu", devices=1, enable_progress_bar=False, **fields)


def test_fitting_with_a_dev_split_keeps_the_best_epoch_and_stops_early(tmp_path: Path) -> None:
    trainer = build_trainer(
        _cpu(max_epochs=3, early_stopping_patience=2),
        tmp_path,
        monitor="val/joint_f1",
        validate=True,
    )
    by_type = {type(c): c for c in trainer.callbacks}
    checkpoint = by_type[ModelCheckpoint]
    assert (checkpoint.dirpath, checkpoint.filename) == (str(tmp_path / "checkpoints"), "best")
    assert (checkpoint.monitor, checkpoint.mode, checkpoint.save_top_k) == (
        "val/joint_f1",
        "max",
        1,
    )
    stopping = by_type[EarlyStopping]
    assert (stopping.monitor, stopping.patience, stopping.mode) == ("val/joint_f1", 2, "max")
    assert LearningRateMonitor in by_type
    assert [type(lg) for lg in trainer.loggers] == [CSVLogger, TensorBoardLogger]
    assert Path(trainer.loggers[0].log_dir) == tmp_path / "logs" / "csv"  # metrics.csv here
    assert trainer.max_epochs == 3 and trainer.num_sanity_val_steps == 0
    assert trainer.precision == "32-true"  # "auto" on a CPU


def test_no_patience_no_early_stopping(tmp_path: Path) -> None:
    trainer = build_trainer(
        _cpu(early_stopping_patience=0), tmp_path, monitor="val/f1", validate=True
    )
    assert not any(isinstance(c, EarlyStopping) for c in trainer.callbacks)
    assert any(isinstance(c, ModelCheckpoint) for c in trainer.callbacks)


def test_without_dev_split_the_last_epoch_is_kept(tmp_path: Path) -> None:
    trainer = build_trainer(_cpu(), tmp_path, monitor=None, validate=False)
    assert not any(isinstance(c, (ModelCheckpoint, EarlyStopping)) for c in trainer.callbacks)
    assert trainer.limit_val_batches == 0


def test_evaluation_only_writes_nothing(tmp_path: Path) -> None:
    trainer = build_trainer(_cpu(), tmp_path, monitor="val/f1", validate=True, fit=False)
    assert trainer.loggers == []
    assert not any(
        isinstance(c, (ModelCheckpoint, EarlyStopping, LearningRateMonitor))
        for c in trainer.callbacks
    )
    assert not (tmp_path / "logs").exists()


def test_hardware_this_machine_lacks_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    with pytest.raises(ConfigError, match=r"^trainer.devices=2 but this machine has 1 GPU\(s\)$"):
        check_hardware(TrainerConfig(accelerator="gpu", devices=2))
    with pytest.raises(
        ConfigError,
        match="trainer.precision='bf16-mixed' but this GPU has no bf16; use trainer.precision=auto",
    ):
        check_hardware(TrainerConfig(accelerator="cuda", devices=1, precision="bf16-mixed"))
    check_hardware(TrainerConfig(accelerator="gpu", devices=1))  # one GPU asked, one there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU is available on this machine"):
        check_hardware(TrainerConfig(accelerator="gpu"))
    check_hardware(TrainerConfig(accelerator="cpu", precision="bf16-mixed"))  # CPU bf16: allowed
