"""Knowledge distillation of emotions from a trained teacher model into the one being trained.

Why: the 110M all-mpnet-base-v2 model is clearly better on emotions than the 22M MiniLM
default (ECF 1.0, 1 CPU epoch: 58.0 against 54.1 weighted F1) but five times slower. A
MiniLM student trained to match the teacher's emotion distribution as well as the gold
labels (Hinton et al., 2015) can keep part of that gain at MiniLM's cost, and stays one
jointly trained UniMEEC model. Only emotions are distilled: the larger encoder did not
change cause extraction for given emotions.

The teacher is any saved UniMEEC model with the student's emotion label set. It predicts
every training conversation once, before training, through :class:`~unimeec.predict.Predictor`
(whole conversations, neutral bias 0), and is then freed; its log-probabilities are cached
in ``$UNIMEEC_CACHE/distill/`` under a hash of the teacher's manifest and the training
conversations, so a second seed of the same experiment does not predict them again. A
training chunk (``data.train_chunk_utterances``) reads its rows of the whole conversation.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from unimeec.checkpoint import MANIFEST_FILE, resolve_model_dir
from unimeec.data.chunking import CHUNK_OF, CHUNK_OFFSET
from unimeec.data.schema import Conversation
from unimeec.errors import CheckpointError, ConfigError
from unimeec.models.backbones import cache_dir
from unimeec.predict import Predictor

log = logging.getLogger(__name__)

#: Version of the cache file layout (part of the key).
CACHE_FORMAT = 1
#: Floor of a teacher probability before its log (a softmax in float32 can round to 0).
MIN_PROBABILITY = 1e-12


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_log_probs: torch.Tensor,
    valid: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """``T^2 * KL(p_teacher^T || p_student^T)`` averaged over the ``valid`` rows.

    ``p^T`` is the softmax at temperature ``T``; the teacher's is computed from its
    log-probabilities (``softmax(log p / T)`` equals ``softmax(z / T)`` for its logits
    ``z``). The ``T^2`` factor keeps the gradient's scale independent of ``T``.
    """
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_log_probs.float() / temperature, dim=-1)
    per_row = (teacher.exp() * (teacher - student)).sum(-1)
    weight = valid.to(per_row.dtype)
    return temperature**2 * (per_row * weight).sum() / weight.sum().clamp_min(1.0)


class Distillation:
    """The teacher's emotion log-probabilities of every training utterance, and the loss.

    ``table``: conversation id -> [utterances, labels] log-probabilities in the student's
    label order. ``weight`` (alpha) multiplies the loss added to the training loss.
    """

    def __init__(
        self, table: Mapping[str, np.ndarray], *, weight: float, temperature: float
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"distillation temperature must be positive, got {temperature}")
        self.table = dict(table)
        self.weight = weight
        self.temperature = temperature

    def targets(self, conversations: Sequence[Conversation], device: torch.device) -> torch.Tensor:
        """[U, labels]: the rows of a batch's utterances, in the batch's order."""
        rows = []
        for conv in conversations:
            source = str(conv.meta.get(CHUNK_OF, conv.id))
            offset = int(conv.meta.get(CHUNK_OFFSET, 0))
            found = self.table.get(source)
            if found is None or offset + len(conv) > len(found):
                raise RuntimeError(
                    f"conversation {conv.id!r}: no teacher emotion distribution for it "
                    "(the teacher predicted other training conversations)"
                )
            rows.append(found[offset : offset + len(conv)])
        return torch.from_numpy(np.concatenate(rows)).to(device)

    def loss(
        self,
        student_logits: torch.Tensor,
        conversations: Sequence[Conversation],
        emotion_labels: torch.Tensor,
    ) -> torch.Tensor:
        """The loss of a training batch; rows without a gold emotion (chunk context,
        unlabelled utterances) do not count, like in the emotion loss."""
        teacher = self.targets(conversations, student_logits.device)
        return distillation_loss(student_logits, teacher, emotion_labels != -100, self.temperature)


# ---------------------------------------------------------------------- teacher predictions
def _teacher_identity(model_dir: Path) -> bytes:
    """What identifies the teacher's weights: its manifest (SHA-256 of every file)."""
    manifest = model_dir / MANIFEST_FILE
    if not manifest.is_file():
        raise ConfigError(
            f"distill.teacher: {model_dir} has no {MANIFEST_FILE}; "
            "use a model directory written by `unimeec train`"
        )
    return manifest.read_bytes()


