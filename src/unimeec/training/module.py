"""The ``LightningModule`` around ``UniMEECModel``: losses, metrics, optimiser, threshold tuning.

Why this shape (after lightning-hydra-template): one ``ConversationMetrics`` object per
stage, so dev and test never share state; metrics are torchmetrics objects that sync across
DDP ranks and count a conversation duplicated by the sampler's padding once. The cause
threshold tau is tuned in a dedicated dev pass: one metric object per candidate tau is
updated with the same forward outputs, so the grid costs one forward pass, not one per tau.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from unimeec.data.io import write_conversations
from unimeec.data.schema import Conversation
from unimeec.errors import ConfigError
from unimeec.evaluation.metric import ConversationMetrics
from unimeec.models.modeling import LOSS_WEIGHTS_PARAMETER
from unimeec.training.config import OptimConfig
from unimeec.training.distill import Distillation
from unimeec.training.gradients import pcgrad_backward
from unimeec.training.optim import build_optimizer, build_scheduler

log = logging.getLogger(__name__)

#: The prefix of logged dev metrics; ``val/mecpe_pair_f1`` etc.
DEV_PREFIX = "val/"
TEST_PREFIX = "test/"
#: Candidate thresholds are scored on this dev metric, logged as ``tune/<metric>@<tau>``.
TUNE_METRIC = "mecpe_pair_f1"


#: One decoding setting scored by a tuning pass: (neutral bias, cause threshold tau);
#: ``None`` = the model's own value.
Candidate = tuple[float | None, float | None]


def tune_key(tau: float | None, bias: float | None = None, metric: str = TUNE_METRIC) -> str:
    """The one name of a candidate's score: ``tune/mecpe_pair_f1@0.35`` for a threshold
    alone, ``tune/joint_f1@0.35,bias=-0.5`` with a neutral bias."""
    where = "model" if tau is None else f"{tau:g}"
    return f"tune/{metric}@{where}" + ("" if bias is None else f",bias={bias:g}")


#: Metrics shown on the progress bar (the rest go to the loggers only).
PROGRESS_METRICS = ("merc_weighted_f1", "mecpe_pair_f1")


class UniMEECLightningModule(L.LightningModule):
    """Train, validate and test a :class:`~unimeec.models.UniMEECModel`.

    Everything a pass needs is given here, never set from outside:
    ``threshold_grid``: candidate cause thresholds; when given, every validation pass also
    scores each candidate (logged as :func:`tune_key` ``(tau)``). ``neutral_bias_grid``:
    candidate neutral biases; the pass then scores every (bias, tau) pair (logged on
    ``tune_metric``). Exact values of every candidate: :meth:`decoding_metrics`.
    Build a separate module over the same model for the tuning pass, so training epochs do
    not pay for the grid.
    ``test_order``: conversation ids in the order test predictions are kept (default: sorted).
    ``predictions_path``: when set, :meth:`on_test_epoch_end` writes the test predictions
    (JSONL, one conversation per line, each once, in ``test_order``) from rank 0.
    ``distillation``: a teacher's emotion distributions; training adds their weighted loss
    (logged as ``train/distill_loss``) to the emotion term.
    """

    def __init__(
        self,
        model: nn.Module,
        optim: OptimConfig | None = None,
        threshold_grid: Sequence[float] | None = None,
        *,
        neutral_bias_grid: Sequence[float] | None = None,
        tune_metric: str = TUNE_METRIC,
        test_order: Sequence[str] | None = None,
        predictions_path: str | Path | None = None,
        distillation: Distillation | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.distillation = distillation
        self.optim = optim or OptimConfig()
        taus, biases = list(threshold_grid or []), list(neutral_bias_grid or [])
        self.tune_metric = tune_metric
        self.candidates: list[Candidate] = (
            [(bias, tau) for bias in (biases or [None]) for tau in (taus or [None])]
            if taus or biases
            else []
        )
        # the label set fixes the count layout, identical in every DDP process
        labels = list(model.config.emotion_labels)
        self.val_metrics = ConversationMetrics(labels=labels)
        self.test_metrics = ConversationMetrics(labels=labels)
        self.tune_metrics = nn.ModuleList(
            ConversationMetrics(labels=labels) for _ in self.candidates
        )
        self.predictions_path = Path(predictions_path) if predictions_path is not None else None
        self.test_order = list(test_order) if test_order is not None else None
        self._test_predictions: list[Conversation] = []
        # exact Python floats of the last pass per stage (Lightning's logged values pass
        # through float32); in-process strategies only, cleared when a pass starts
        self._stage_metrics: dict[str, dict[str, float]] = {}
        self._decoding_metrics: dict[Candidate, dict[str, float]] = {}
        # (loss, per-task terms) of the current training step, for gradient projection
        self._step_losses: tuple[torch.Tensor, torch.Tensor] | None = None

    def stage_metrics(self, stage: str) -> dict[str, float] | None:
        """Exact metrics of the last ``"val"`` / ``"test"`` pass in this process, else None."""
        found = self._stage_metrics.get(stage)
        return dict(found) if found is not None else None

    def decoding_metrics(self) -> dict[Candidate, dict[str, float]]:
        """Exact metrics per candidate ``(bias, tau)`` of the last validation pass."""
        return {key: dict(values) for key, values in self._decoding_metrics.items()}

    # ------------------------------------------------------------------ steps
    def forward(self, batch: dict[str, Any]) -> Any:
        return self.model(**batch)

    @staticmethod
    def _size(batch: dict[str, Any]) -> int:
        return len(batch["conversations"])

    def _log_losses(self, out: Any, stage: str, batch_size: int) -> None:
        on_step = stage == "train"
        if out.loss is not None:
            self.log(
                f"{stage}/loss",
                out.loss.detach(),
                batch_size=batch_size,
                on_step=on_step,
                on_epoch=True,
                prog_bar=stage == "train",
                sync_dist=stage != "train",
            )
        for name in ("emotion_loss", "cause_loss", "span_loss"):
            value = getattr(out, name, None)
            if isinstance(value, torch.Tensor):
                self.log(
                    f"{stage}/{name}",
                    value.detach(),
                    batch_size=batch_size,
                    on_step=on_step,
                    on_epoch=True,
                    sync_dist=stage != "train",
                )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        out = self(batch)
        if out.loss is None:
            raise RuntimeError("the training batch carries no labels, so the model gave no loss")
        self._log_losses(out, "train", self._size(batch))
        if self.distillation is not None and batch.get("emotion_labels") is not None:
            self._add_distillation(out, batch)
        log_variances = getattr(self.model, LOSS_WEIGHTS_PARAMETER, None)
        if isinstance(log_variances, torch.Tensor):
            # the weights exp(-s) uncertainty balancing has learned so far
            weights = torch.exp(-log_variances.detach())
            self.log("train/weight_emotion", weights[0], on_step=True, on_epoch=False)
            self.log("train/weight_cause", weights[1], on_step=True, on_epoch=False)
        if self.optim.gradient_projection == "pcgrad":
            terms = out.loss_terms
            self._step_losses = (out.loss, terms) if terms is not None and len(terms) == 2 else None
        return out.loss

    def _add_distillation(self, out: Any, batch: dict[str, Any]) -> None:
        """Add the weighted distillation loss to ``out.loss`` and to its emotion term."""
        assert self.distillation is not None
        term = self.distillation.loss(
            out.emotion_logits, batch["conversations"], batch["emotion_labels"]
        )
        self.log(
            "train/distill_loss",
            term.detach(),
            batch_size=self._size(batch),
            on_step=True,
            on_epoch=True,
        )
        extra = self.distillation.weight * term
        out.loss = out.loss + extra
        if out.loss_terms is not None:
            out.loss_terms = torch.cat([out.loss_terms[:1] + extra, out.loss_terms[1:]])

    def on_fit_start(self) -> None:
        if self.optim.gradient_projection == "pcgrad" and self.trainer.world_size > 1:
            raise ConfigError(
                "optim.gradient_projection=pcgrad runs on one device; "
                f"this run has {self.trainer.world_size} processes (set trainer.devices=1)"
            )
        tasks = getattr(self.model.config, "tasks", "joint")
        if self.optim.gradient_projection == "pcgrad" and tasks != "joint":
            log.warning(
                "optim.gradient_projection=pcgrad needs two task losses; this model trains "
                "tasks=%r, so it uses the plain gradient",
                tasks,
            )

    def backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """PCGrad over the two task terms when asked for, else the usual ``loss.backward()``."""
        step, self._step_losses = self._step_losses, None
        if step is None:
            super().backward(loss, *args, **kwargs)
            return
        raw, terms = step
        # Lightning hands us the loss divided for accumulation (and scaled under fp16):
        # the terms get the same factor
        factor = (loss / raw).detach() if raw.detach().abs().item() > 0 else loss.new_ones(())
        cosine = pcgrad_backward(list(terms * factor), list(self.model.parameters()))
        if cosine is not None:
            # cosine of the two task gradients on the shared weights, before projection
            self.log(
                "train/grad_cosine", cosine.detach(), batch_size=1, on_step=True, on_epoch=True
            )

    def _evaluate_step(self, batch: dict[str, Any], stage: str) -> list[Conversation]:
        out = self(batch)
        self._log_losses(out, stage, self._size(batch))
        golds = batch["conversations"]
        preds = self.model.decode(out, batch)
        (self.val_metrics if stage == "val" else self.test_metrics).update(preds, golds)
        if stage == "val":
            for (bias, tau), metric in zip(self.candidates, self.tune_metrics):
                decoded = self.model.decode(out, batch, threshold=tau, neutral_bias=bias)
                metric.update(decoded, golds)
        return preds

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._test_predictions.extend(self._evaluate_step(batch, "test"))

    # ------------------------------------------------------------------ epoch ends
    def _log_metrics(self, metric: Any, prefix: str) -> None:
        values = metric.compute()
        metric.reset()
        self._stage_metrics[prefix.rstrip("/")] = {k: float(v) for k, v in values.items()}
        for key, value in values.items():
            # compute() already synced the ranks, so every rank holds the same value and the
            # mean over ranks (sync_dist) leaves it unchanged
            self.log(prefix + key, float(value), prog_bar=key in PROGRESS_METRICS, sync_dist=True)

    def on_validation_epoch_start(self) -> None:
        self._stage_metrics.pop("val", None)
        self._decoding_metrics = {}

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics, DEV_PREFIX)
        for (bias, tau), metric in zip(self.candidates, self.tune_metrics):
            values = metric.compute()
            metric.reset()
            self._decoding_metrics[(bias, tau)] = {k: float(v) for k, v in values.items()}
            score = float(values.get(self.tune_metric, 0.0))
            self.log(tune_key(tau, bias, self.tune_metric), score, sync_dist=True)

    def on_test_epoch_start(self) -> None:
        self._stage_metrics.pop("test", None)
        self._test_predictions = []

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics, TEST_PREFIX)
        predictions = self._test_predictions
        if (
            self.trainer.world_size > 1
            and torch.distributed.is_available()
            and torch.distributed.is_initialized()
        ):
            gathered: list[Any] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(gathered, [c.to_dict() for c in predictions])
            predictions = [Conversation.from_dict(d) for part in gathered for d in part]
        unique = {c.id: c for c in predictions}
        order = self.test_order or sorted(unique)
        self._test_predictions = [unique[cid] for cid in order if cid in unique]
        if self.predictions_path is not None and self.trainer.is_global_zero:
            write_jsonl(self._test_predictions, self.predictions_path)

    @property
    def test_predictions(self) -> list[Conversation]:
        """Predictions of the last test run (in-process strategies only)."""
        return list(self._test_predictions)

    # ------------------------------------------------------------------ optimiser
    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = build_optimizer(self.model, self.optim)
        scheduler = build_scheduler(
            optimizer, self.optim, int(self.trainer.estimated_stepping_batches)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def write_jsonl(conversations: list[Conversation], path: str | Path) -> None:
    """Our JSONL format, one conversation per line (the data area's writer)."""
    write_conversations(conversations, path, format="jsonl")
