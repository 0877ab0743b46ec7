"""Conversation batches: bucketed by length, reproducible, split across DDP ranks."""

from __future__ import annotations

from unimeec.training.sampler import ConversationBatchSampler


def test_evaluation_batches_follow_length_order() -> None:
    sampler = ConversationBatchSampler([5, 1, 3, 2, 4], batch_size=2, shuffle=False)
    assert list(sampler) == [[1, 3], [2, 4], [0]]
    assert len(sampler) == 3


def test_training_batches_cover_everything_once_and_are_reproducible() -> None:
    lengths = [(7 * i) % 23 + 1 for i in range(50)]
    sampler = ConversationBatchSampler(lengths, batch_size=4, shuffle=True, seed=3)
    first = list(sampler)
    assert sorted(i for batch in first for i in batch) == list(range(50))
    assert list(ConversationBatchSampler(lengths, batch_size=4, shuffle=True, seed=3)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    # one pool holds all 50 conversations, so every batch is a run of the length order
    for batch in first:
        spread = max(lengths[i] for i in batch) - min(lengths[i] for i in batch)
        assert spread <= 3


def test_ranks_get_disjoint_batches_padded_to_equal_counts() -> None:
    lengths = [1, 2, 3, 4, 5, 6, 7]
    ranks = [
        list(ConversationBatchSampler(lengths, batch_size=2, shuffle=False, num_replicas=2, rank=r))
        for r in range(2)
    ]
    assert ranks == [[[0, 1], [4, 5]], [[2, 3], [6]]]
    three = [
        list(ConversationBatchSampler(lengths, batch_size=2, shuffle=False, num_replicas=3, rank=r))
        for r in range(3)
    ]
    # 4 batches over 3 ranks: padded to 6 by repeating the first batches
    assert three == [[[0, 1], [6]], [[2, 3], [0, 1]], [[4, 5], [2, 3]]]
    assert len(ConversationBatchSampler(lengths, 2, shuffle=False, num_replicas=3)) == 2
    tiny = [
        list(ConversationBatchSampler([1], 2, shuffle=False, num_replicas=3, rank=r))
        for r in range(3)
    ]
    assert tiny == [[[0]], [[0]], [[0]]]