def cache_key(model_dir: Path, conversations: Sequence[Conversation]) -> str:
    """Hash of the teacher and of every training conversation's id and texts."""
    digest = hashlib.sha256(f"unimeec-distill-{CACHE_FORMAT}\n".encode())
    digest.update(_teacher_identity(model_dir))
    for conv in conversations:
        digest.update(json.dumps([conv.id, [u.text for u in conv.utterances]]).encode())
    return digest.hexdigest()


def _write_cache(path: Path, table: Mapping[str, np.ndarray], labels: Sequence[str]) -> None:
    ids = list(table)
    lengths = np.array([len(table[i]) for i in ids], dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez(
        partial,
        ids=np.array(ids, dtype=str),
        labels=np.array(list(labels), dtype=str),
        lengths=lengths,
        log_probs=np.concatenate([table[i] for i in ids]).astype(np.float32),
    )
    partial.replace(path)  # atomic: a second process never reads half a file


def _read_cache(path: Path, labels: Sequence[str]) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if [str(x) for x in data["labels"]] != list(labels):
                return None
            ids, lengths, values = data["ids"], data["lengths"], data["log_probs"]
            ends = np.cumsum(lengths)
            return {
                str(i): values[end - n : end] for i, n, end in zip(ids, lengths, ends, strict=True)
            }
    except (OSError, KeyError, ValueError) as err:
        log.warning("ignoring the distillation cache %s (%s); predicting again", path, err)
        return None


def _check_teacher(teacher: Any, student_config: Any) -> None:
    config = teacher.model.config
    if getattr(config, "tasks", "joint") == "cause":
        raise ConfigError(
            "distill.teacher: the teacher was trained for causes only (tasks='cause'); "
            "it has no emotion distribution to distil"
        )
    if list(config.emotion_labels) != list(student_config.emotion_labels):
        raise ConfigError(
            f"distill.teacher: the teacher's emotion labels {list(config.emotion_labels)} "
            f"differ from the student's {list(student_config.emotion_labels)}"
        )


def teacher_log_probs(
    teacher_dir: str | Path,
    conversations: Sequence[Conversation],
    student_config: Any,
    *,
    features: Mapping[str, Any] | None = None,
    device: str | None = None,
    batch_size: int = 16,
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """The teacher's emotion log-probabilities of ``conversations`` (from the cache when
    it has them), keyed by conversation id, in the student's label order."""
    ids = [c.id for c in conversations]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(
            f"distill: conversation id {twice!r} appears twice in the training splits"
        )
    try:
        model_dir = resolve_model_dir(teacher_dir)
    except CheckpointError as err:
        raise ConfigError(f"distill.teacher: {err}") from None
    labels = list(student_config.emotion_labels)
    path = cache_dir() / "distill" / f"{cache_key(model_dir, conversations)}.npz"
    if use_cache and path.is_file():
        cached = _read_cache(path, labels)
        if cached is not None:
            log.info("teacher emotion distributions read from %s", path)
            return cached
    try:
        teacher = Predictor.from_pretrained(model_dir, device=device, batch_size=batch_size)
    except CheckpointError as err:
        raise ConfigError(f"distill.teacher: {err}") from None
    _check_teacher(teacher, student_config)
    log.info("teacher %s predicts %d training conversations", model_dir, len(conversations))
    predictions = teacher.predict(
        list(conversations), features=features, neutral_bias=0.0, progress=True
    )
    table: dict[str, np.ndarray] = {}
    for conv in predictions:
        scores = np.array(
            [
                [(u.emotion_scores or {}).get(label, 0.0) for label in labels]
                for u in conv.utterances
            ],
            dtype=np.float64,
        )
        table[conv.id] = np.log(np.clip(scores, MIN_PROBABILITY, None)).astype(np.float32)
    del teacher, predictions
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if use_cache:
        try:
            _write_cache(path, table, labels)
            log.info("teacher emotion distributions cached in %s", path)
        except OSError as err:
            log.warning("could not cache the teacher's distributions in %s (%s)", path, err)
    return table
