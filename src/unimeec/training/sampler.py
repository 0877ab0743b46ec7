"""Batches of whole conversations of similar length, split across DDP ranks.

Why our own batch sampler: a batch is a set of conversations and padding is paid per
token, so conversations are bucketed by length. Lightning's ``DistributedSamplerWrapper``
would reshuffle the indices and undo the buckets, so this sampler splits *batches* across
ranks itself (the trainer runs with ``use_distributed_sampler=False``). Like PyTorch's
``DistributedSampler``, it pads with repeated batches so that every rank runs the same
number of steps; evaluation metrics count each conversation once (keyed by id).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler


class ConversationBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices; one list = one batch of conversations.

    Training (``shuffle=True``): indices are shuffled, sorted by length inside pools of
    ``pool_batches`` batches, cut into batches, and the batch order is shuffled; the
    permutation depends on ``seed`` and the epoch (``set_epoch``), so runs are reproducible.
    Evaluation (``shuffle=False``): batches follow the length order, deterministic.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        pool_batches: int = 50,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside 0..{num_replicas - 1}")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.pool_batches = pool_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        order = list(range(len(self.lengths)))
        if not self.shuffle:
            order.sort(key=lambda i: (self.lengths[i], i))
            return [order[k : k + self.batch_size] for k in range(0, len(order), self.batch_size)]
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        rng.shuffle(order)
        pool = self.batch_size * self.pool_batches
        batches: list[list[int]] = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: self.lengths[i])
            batches.extend(
                chunk[k : k + self.batch_size] for k in range(0, len(chunk), self.batch_size)
            )
        rng.shuffle(batches)
        return batches

    def _rank_batches(self) -> list[list[int]]:
        batches = self._all_batches()
        if self.num_replicas == 1 or not batches:
            return batches
        per_rank = -(-len(batches) // self.num_replicas)
        padded = [batches[k % len(batches)] for k in range(per_rank * self.num_replicas)]
        return padded[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._rank_batches())

    def __len__(self) -> int:
        n_batches = -(-len(self.lengths) // self.batch_size)
        return -(-n_batches // self.num_replicas) if n_batches else 0
