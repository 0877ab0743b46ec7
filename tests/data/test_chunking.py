"""Training chunks of long conversations and the long-dialogue stress set."""

from __future__ import annotations

import pytest

from unimeec.data import load_dataset
from unimeec.data.chunking import (
    CHUNK_OF,
    CHUNK_OFFSET,
    chunk_conversation,
    chunk_conversations,
    chunk_windows,
    long_dialogues,
)
from unimeec.data.schema import Conversation, EmotionCausePair, Utterance
from unimeec.models import UniMEECConfig, UniMEECProcessor


def test_windows_by_hand():
    # 50 utterances, windows of 24 with 7 past / 3 future context
    assert chunk_windows(50, 24, 7, 3) == [
        (0, 0, 21, 24),
        (14, 21, 35, 38),
        (28, 35, 49, 50),
        (42, 49, 50, 50),
    ]
    assert chunk_windows(24, 24, 7, 3) == [(0, 0, 24, 24)]
    with pytest.raises(
        ValueError,
        match=r"max_utterances \(10\) must exceed the context past "
        r"\+ future \(7 \+ 3\)",
    ):
        chunk_windows(50, 10, 7, 3)


@pytest.mark.parametrize("n", [11, 25, 49, 50, 61, 100])
def test_every_utterance_is_a_target_exactly_once(n):
    windows = chunk_windows(n, 24, 7, 3)
    targets = [t for _, a, b, _ in windows for t in range(a, b)]
    assert targets == list(range(n))
    for start, a, b, end in windows:
        assert end - start <= 24
        assert start == max(0, a - 7) and end == min(n, b + 3)


def _conversation(n: int) -> Conversation:
    emotions = ["joy" if k % 3 == 0 else "neutral" for k in range(1, n + 1)]
    utterances = [
        Utterance(k, f"S{k % 2}", f"line {k}", emotion=e) for k, e in zip(range(1, n + 1), emotions)
    ]
    pairs = [
        EmotionCausePair(i, j, emotion="joy")
        for i in range(3, n + 1, 3)
        for j in (i - 1, i, min(n, i + 2))
    ]
    return Conversation("c", utterances, pairs, dataset="ecf1", split="train")


def test_chunks_keep_labels_of_targets_only_and_shift_pairs():
    conv = _conversation(30)
    chunks = chunk_conversation(conv, 24, 7, 3)
    assert [c.id for c in chunks] == ["c#1", "c#2"]
    first, second = chunks
    assert (len(first), len(second)) == (24, 16)  # windows (0, 0, 21, 24), (14, 21, 30, 30)
    assert second.meta[CHUNK_OF] == "c" and second.meta[CHUNK_OFFSET] == 14
    # context utterances are unlabelled, targets keep their gold emotion and text
    assert [u.emotion for u in first.utterances[21:]] == [None] * 3
    assert [u.emotion for u in second.utterances[:7]] == [None] * 7
    for chunk in chunks:
        offset = chunk.meta[CHUNK_OFFSET]
        for u in chunk.utterances:
            assert u.text == conv.utterance(u.index + offset).text
    # every gold pair lands in exactly one chunk, shifted back it is the original
    back = sorted(
        (p.emotion_utterance + c.meta[CHUNK_OFFSET], p.cause_utterance + c.meta[CHUNK_OFFSET])
        for c in chunks
        for p in c.pairs
    )
    assert back == sorted(p.key for p in conv.pairs)


def test_short_conversations_are_untouched():
    conv = _conversation(12)
    assert chunk_conversation(conv, 24, 7, 3) == [conv]
    assert chunk_conversations([conv], None, 7, 3) == [conv]


def test_processor_ignores_context_utterances(tiny_backbone):
    processor = UniMEECProcessor.from_config(UniMEECConfig(backbone=tiny_backbone))
    chunk = chunk_conversation(_conversation(30), 24, 7, 3)[1]
    batch = processor([chunk])
    labels = batch["emotion_labels"].tolist()
    assert labels[:7] == [-100] * 7 and all(k >= 0 for k in labels[7:])
    # no cause loss for candidates whose emotion utterance is context
    for (_, i, _), in_mask in zip(batch["candidate_pairs"].tolist(), batch["cause_mask"].tolist()):
        if i <= 7:
            assert not in_mask


@pytest.fixture(scope="module")
def ecf_train(shared_data):
    return load_dataset("ecf1", "train", shared_data)


def test_stress_set_of_real_ecf_dialogues(ecf_train):
    dialogues = long_dialogues(ecf_train)
    lengths = [len(d) for d in dialogues]
    assert len(dialogues) == 215 and (min(lengths), max(lengths)) == (40, 61)
    # whole conversations in file order
    used = [cid for d in dialogues for cid in d.meta["sources"]]
    assert used == [c.id for c in ecf_train[: len(used)]]
    assert sum(lengths) == sum(len(c) for c in ecf_train[: len(used)])
    assert sum(len(d.pairs) for d in dialogues) == sum(len(c.pairs) for c in ecf_train[: len(used)])


def test_chunking_restores_the_steps_of_an_epoch(ecf_train):
    dialogues = long_dialogues(ecf_train)
    chunks = chunk_conversations(dialogues, 24, 7, 3)
    assert len(chunks) == 699 and max(len(c) for c in chunks) == 24
    # every utterance is a target once: labelled utterances are those of the dialogues
    assert sum(u.emotion is not None for c in chunks for u in c.utterances) == sum(
        len(d) for d in dialogues
    )
    # every pair inside the model's cause window [i - 7, i + 3] is kept
    window = sum(
        1 for d in dialogues for p in d.pairs if -7 <= p.cause_utterance - p.emotion_utterance <= 3
    )
    assert sum(len(c.pairs) for c in chunks) >= window
