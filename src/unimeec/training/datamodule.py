"""Conversations in, model batches out: the ``LightningDataModule`` over our dataset readers.

Why here and not in the model: which dataset, which splits, how many conversations (smoke
runs), which feature stores and how they are standardised are experiment choices. The
standardisation statistics come from the **training split only** and are stored in the
model (``set_feature_statistics``), so a checkpoint standardises new inputs the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from unimeec.checkpoint import move_batch
from unimeec.data.chunking import chunk_conversations
from unimeec.data.features import open_features
from unimeec.data.holdout import holdout_split
from unimeec.data.loading import load_dataset
from unimeec.data.modalities import FeatureLookup
from unimeec.data.schema import Conversation
from unimeec.errors import ConfigError, FeatureError
from unimeec.training.config import DataConfig
from unimeec.training.sampler import ConversationBatchSampler

log = logging.getLogger(__name__)


class CheckedFeatures:
    """A feature source (store or official ECF table) with the run's policy for absent keys.

    An utterance the store records as missing (e.g. no face found) is always a missing
    modality. An utterance the store has never heard of is, with ``policy="missing"``, a
    missing modality too (the model uses its learned "missing" vector); with
    ``policy="error"`` it raises a :class:`FeatureError` naming the store, conversation and
    utterance, because it usually means the store was built for other data.
    """

    def __init__(self, store: FeatureLookup, modality: str, path: str | Path, policy: str) -> None:
        self.store = store
        self.modality = modality
        self.path = str(path)
        self.policy = policy
        self.dim: int = int(store.dim)

    def get(self, conversation_id: str, utterance_index: int) -> np.ndarray | None:
        vector = self.store.get(conversation_id, utterance_index)
        if (
            vector is None
            and self.policy == "error"
            and (conversation_id, utterance_index) not in self.store
        ):
            raise FeatureError(
                f"{self.path}: no {self.modality} features for conversation "
                f"{conversation_id} utterance {utterance_index} "
                "(set data.missing_features=missing to treat it as missing)"
            )
        return vector

    def statistics(self, keys: Sequence[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Mean/std over those of ``keys`` that have a vector in the store."""
        present = [key for key in keys if self.store.get(*key) is not None]
        if not present:
            raise FeatureError(
                f"{self.path}: none of the {len(keys)} training utterances has "
                f"{self.modality} features; cannot standardise"
            )
        if len(present) < len(keys):
            log.warning(
                "%s: %d of %d training utterances have no %s features",
                self.path,
                len(keys) - len(present),
                len(keys),
                self.modality,
            )
        return self.store.statistics(present)


def open_feature_stores(paths: Mapping[str, str], policy: str) -> dict[str, CheckedFeatures]:
    """Open ``{modality: path}`` feature sources (see :func:`open_features`).

    A path is a feature store directory or an official ECF ``.npy`` table (its row mapping
    ``video_id_mapping.npy`` beside it); a store must hold the modality it is configured as.
    """
    out: dict[str, CheckedFeatures] = {}
    for modality, path in paths.items():
        if not Path(path).exists():
            raise FeatureError(f"{path}: {modality} feature store not found")
        store = open_features(path, modality=modality)
        out[modality] = CheckedFeatures(store, modality, path, policy)
    return out


class _Collate:
    """Picklable collate function (DataLoader workers, DDP spawn): conversations -> batch."""

    def __init__(self, processor: Any, features: Mapping[str, Any] | None) -> None:
        self.processor = processor
        self.features = dict(features) if features else None

    def __call__(self, conversations: list[Conversation]) -> dict[str, Any]:
        return self.processor(conversations, features=self.features)


