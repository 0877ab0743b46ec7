"""Long conversations as overlapping training chunks, and a stress set of long dialogues.

Why: a training batch holds whole conversations, so on a dataset of 50-utterance dialogues
(IEMOCAP) an epoch has a fifth of the optimiser steps it has on 10-utterance ones, and a
model trained for the same number of epochs as a per-utterance classifier learns far less.
:func:`chunk_conversation` cuts a long conversation into windows of at most
``max_utterances``; each window trains only its *target* utterances and carries up to
``past`` earlier and ``future`` later utterances as unlabelled context (emotion ``None``:
no emotion loss, not an emotion utterance of the cause loss), so every cause candidate of a
target (``[i - cause_past, i + cause_future]``) is inside its window. Every utterance is a
target in exactly one window. Evaluation and prediction always see whole conversations.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence

from unimeec.data.schema import Conversation

log = logging.getLogger(__name__)

#: ``Conversation.meta`` keys of a chunk: the source conversation and the chunk's offset.
CHUNK_OF, CHUNK_OFFSET = "chunk_of", "chunk_offset"


def chunk_windows(
    n: int, max_utterances: int, past: int, future: int
) -> list[tuple[int, int, int, int]]:
    """``(start, target_start, target_end, end)`` 0-based, end-exclusive, covering ``0..n``."""
    if max_utterances <= past + future:
        raise ValueError(
            f"max_utterances ({max_utterances}) must exceed the context "
            f"past + future ({past} + {future})"
        )
    if n <= max_utterances:
        return [(0, 0, n, n)]
    windows = []
    target = 0
    while target < n:
        start = max(0, target - past)
        target_end = min(n, start + max_utterances - future)
        end = min(n, target_end + future)
        windows.append((start, target, target_end, end))
        target = target_end
    return windows


def chunk_conversation(
    conversation: Conversation, max_utterances: int, past: int, future: int
) -> list[Conversation]:
    """``conversation`` itself when short enough, else its overlapping training chunks."""
    n = len(conversation)
    windows = chunk_windows(n, max_utterances, past, future)
    if len(windows) == 1:
        return [conversation]
    chunks = []
    for k, (start, target_start, target_end, end) in enumerate(windows):
        utterances = []
        for position, utt in enumerate(conversation.utterances[start:end], start=start):
            target = target_start <= position < target_end
            utterances.append(
                dataclasses.replace(
                    utt,
                    index=position - start + 1,
                    emotion=utt.emotion if target else None,
                    latent_cause=utt.latent_cause and target,
                    meta=dict(utt.meta),
                )
            )
        pairs = [
            dataclasses.replace(
                p,
                emotion_utterance=p.emotion_utterance - start,
                cause_utterance=p.cause_utterance - start,
            )
            for p in conversation.pairs
            if target_start < p.emotion_utterance <= target_end and start < p.cause_utterance <= end
        ]
        chunks.append(
            Conversation(
                id=f"{conversation.id}#{k + 1}",
                utterances=utterances,
                pairs=pairs,
                dataset=conversation.dataset,
                split=conversation.split,
                has_cause_labels=conversation.has_cause_labels,
                labels=conversation.labels,
                meta={**conversation.meta, CHUNK_OF: conversation.id, CHUNK_OFFSET: start},
            )
        )
    return chunks


def chunk_conversations(
    conversations: Iterable[Conversation], max_utterances: int | None, past: int, future: int
) -> list[Conversation]:
    """:func:`chunk_conversation` over a split (``max_utterances=None``: unchanged)."""
    conversations = list(conversations)
    if max_utterances is None:
        return conversations
    return [
        chunk
        for conv in conversations
        for chunk in chunk_conversation(conv, max_utterances, past, future)
    ]


def concatenate(conversations: Sequence[Conversation], conversation_id: str) -> Conversation:
    """One conversation of ``conversations`` in order; pairs and indices shifted."""
    utterances, pairs, offset = [], [], 0
    for conv in conversations:
        utterances += [
            dataclasses.replace(u, index=u.index + offset, meta=dict(u.meta))
            for u in conv.utterances
        ]
        pairs += [
            dataclasses.replace(
                p,
                emotion_utterance=p.emotion_utterance + offset,
                cause_utterance=p.cause_utterance + offset,
            )
            for p in conv.pairs
        ]
        offset += len(conv)
    first = conversations[0]
    return Conversation(
        id=conversation_id,
        utterances=utterances,
        pairs=pairs,
        dataset=first.dataset,
        split=first.split,
        has_cause_labels=all(c.has_cause_labels for c in conversations),
        labels=first.labels,
        meta={"sources": [c.id for c in conversations]},
    )


def long_dialogues(
    conversations: Sequence[Conversation], min_utterances: int = 40
) -> list[Conversation]:
    """The documented stress set: consecutive conversations joined into long dialogues.

    Conversations are taken in file order and joined until a dialogue has at least
    ``min_utterances`` utterances (so it has fewer than ``min_utterances`` plus the longest
    conversation); the leftover conversations at the end that do not reach
    ``min_utterances`` are left out (logged with their count), never cut.
    """
    dialogues: list[Conversation] = []
    current: list[Conversation] = []
    for conv in conversations:
        current.append(conv)
        if sum(map(len, current)) >= min_utterances:
            dialogues.append(concatenate(current, f"long-{len(dialogues) + 1}"))
            current = []
    if current:
        log.info(
            "long dialogues: the last %d conversations (%d utterances) do not reach %d "
            "utterances and are left out",
            len(current),
            sum(map(len, current)),
            min_utterances,
        )
    return dialogues
