"""Plain fine-tuning baseline: the backbone as a per-utterance emotion classifier.

This is what UniMEEC must beat to be worth its complexity (METHOD.md section 8): the same
encoder, the same data, but no causal prompt, no THC and no cause task; each utterance is
read with its context window (:mod:`unimeec.baselines.context_window`), the token states
are mean-pooled and a linear layer gives the emotion. Training is a small AdamW loop with
linear warm-up/decay; the epoch with the best dev weighted F1 (computed by
:func:`unimeec.evaluation.evaluate`) is kept, so the test set never selects anything.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup, set_seed

from unimeec.baselines.context_window import ContextExample, context_examples
from unimeec.data.schema import Conversation
from unimeec.evaluation import evaluate
from unimeec.models.backbones import DEFAULT_BACKBONE, resolve_backbone

logger = logging.getLogger(__name__)


@dataclass
class ContextClassifierConfig:
    """Hyper-parameters of the baseline; the defaults are those of METHOD.md section 8."""

    backbone: str | None = None  # HF name or local path; None = the offline MiniLM
    past: int = 4
    future: int = 1
    max_length: int = 256
    epochs: int = 5
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float = 0.1
    seed: int = 0
    #: Stop after this many optimiser steps in total (smoke runs); None = all epochs.
    max_steps: int | None = None
    #: "bf16" runs the forward pass under bfloat16 autocast (weights stay float32).
    precision: str = "32"
    device: str = "cpu"
    labels: tuple[str, ...] = field(default_factory=tuple)  # empty = from the training data

    def resolved_backbone(self) -> str:
        """A local directory for offline short names (the default MiniLM too), else as given."""
        return resolve_backbone(self.backbone if self.backbone is not None else DEFAULT_BACKBONE)


class ContextClassifier(nn.Module):
    """Backbone + mean pooling + dropout + linear layer over the emotion labels."""

    def __init__(self, backbone: nn.Module, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(backbone.config.hidden_size, n_labels)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        states = self.backbone(
            input_ids=input_ids, attention_mask=attention_mask, **kwargs
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled)).float()


@dataclass
class FitResult:
    """What :func:`fit_context_classifier` returns: the dev-selected model and its history."""

    model: ContextClassifier
    tokenizer: Any
    config: ContextClassifierConfig
    best_epoch: int
    best_dev_weighted_f1: float
    history: list[dict[str, float]]
    train_utterances_per_second: float


def _encode(
    tokenizer: Any, examples: list[ContextExample], max_length: int
) -> list[dict[str, Any]]:
    """Tokenise once up front; padding happens per batch."""
    encoded = tokenizer(
        [e.target for e in examples],
        [e.context for e in examples],
        truncation="longest_first",
        max_length=max_length,
    )
    rows = []
    for k, example in enumerate(examples):
        row = {key: encoded[key][k] for key in encoded}
        if example.label is not None:
            row["labels"] = example.label
        rows.append(row)
    return rows


def _batches(rows: list[dict[str, Any]], tokenizer: Any, batch_size: int, order: list[int]) -> Any:
    for start in range(0, len(order), batch_size):
        chunk = [rows[k] for k in order[start : start + batch_size]]
        yield tokenizer.pad(chunk, return_tensors="pt")


def length_grouped_order(
    lengths: list[int], batch_size: int, generator: torch.Generator, group: int = 50
) -> list[int]:
    """A random order whose consecutive ``batch_size`` blocks hold similar lengths.

    Why: random batches are padded to their longest member (about 1.8x the mean on ECF);
    sorting within random groups of ``group`` batches removes most padding while keeping
    the order random (as ``group_by_length`` in transformers' Trainer).
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    span = batch_size * group
    blocks: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda k: -lengths[k])
        blocks.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffled = torch.randperm(len(blocks), generator=generator).tolist()
    return [k for b in shuffled for k in blocks[b]]


def _autocast(config: ContextClassifierConfig) -> Any:
    device_type = torch.device(config.device).type
    enabled = config.precision == "bf16"
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=enabled)


def _logits(
    model: ContextClassifier, batch: dict[str, torch.Tensor], config: ContextClassifierConfig
) -> torch.Tensor:
    inputs = {k: v.to(config.device) for k, v in batch.items() if k != "labels"}
    with _autocast(config):
        return model(**inputs)


def load_tokenizer(config: ContextClassifierConfig) -> Any:
    """The backbone's tokenizer, set to cut the oldest context first."""
    tokenizer = AutoTokenizer.from_pretrained(config.resolved_backbone())
    tokenizer.truncation_side = "left"
    return tokenizer


def build_context_classifier(config: ContextClassifierConfig, n_labels: int) -> ContextClassifier:
    """A fresh classifier on the pre-trained backbone (float32 weights)."""
    backbone = AutoModel.from_pretrained(config.resolved_backbone(), dtype=torch.float32)
    return ContextClassifier(backbone, n_labels, config.dropout).to(config.device)


