"""The EMA callback: hand-computed averages, dev scored and checkpointed with the average."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from unimeec.training.averaging import ExponentialMovingAverage

# lr 0.15: the residual flips sign and halves every step, so the weights oscillate
X, Y, LR = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0]]), 0.15


class Line(L.LightningModule):
    """``w . x`` with plain SGD on one fixed example: every step is computable by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.layer.weight.copy_(torch.tensor([[0.5, -0.5]]))
        self.seen_in_validation: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        return ((self.layer(x) - y) ** 2).sum()

    def validation_step(self, batch, batch_idx):
        self.seen_in_validation.append(self.layer.weight.detach().clone())
        self.log("score", -self.layer.weight.abs().sum())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=LR)


def _sgd_weights(steps: int) -> list[torch.Tensor]:
    w, out = torch.tensor([[0.5, -0.5]]), []
    for _ in range(steps):
        w = w - LR * 2 * (X @ w.T - Y) * X
        out.append(w)
    return out


def test_ema_is_scored_checkpointed_and_kept(tmp_path):
    decay, steps = 0.8, 6
    weights = _sgd_weights(steps)
    # start 0.3 of 6 steps = step 1: the average starts with the weights after step 2
    expected = weights[1]
    for w in weights[2:]:
        expected = decay * expected + (1 - decay) * w
    model = Line()
    data = DataLoader([(X[0], Y[0])] * steps, batch_size=1)
    checkpoint = ModelCheckpoint(
        dirpath=tmp_path, filename="best", monitor="score", mode="max", save_weights_only=True
    )
    trainer = L.Trainer(
        max_epochs=1,
        callbacks=[ExponentialMovingAverage(decay, 0.3), checkpoint],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
    )
    trainer.fit(model, data, DataLoader([(X[0], Y[0])], batch_size=1))
    # dev saw the average, the best checkpoint holds it, and so does the model after fit
    torch.testing.assert_close(model.seen_in_validation[-1], expected)
    saved = torch.load(tmp_path / "best.ckpt", weights_only=True)["state_dict"]["layer.weight"]
    torch.testing.assert_close(saved, expected)
    torch.testing.assert_close(model.layer.weight.detach(), expected)
    assert not torch.allclose(expected, weights[-1])  # the average is not the last weights


def test_training_continues_from_the_raw_weights_after_validation(tmp_path):
    decay, steps = 0.5, 3
    model = Line()
    data = DataLoader([(X[0], Y[0])] * steps, batch_size=1)
    trainer = L.Trainer(
        max_epochs=2,
        callbacks=[ExponentialMovingAverage(decay, 0.0)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
    )
    trainer.fit(model, data, DataLoader([(X[0], Y[0])], batch_size=1))
    weights = _sgd_weights(2 * steps)  # SGD never saw the averaged weights
    expected = weights[0]
    for w in weights[1:]:
        expected = decay * expected + (1 - decay) * w
    torch.testing.assert_close(model.seen_in_validation[1], expected)
    torch.testing.assert_close(model.layer.weight.detach(), expected)


def test_decay_must_be_a_fraction():
    with pytest.raises(ValueError, match=r"EMA decay must lie in \(0, 1\), got 1.0"):
        ExponentialMovingAverage(1.0)