class UniMEECDataModule(L.LightningDataModule):
    """Train/dev/test conversations of one dataset, batched by whole conversations.

    ``conversations`` may be given directly (``{"train": [...], "dev": [...], "test": [...]}``),
    e.g. for tests; otherwise the splits are read with ``unimeec.data.load_dataset``. The
    ``processor`` is attached once the model exists (:meth:`attach_processor`).
    """

    def __init__(
        self,
        data: DataConfig,
        *,
        seed: int = 0,
        processor: Any = None,
        conversations: Mapping[str, list[Conversation]] | None = None,
        roles: Sequence[str] = ("train", "dev", "test"),
    ) -> None:
        super().__init__()
        self.data = data
        self.roles = tuple(roles)
        self.seed = seed
        self.processor = processor
        self._given = dict(conversations) if conversations is not None else None
        self.splits: dict[str, list[Conversation]] = {}
        self.features: dict[str, CheckedFeatures] = {}

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Read the configured splits (idempotent); called before the model is built."""
        if self.splits:
            return
        wanted = {
            "train": self.data.train_splits,
            "dev": [self.data.dev_split],
            "test": [self.data.test_split],
        }
        for role, names in wanted.items():
            names = [n for n in names if n]
            if role not in self.roles:
                continue
            if not names:
                continue
            conversations: list[Conversation] = []
            for name in names:
                conversations.extend(self._read(name))
            self.splits[role] = conversations
        if self.data.dev_fraction is not None and "train" in self.splits:
            self._hold_out_dev(self.data.dev_fraction)
        if "train" in self.roles and not self.splits.get("train"):
            raise ConfigError(
                f"data.train_splits {self.data.train_splits} gave no training conversations"
            )
        self.features = open_feature_stores(self.data.features, self.data.missing_features)

    def _hold_out_dev(self, fraction: float) -> None:
        """Move the hash hold-out of the training conversations to dev (data.dev_fraction)."""
        train = self.splits["train"]
        self.splits["train"], held = holdout_split(
            train, fraction, option="data.dev_fraction", held_name="dev"
        )
        if "dev" in self.roles:
            self.splits["dev"] = held
        log.info(
            "held out %d of %d training conversations as dev (data.dev_fraction=%g)",
            len(held),
            len(train),
            fraction,
        )

    def _read(self, split: str) -> list[Conversation]:
        if self._given is not None:
            conversations = list(self._given.get(split, []))
        else:
            conversations = load_dataset(self.data.dataset, split, data_dir=self.data.data_dir)
        if self.data.limit is not None:
            conversations = conversations[: self.data.limit]
        log.info("%s %s: %d conversations", self.data.dataset, split, len(conversations))
        return conversations

    def split(self, role: str) -> list[Conversation]:
        """Conversations of ``role`` in {"train", "dev", "test"} (empty when not configured)."""
        self.load()
        return self.splits.get(role, [])

    def feature_statistics(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-modality (mean, std) over the training utterances."""
        keys = [(c.id, u.index) for c in self.split("train") for u in c.utterances]
        return {modality: lookup.statistics(keys) for modality, lookup in self.features.items()}

    def attach_processor(self, processor: Any) -> None:
        self.processor = processor

    def setup(self, stage: str | None = None) -> None:
        self.load()

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Tensors only: Lightning's default recurses into the (frozen) Conversation objects."""
        return move_batch(batch, device)

    # ------------------------------------------------------------------ loaders
    def _loader(
        self, conversations: list[Conversation], batch_size: int, shuffle: bool
    ) -> DataLoader:
        if self.processor is None:
            raise RuntimeError("attach a processor before asking for data loaders")
        trainer = getattr(self, "trainer", None)
        world = trainer.world_size if trainer is not None else 1
        rank = trainer.global_rank if trainer is not None else 0
        sampler = ConversationBatchSampler(
            [len(c) for c in conversations],
            batch_size,
            shuffle=shuffle,
            seed=self.seed,
            num_replicas=world,
            rank=rank,
        )
        return DataLoader(
            conversations,
            batch_sampler=sampler,  # type: ignore[arg-type]
            collate_fn=_Collate(self.processor, self.features),
            num_workers=self.data.num_workers,
            persistent_workers=self.data.num_workers > 0,
        )

    def training_conversations(self) -> list[Conversation]:
        """The training split, cut into chunks when ``data.train_chunk_utterances`` is set.

        A chunk's context covers the model's cause window, so no candidate pair is lost.
        """
        if self.processor is None:
            raise RuntimeError("attach a processor before asking for data loaders")
        config = self.processor.config
        try:
            return chunk_conversations(
                self.split("train"),
                self.data.train_chunk_utterances,
                config.cause_past,
                config.cause_future,
            )
        except ValueError as err:
            raise ConfigError(
                f"data.train_chunk_utterances: {err} (model.cause_past, model.cause_future)"
            ) from err

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.training_conversations(), self.data.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.split("dev"), self.data.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.split("test"), self.data.eval_batch_size, shuffle=False)