@torch.no_grad()
def predict_emotions(
    model: ContextClassifier,
    tokenizer: Any,
    conversations: list[Conversation],
    config: ContextClassifierConfig,
) -> list[Conversation]:
    """Copies of ``conversations`` with predicted emotions, their scores, and **no** pairs."""
    labels = config.labels
    examples = context_examples(_strip_emotions(conversations), labels, config.past, config.future)
    rows = _encode(tokenizer, examples, config.max_length)
    # Sorting by length keeps padding (and CPU time) small; results are put back in place.
    order = sorted(range(len(rows)), key=lambda k: len(rows[k]["input_ids"]))
    probabilities: list[list[float]] = [[] for _ in rows]
    model.eval()
    done = 0
    for batch in _batches(rows, tokenizer, config.eval_batch_size, order):
        probs = _logits(model, batch, config).softmax(-1).cpu().tolist()
        for k, p in zip(order[done : done + len(probs)], probs):
            probabilities[k] = p
        done += len(probs)
    emotions: list[list[str]] = [[] for _ in conversations]
    scores: list[list[dict[str, float]]] = [[] for _ in conversations]
    for example, p in zip(examples, probabilities):
        best = max(range(len(labels)), key=p.__getitem__)
        emotions[example.conversation].append(labels[best])
        scores[example.conversation].append(dict(zip(labels, p)))
    return [
        conv.with_predictions(emotions=emotions[k], emotion_scores=scores[k], pairs=[])
        for k, conv in enumerate(conversations)
    ]


def _strip_emotions(conversations: list[Conversation]) -> list[Conversation]:
    """Prediction inputs must not carry gold labels (a label-set mismatch would raise)."""
    return [conv.with_predictions(emotions=[None] * len(conv), pairs=[]) for conv in conversations]


def fit_context_classifier(
    train: list[Conversation],
    dev: list[Conversation],
    config: ContextClassifierConfig | None = None,
) -> FitResult:
    """Fine-tune on ``train``; keep the epoch with the best dev MERC weighted F1."""
    config = copy.deepcopy(config) if config is not None else ContextClassifierConfig()
    if not config.labels:
        first = next((c for c in train if c.labels), None)
        if first is None or first.labels is None:
            raise ValueError("training conversations carry no label set; set config.labels")
        config.labels = tuple(first.labels)
    set_seed(config.seed)
    tokenizer = load_tokenizer(config)
    model = build_context_classifier(config, len(config.labels))
    examples = [
        e
        for e in context_examples(train, config.labels, config.past, config.future)
        if e.label is not None
    ]
    if not examples:
        raise ValueError("no labelled utterance in the training conversations")
    rows = _encode(tokenizer, examples, config.max_length)
    lengths = [len(row["input_ids"]) for row in rows]
    steps_per_epoch = math.ceil(len(rows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = nn.CrossEntropyLoss()
    history: list[dict[str, float]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_f1, best_epoch, step = -1.0, -1, 0
    seen, train_seconds = 0, 0.0
    for epoch in range(config.epochs):
        if step >= total_steps:
            break
        model.train()
        order = length_grouped_order(lengths, config.batch_size, generator)
        bar = tqdm(
            _batches(rows, tokenizer, config.batch_size, order),
            total=steps_per_epoch,
            desc=f"baseline epoch {epoch + 1}/{config.epochs}",
            leave=False,
        )
        started = time.perf_counter()
        running = 0.0
        for batch in bar:
            logits = _logits(model, batch, config)
            loss = loss_fn(logits, batch["labels"].to(config.device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running += loss.item()
            seen += len(batch["labels"])
            step += 1
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if step >= total_steps:
                break
        train_seconds += time.perf_counter() - started
        dev_pred = predict_emotions(model, tokenizer, dev, config)
        dev_f1 = float(evaluate(dev, dev_pred)["merc_weighted_f1"])
        history.append(
            {
                "epoch": epoch + 1,
                "steps": step,
                "dev_merc_weighted_f1": dev_f1,
                "train_loss": running / max(1, step - epoch * steps_per_epoch),
            }
        )
        logger.info("baseline epoch %d: dev weighted F1 %.4f", epoch + 1, dev_f1)
        if dev_f1 > best_f1:
            best_f1, best_epoch = dev_f1, epoch + 1
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(
        model=model,
        tokenizer=tokenizer,
        config=config,
        best_epoch=best_epoch,
        best_dev_weighted_f1=best_f1,
        history=history,
        train_utterances_per_second=seen / train_seconds if train_seconds else 0.0,
    )


def config_dict(config: ContextClassifierConfig) -> dict[str, Any]:
    """The configuration as JSON-ready values (for results files)."""
    out = asdict(config)
    out["labels"] = list(config.labels)
    out["backbone"] = config.resolved_backbone()
    return out
