"""Distillation of a teacher's emotions: the loss by hand, chunk rows, the module's loss, errors."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from unimeec.data import Conversation
from unimeec.data.chunking import chunk_conversation
from unimeec.errors import ConfigError
from unimeec.training.config import OptimConfig, config_from_dict
from unimeec.training.distill import (
    Distillation,
    _check_teacher,
    distillation_loss,
    teacher_log_probs,
)
from unimeec.training.module import UniMEECLightningModule


def _kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True))


def test_loss_is_the_tempered_kl_by_hand() -> None:
    teacher = torch.log(torch.tensor([[0.5, 0.5]]))
    student = torch.tensor([[0.0, math.log(3.0)]])  # softmax: (0.25, 0.75)
    valid = torch.tensor([True])
    at_1 = distillation_loss(student, teacher, valid, temperature=1.0).item()
    assert at_1 == pytest.approx(_kl([0.5, 0.5], [0.25, 0.75]))  # 0.5 ln(4/3)
    # at T = 2 the student's logits halve: softmax(0, ln(3)/2) = (1, sqrt 3) / (1 + sqrt 3)
    q = [1 / (1 + math.sqrt(3)), math.sqrt(3) / (1 + math.sqrt(3))]
    at_2 = distillation_loss(student, teacher, valid, temperature=2.0).item()
    assert at_2 == pytest.approx(4 * _kl([0.5, 0.5], q))
    # the teacher is tempered too: log p / T, so a peaked teacher flattens
    peaked = torch.log(torch.tensor([[0.8, 0.2]]))  # at T = 2: (2, 1) / 3
    loss = distillation_loss(torch.zeros(1, 2), peaked, valid, temperature=2.0).item()
    assert loss == pytest.approx(4 * _kl([2 / 3, 1 / 3], [0.5, 0.5]))


def test_loss_averages_over_valid_rows_only() -> None:
    teacher = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.99, 0.01]]))
    student = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0], [-9.0, 9.0]])
    valid = torch.tensor([True, True, False])
    loss = distillation_loss(student, teacher, valid, temperature=1.0).item()
    assert loss == pytest.approx(_kl([0.5, 0.5], [0.25, 0.75]) / 2)
    none = distillation_loss(student, teacher, torch.zeros(3, dtype=torch.bool), 1.0)
    assert none.item() == 0.0
    # the same distribution costs nothing and has a zero gradient
    logits = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    same = distillation_loss(logits, torch.log_softmax(logits.detach(), -1), valid[:1], 2.0)
    same.backward()
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    assert logits.grad is not None and logits.grad.abs().max().item() < 1e-6


def _table(conversations: list[Conversation]) -> dict[str, np.ndarray]:
    """Row k of conversation c: log of (k + 1, 1) / (k + 2) (distinct per utterance)."""
    table = {}
    for conv in conversations:
        k = np.arange(len(conv), dtype=np.float32)[:, None]
        table[conv.id] = np.log(np.concatenate([k + 1, np.ones_like(k)], 1) / (k + 2))
    return table


def test_chunks_read_their_rows_of_the_whole_conversation(
    ecf_splits: dict[str, list[Conversation]],
) -> None:
    conv = max(ecf_splits["train"], key=len)
    chunks = chunk_conversation(conv, max_utterances=len(conv) - 2, past=2, future=1)
    assert len(chunks) == 2
    distill = Distillation(_table([conv]), weight=1.0, temperature=1.0)
    rows = distill.targets(chunks, torch.device("cpu"))
    whole = torch.from_numpy(_table([conv])[conv.id])
    start = chunks[1].meta["chunk_offset"]
    assert rows.shape == (len(chunks[0]) + len(chunks[1]), 2)
    assert torch.equal(rows[: len(chunks[0])], whole[: len(chunks[0])])
    assert torch.equal(rows[len(chunks[0]) :], whole[start : start + len(chunks[1])])
    other = ecf_splits["dev"][0]
    with pytest.raises(RuntimeError, match=rf"conversation '{other.id}': no teacher emotion"):
        distill.targets([other], torch.device("cpu"))


class _Model(torch.nn.Module):
    """Fixed outputs behind the model interface the Lightning module expects."""

    config = SimpleNamespace(emotion_labels=["neutral", "joy"])

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor([[0.0, math.log(3.0)], [5.0, 0.0]]))

    def forward(self, conversations: list, emotion_labels: torch.Tensor) -> SimpleNamespace:
        terms = torch.stack([self.logits.sum(), torch.tensor(2.0)])
        return SimpleNamespace(loss=terms.sum(), loss_terms=terms, emotion_logits=self.logits)


class _Sized:
    """A conversation as far as the batch's teacher rows need it: an id, meta, a length."""

    def __init__(self, conversation_id: str, n: int) -> None:
        self.id, self.meta, self._n = conversation_id, {}, n

    def __len__(self) -> int:
        return self._n


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")
def test_module_adds_the_weighted_loss_to_the_emotion_term() -> None:
    conversations = [_Sized("c1", 2)]
    table = {"c1": np.log(np.array([[0.5, 0.5], [0.5, 0.5]], dtype=np.float32))}
    batch = {"conversations": conversations, "emotion_labels": torch.tensor([1, -100])}
    plain = UniMEECLightningModule(_Model(), OptimConfig())
    base = plain.training_step(dict(batch), 0).item()
    distilled = UniMEECLightningModule(
        _Model(), OptimConfig(), distillation=Distillation(table, weight=0.5, temperature=1.0)
    )
    out = distilled.model(**batch)
    distilled._add_distillation(out, batch)
    kd = _kl([0.5, 0.5], [0.25, 0.75])  # the second row has no gold emotion: not counted
    assert out.loss.item() == pytest.approx(base + 0.5 * kd)
    assert out.loss_terms.tolist() == pytest.approx([math.log(3.0) + 5.0 + 0.5 * kd, 2.0])
    assert distilled.training_step(dict(batch), 0).item() == pytest.approx(base + 0.5 * kd)


def test_a_cause_only_run_cannot_distil_emotions() -> None:
    with pytest.raises(ConfigError, match="distillation passes on emotions.*task: cause"):
        config_from_dict({"task": "cause", "distill": {"teacher": "runs/x/model"}})
    with pytest.raises(ConfigError, match=r"distill.temperature: Input should be greater than 0"):
        config_from_dict({"distill": {"teacher": "m", "temperature": 0}})
    assert config_from_dict({"task": "joint", "distill": {"teacher": "m"}}).distill.weight == 1.0


def test_a_missing_teacher_is_one_line(
    tmp_path: Path, ecf_splits: dict[str, list[Conversation]]
) -> None:
    student = SimpleNamespace(emotion_labels=["neutral"])
    with pytest.raises(ConfigError, match=r"^distill.teacher: .*nope"):
        teacher_log_probs(tmp_path / "nope", ecf_splits["train"][:2], student)
    (tmp_path / "bare").mkdir()
    with pytest.raises(ConfigError, match=r"^distill.teacher: .*bare"):
        teacher_log_probs(tmp_path / "bare", ecf_splits["train"][:2], student)
    twice = [ecf_splits["train"][0], ecf_splits["train"][0]]
    with pytest.raises(ConfigError, match="appears twice in the training splits"):
        teacher_log_probs(tmp_path / "bare", twice, student)


def test_a_teacher_of_another_label_set_or_causes_only_is_refused() -> None:
    student = SimpleNamespace(emotion_labels=["neutral", "joy", "anger"])

    def teacher(tasks: str, labels: list[str]) -> SimpleNamespace:
        config = SimpleNamespace(tasks=tasks, emotion_labels=labels)
        return SimpleNamespace(model=SimpleNamespace(config=config))

    _check_teacher(teacher("joint", ["neutral", "joy", "anger"]), student)
    with pytest.raises(
        ConfigError, match=r"teacher's emotion labels \['neutral', 'anger', 'joy'\]"
    ):
        _check_teacher(teacher("emotion", ["neutral", "anger", "joy"]), student)
    with pytest.raises(ConfigError, match="trained for causes only"):
        _check_teacher(teacher("cause", ["neutral", "joy", "anger"]), student)
